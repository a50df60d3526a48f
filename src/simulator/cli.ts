#!/usr/bin/env node
/** sma-speedwire-sim: simulated SMA inverters and, with --meter, an energy meter / Home Manager on this machine. */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { ReplayInverter } from "./replay";
import { SimulatedInverter } from "./inverter";
import { METER_VARIANTS, type MeterVariant } from "../protocol";
import { parseTargets } from "../client/endpoints";
import { SimulatedMeter, plantMeterValues } from "./meter";
import { PROFILES, type ProfileName } from "./profiles";
import { plantFor, type PlantModel } from "./energy";

const USAGE = `Usage: sma-speedwire-sim [options]

Simulated SMA Speedwire inverter(s). Stops on Ctrl-C (SIGINT) or SIGTERM.

  --address A             address to bind (default 127.0.0.1; 0.0.0.0 for the LAN)
  --port N                UDP port (default 9522; 0 = any free port)
  --count N               N inverters on consecutive ports with consecutive serials (default 1)
  --serial N              serial number (default per profile, e.g. 3010538116)
  --susy N                SUSyID (default per profile, e.g. 378)
  --profile P             pv | battery | hybrid (default pv)
  --phases N              1..3 AC phases
  --strings N             1..4 DC strings / MPP trackers
  --batteries N           0..3 fitted batteries A-C (battery and hybrid profiles; default 1)
  --user-password S       (default 0000)
  --installer-password S  (default 1111)
  --latency MS            answer delay in ms (default 0)
  --loss P                probability 0..1 of losing each request and each answer (default 0)
  --fragment N            at most N records per datagram (multi-datagram answers)
  --night                 answer with "no value" spot values, like an inverter after sunset
  --static                fixed values instead of following the sun over the day
  --day-retention N       days of 5-minute archive data the device keeps (default 62; some devices 7)
  --daily-at-next-midnight  stamp each day's total in the month archive at the following midnight
  --refuse-logins S       answer every login with 0x0102 (busy, although the password is right) for S seconds
  --encrypted             Speedwire encryption on: plain requests only get a 0x6075 key exchange back
  --time-zone NAME        IANA zone of the archive's days, e.g. Europe/Berlin (default the process's zone, TZ)
  --multicast             join 239.12.255.254 to answer multicast discovery (use --address 0.0.0.0)
  --replay FILE           serve a trace written by \`sma-speedwire trace\` (login always ok; the other
                          device options do not apply)
  --time-push MS          ms between device-time records to logged-in clients (default 60000; 0 = none)
  --partner-requests MS   ms between the 0x51800200 requests the device sends to every client that ever logged
                          in and did not log off, as a Sunny Boy Storage does (default 30000; 0 = none)
  --late-answer N:MS      every N-th answer leaves MS ms late (e.g. 100:1000; a live LAN had one in 985 after
                          976 ms), to test a client's resends
  --clock-offset S        device clock minus this machine's clock, seconds (default 0)
  --meter                 also simulate an energy meter / Sunny Home Manager sending its readings
                          (at the grid connection of the first inverter's plant, unless --static)
  --meter-to A[:N]        where it sends (default 239.12.255.254:9522 multicast; e.g. 127.0.0.1:9523)
  --meter-variant V       shm20 | emeter20 | emeter10 (default shm20)
  --meter-serial N        its serial number (default 3000000001)
  --meter-interval MS     ms between datagrams (default 1000)
  -h, --help              this text
`;

const OPTIONS = {
  address: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "9522" },
  count: { type: "string", default: "1" },
  serial: { type: "string" },
  susy: { type: "string" },
  profile: { type: "string", default: "pv" },
  phases: { type: "string" },
  strings: { type: "string" },
  batteries: { type: "string" },
  "user-password": { type: "string", default: "0000" },
  "installer-password": { type: "string", default: "1111" },
  latency: { type: "string", default: "0" },
  loss: { type: "string", default: "0" },
  fragment: { type: "string" },
  night: { type: "boolean", default: false },
  static: { type: "boolean", default: false },
  "day-retention": { type: "string" },
  "daily-at-next-midnight": { type: "boolean", default: false },
  "refuse-logins": { type: "string" },
  encrypted: { type: "boolean", default: false },
  "time-zone": { type: "string" },
  multicast: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  replay: { type: "string" },
  "time-push": { type: "string" },
  "clock-offset": { type: "string" },
  "partner-requests": { type: "string" },
  "late-answer": { type: "string" },
  meter: { type: "boolean", default: false },
  "meter-to": { type: "string", default: "239.12.255.254:9522" },
  "meter-variant": { type: "string", default: "shm20" },
  "meter-serial": { type: "string" },
  "meter-interval": { type: "string", default: "1000" },
} as const;

type Args = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

interface Stoppable {
  stop(): Promise<void>;
}

/** Starts a SimulatedMeter from the --meter-* flags and prints where it sends. */
async function startMeter(args: Args, plant?: PlantModel): Promise<Stoppable> {
  const [to] = parseTargets([args["meter-to"]]);
  if (!to) throw new Error("--meter-to must be an IPv4 address with an optional :port (1-65535)");
  const variants = Object.keys(METER_VARIANTS);
  const variant = args["meter-variant"] as MeterVariant;
  if (!variants.includes(variant)) throw new Error(`--meter-variant must be one of ${variants.join(", ")}`);
  const { address, port } = to;
  const meter = new SimulatedMeter({
    address,
    port,
    variant,
    serial: num(args, "meter-serial", 1, 0xfffffffe),
    intervalMs: num(args, "meter-interval", 50, 600_000),
    values: plant ? (at: Date) => plantMeterValues(plant, at) : undefined,
  });
  await meter.start();
  console.log(
    `SMA energy meter simulator ${meter.serial} (${variant}) sending to ${address}:${port} every ${args["meter-interval"]} ms`,
  );
  return meter;
}

/** --late-answer N:MS: every N-th answer MS ms late. */
function lateAnswers(args: Args): { every: number; delayMs: number } | undefined {
  const raw = args["late-answer"];
  if (raw === undefined) return undefined;
  const m = /^(\d{1,7}):(\d{1,7})$/.exec(raw);
  const every = Number(m?.[1]);
  const delayMs = Number(m?.[2]);
  if (!m || every < 1 || delayMs > 600_000)
    throw new Error("--late-answer must be N:MS (every N-th answer, N >= 1, MS up to 600000)");
  return { every, delayMs };
}

function num(args: Args, name: keyof Args, min: number, max: number): number | undefined {
  const raw = args[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const profile = args.profile as ProfileName;
  if (!(profile in PROFILES)) throw new Error(`--profile must be one of ${Object.keys(PROFILES).join(", ")}`);
  const count = num(args, "count", 1, 1000) ?? 1;
  const port = num(args, "port", 0, 65535) ?? 9522;
  const serial = num(args, "serial", 1, 0xfffffffe) ?? PROFILES[profile].serial;
  const loss = num(args, "loss", 0, 1) ?? 0;
  const inverters: Stoppable[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(inverters.map((s) => s.stop()));
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(0)));
  process.once("SIGTERM", () => void stopAll().then(() => process.exit(0)));
  if (args.replay !== undefined) {
    const replay = new ReplayInverter(fs.readFileSync(args.replay, "utf8"), { address: args.address, port });
    inverters.push(replay);
    const at = await replay.start();
    console.log(
      `SMA replay of ${args.replay} (${replay.size} answers, device ${replay.device.serial}) listening on ${at.address}:${at.port}`,
    );
    return;
  }
  // The meter measures the plant (PV, battery, house) of the first inverter: its grid counters agree.
  const first = PROFILES[profile];
  const plant = args.static
    ? undefined
    : plantFor({
        nominalPowerW: first.nominalPowerW,
        hasPv: first.hasPv,
        batteries: num(args, "batteries", 0, 3) ?? first.batteries,
      });
  try {
    for (let i = 0; i < count; i++) {
      const inv = new SimulatedInverter({
        address: args.address,
        port: port === 0 ? 0 : port + i,
        serial: serial + i,
        susyId: num(args, "susy", 1, 0xfffe),
        profile,
        phases: num(args, "phases", 1, 3),
        strings: num(args, "strings", 1, 4),
        batteries: num(args, "batteries", 0, 3),
        userPassword: args["user-password"],
        installerPassword: args["installer-password"],
        latencyMs: num(args, "latency", 0, 60_000),
        lossRequests: loss,
        lossAnswers: loss,
        maxRecordsPerDatagram: num(args, "fragment", 1, 1000),
        night: args.night,
        timeVarying: !args.static,
        joinMulticast: args.multicast,
        dayDataRetentionDays: num(args, "day-retention", 0, 3650),
        dailyTotalAtNextMidnight: args["daily-at-next-midnight"],
        timePushMs: num(args, "time-push", 0, 86_400_000),
        clockOffsetS: num(args, "clock-offset", -1e9, 1e9),
        partnerRequestMs: num(args, "partner-requests", 0, 86_400_000),
        lateAnswers: lateAnswers(args),
        refuseLoginsMs: (num(args, "refuse-logins", 0, 86_400) ?? 0) * 1000,
        encrypted: args.encrypted,
        plant: i === 0 ? plant : undefined,
        timeZone: args["time-zone"],
      });
      inverters.push(inv);
      const at = await inv.start();
      console.log(
        `SMA inverter simulator ${inv.serial} listening on ${at.address}:${at.port} (user password ${args["user-password"]})`,
      );
    }
    if (args.meter) inverters.push(await startMeter(args, plant));
  } catch (e) {
    await stopAll();
    throw e;
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`sma-speedwire-sim: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
  process.exit(2);
});
