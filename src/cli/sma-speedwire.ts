#!/usr/bin/env node
/**
 * sma-speedwire: tools for one inverter from the command line. `trace` reads every value group once and writes the
 * session's trace (no password in it) for a bug report; `sma-speedwire-sim --replay` serves it back.
 * `diagnose` runs every check of src/client/diagnose.ts and prints each step with its fix (or JSON for scripts).
 * Subcommands are rows of COMMANDS.
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { SpeedwireClient } from "../client/client";
import { SmaError } from "../client/errors";
import type { InverterSession } from "../client/session";
import {
  diagnose as runDiagnose,
  meterSteps,
  type DiagnoseOptions,
  type DiagnoseStep,
  type Diagnosis,
} from "../client/diagnose";
import { DIAGNOSE_TEXT_EN, stepText } from "../client/diagnose-text";
import { MeterListener } from "../client/meter-listener";
import { parseTargets } from "../client/endpoints";
import { MULTICAST_GROUP, QUERY_NAMES, SPEEDWIRE_PORT, type UserGroupName } from "../protocol";
import { INVERTER_SERIAL, PORT } from "../client/settings-rules";

interface Command {
  usage: string;
  run(argv: string[]): Promise<number>;
}

const GENERAL = `Usage: sma-speedwire <command> [options]

Commands:
  trace HOST    read every value group of one inverter once and write the exchange to a file (no password in it)
  diagnose HOST check one inverter step by step (answer, serial, login, values, link, clock, meters) and say what to fix

The password comes from the environment variable SMA_PASSWORD or is asked for (never on the command line).
sma-speedwire <command> --help shows a command's options.
`;

const TRACE_USAGE = `Usage: sma-speedwire trace HOST [options]

Logs in, reads every value group the device has, logs off and writes the trace (datagrams with times, directions
and packet ids; password bytes replaced) as JSON. sma-speedwire-sim --replay FILE serves it as a device.

  --port N            UDP port of the inverter (default ${SPEEDWIRE_PORT})
  --serial N          serial number (only this device answers)
  --group G           user | installer (default user)
  --out FILE          where to write the trace (default trace.json)
  --timeout MS        ms per attempt (default 1500)
  -h, --help          this text

Password: environment variable SMA_PASSWORD, else asked for (not shown while typed).
`;

function whole(raw: string | undefined, name: string, range: { min: number; max: number }): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < range.min || n > range.max)
    throw new UsageError(`--${name} must be a whole number from ${range.min} to ${range.max}`);
  return n;
}

class UsageError extends Error {}

/** The password from SMA_PASSWORD, or asked on the terminal without echo (or read as one line from a pipe). */
export async function readPassword(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.SMA_PASSWORD !== undefined) return env.SMA_PASSWORD;
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = "";
    for await (const chunk of stdin) {
      text += String(chunk);
      if (text.includes("\n")) break;
    }
    return text.split(/\r?\n/)[0];
  }
  process.stderr.write("Inverter password: ");
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    let typed = "";
    const done = (err?: Error): void => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (s: string): void => {
      for (const ch of s) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new UsageError("cancelled"));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** Reads every value group once and says how many values came back: exit code 0, or 1 when the read failed. */
async function readEveryGroup(session: InverterSession): Promise<number> {
  try {
    const r = await session.read(QUERY_NAMES);
    const n = Object.values(r.values).filter((v) => v !== null).length;
    process.stdout.write(
      `read ${n} values from ${r.device.serial}; ${r.unsupported.length} value groups not on this device\n`,
    );
    return 0;
  } catch (e) {
    // The trace of a failed read is what a bug report needs most: write it all the same.
    process.stderr.write(
      `sma-speedwire: read failed: ${e instanceof SmaError ? `${e.code}: ` : ""}${e instanceof Error ? e.message : String(e)}\n`,
    );
    return 1;
  }
}

/** The options every command that talks to one device takes (parseArgs). */
const DEVICE_OPTIONS = {
  port: { type: "string" },
  serial: { type: "string" },
  group: { type: "string", default: "user" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

const trace: Command = {
  usage: TRACE_USAGE,
  async run(argv) {
    const { values: a, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { ...DEVICE_OPTIONS, out: { type: "string", default: "trace.json" } },
    });
    if (a.help) {
      process.stdout.write(TRACE_USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError("give one HOST");
    if (a.group !== "user" && a.group !== "installer") throw new UsageError("--group must be user or installer");
    const host = positionals[0];
    const password = await readPassword();
    const client = new SpeedwireClient();
    const session = client.inverter({
      host,
      password,
      group: a.group as UserGroupName,
      port: whole(a.port, "port", PORT),
      serial: whole(a.serial, "serial", INVERTER_SERIAL),
      timeoutMs: whole(a.timeout, "timeout", { min: 1, max: 60_000 }),
    });
    const code = await readEveryGroup(session);
    await session.close();
    const t = session.trace();
    await client.close();
    fs.writeFileSync(a.out, JSON.stringify(t, null, 1) + "\n");
    process.stdout.write(`wrote ${t.entries.length} datagrams to ${a.out}\n`);
    return code;
  },
};

const DIAGNOSE_USAGE = `Usage: sma-speedwire diagnose HOST [options]

Checks one inverter step by step and prints each step in plain words with the fix: does anything answer an identify
(serial, SUSyID), does the serial match, the login (wrong password, refused, encryption, no answer), one read of each
value group, round trip and loss, the device clock; with --meter the energy meters this host receives.

  --port N            UDP port of the inverter (default ${SPEEDWIRE_PORT})
  --serial N          serial number the setting holds (another device at HOST gets no login)
  --group G           user | installer (default user)
  --json              print one line of JSON: {"verdict": V, "steps": [{"step", "ok", "text", "code", "data"}, ...]}
  --meter[=WHERE]     also listen for energy meters for --meter-seconds: WHERE is GROUP:PORT (multicast, default
                      ${MULTICAST_GROUP}:${SPEEDWIRE_PORT}) or ADDRESS:PORT (unicast to this host's ADDRESS only)
  --meter-seconds N   how long to listen (default 3)
  --targets LIST      with --meter: where to search for a Home Manager that sends its data elsewhere
                      (a.b.c.d[:port], comma separated; default the SMA multicast group)
  --timeout MS        ms per attempt (default 1500)
  -h, --help          this text

Verdicts: ok, no-answer, other-serial, wrong-password, login-refused, encrypted, not-speedwire. Exit code 0 only
for ok, 1 for any other verdict, 2 for a usage error.
Password: environment variable SMA_PASSWORD, else asked for (not shown while typed).
`;

/** --meter's value: GROUP:PORT (a multicast group, joined) or ADDRESS:PORT (unicast to that local address). */
function meterWhere(raw: string): { group: string | null; port: number; bindAddress?: string } {
  if (raw === "") return { group: MULTICAST_GROUP, port: SPEEDWIRE_PORT };
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(raw);
  const port = m?.[2] === undefined ? SPEEDWIRE_PORT : Number(m[2]);
  if (!m || m[1].split(".").some((o) => Number(o) > 255) || port < 1 || port > 65535) {
    throw new UsageError("--meter must be GROUP:PORT or ADDRESS:PORT (e.g. 239.12.255.254:9522)");
  }
  const first = Number(m[1].split(".")[0]);
  return first >= 224 && first <= 239 ? { group: m[1], port } : { group: null, port, bindAddress: m[1] };
}

/** --meter takes an optional value: --meter=WHERE, or the next argument when it looks like ADDRESS:PORT. */
export function meterArgs(argv: string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i] !== "--meter") args.push(argv[i]);
    else if (next !== undefined && /^\d[\d.]*:\d+$/.test(next)) args.push(`--meter=${argv[++i]}`);
    else args.push("--meter=");
  }
  return args;
}

/** The diagnose command's options as parseArgs gives them. */
interface DiagnoseArgs {
  port?: string;
  serial?: string;
  group?: string;
  json?: boolean;
  meter?: string;
  "meter-seconds"?: string;
  targets?: string;
  timeout?: string;
  help?: boolean;
}

function diagnoseArgs(argv: string[]): { a: DiagnoseArgs; positionals: string[] } {
  const { values: a, positionals } = parseArgs({
    args: meterArgs(argv),
    allowPositionals: true,
    strict: true,
    options: {
      ...DEVICE_OPTIONS,
      json: { type: "boolean", default: false },
      meter: { type: "string" },
      "meter-seconds": { type: "string" },
      targets: { type: "string" },
    },
  });
  return { a, positionals };
}

/** The diagnose options the arguments give (the password comes later), where to listen for meters and how long. */
function diagnoseSettings(
  a: DiagnoseArgs,
  positionals: string[],
): { options: DiagnoseOptions; meter?: ReturnType<typeof meterWhere>; seconds: number } {
  if (positionals.length !== 1) throw new UsageError("give one HOST");
  if (a.group !== "user" && a.group !== "installer") throw new UsageError("--group must be user or installer");
  const options: DiagnoseOptions = {
    host: positionals[0],
    port: whole(a.port, "port", PORT),
    serial: whole(a.serial, "serial", INVERTER_SERIAL),
    group: a.group as UserGroupName,
    password: "",
    timeoutMs: whole(a.timeout, "timeout", { min: 1, max: 60_000 }),
  };
  const meter = a.meter === undefined ? undefined : meterWhere(a.meter);
  const seconds = whole(a["meter-seconds"], "meter-seconds", { min: 1, max: 600 }) ?? 3;
  if (a.targets !== undefined) {
    const targets = parseTargets(a.targets);
    if (targets.length === 0) throw new UsageError("--targets must be a.b.c.d or a.b.c.d:port, comma separated");
    options.discovery = { targets };
  } else if (meter) options.discovery = {};
  return { options, meter, seconds };
}

/** A meter listener that runs while the inverter is checked; undefined (and a line saying why) when it cannot listen. */
async function listenForMeters(
  meter: ReturnType<typeof meterWhere>,
  say: (line: string) => void,
): Promise<MeterListener | undefined> {
  const listener = new MeterListener({ group: meter.group, port: meter.port, bindAddress: meter.bindAddress });
  listener.on("error", () => undefined);
  try {
    await listener.ready();
    return listener;
  } catch (e) {
    say(
      `meters: cannot listen on ${meter.bindAddress ?? "0.0.0.0"}:${meter.port}: ${e instanceof Error ? e.message : String(e)}`,
    );
    return undefined;
  }
}

/**
 * The meter steps: what arrived while the inverter was checked (listening at least `seconds` since `started`), and a
 * Home Manager sending elsewhere. Closes the listener.
 */
async function heardMeters(
  listener: MeterListener | undefined,
  seconds: number,
  started: number,
  discovery: DiagnoseOptions["discovery"],
): Promise<DiagnoseStep[]> {
  const rest = seconds * 1000 - (Date.now() - started);
  if (listener && rest > 0) await new Promise((r) => setTimeout(r, rest));
  const steps = await meterSteps(
    { sinceMs: Date.now() - started + 1000, listening: listener !== undefined },
    discovery,
  );
  await listener?.close();
  return steps;
}

/** Each step as a line, the verdict in words; with --json one line of JSON after them instead (`say` is silent then). */
function printDiagnosis(d: Diagnosis, json: boolean, say: (line: string) => void): void {
  for (const s of d.steps) say(`${s.ok ? "ok  " : "FAIL"} ${s.step.padEnd(8)} ${stepText(s)}`);
  say(`Verdict: ${d.verdict}: ${DIAGNOSE_TEXT_EN[`verdict.${d.verdict}`]}`);
  if (!json) return;
  process.stdout.write(
    JSON.stringify({
      verdict: d.verdict,
      host: d.host,
      port: d.port,
      address: d.address,
      clockDriftS: d.clockDriftS,
      steps: d.steps.map((s) => ({ step: s.step, ok: s.ok, text: stepText(s), code: s.code, data: s.data })),
    }) + "\n",
  );
}

const diagnoseCommand: Command = {
  usage: DIAGNOSE_USAGE,
  async run(argv) {
    const { a, positionals } = diagnoseArgs(argv);
    if (a.help) {
      process.stdout.write(DIAGNOSE_USAGE);
      return 0;
    }
    const { options, meter, seconds } = diagnoseSettings(a, positionals);
    options.password = await readPassword();
    const say = (line: string): void => {
      if (!a.json) process.stdout.write(line + "\n");
    };
    // Listens while the inverter is checked (at least --meter-seconds), then reports what arrived meanwhile.
    const listener = meter ? await listenForMeters(meter, say) : undefined;
    const started = Date.now();
    say(`Diagnosing ${options.host}:${options.port ?? SPEEDWIRE_PORT} as ${options.group} ...`);
    const d = await runDiagnose(options);
    if (meter) d.steps.push(...(await heardMeters(listener, seconds, started, options.discovery)));
    printDiagnosis(d, a.json === true, say);
    return d.verdict === "ok" ? 0 : 1;
  },
};

export const COMMANDS: Record<string, Command> = { trace, diagnose: diagnoseCommand };

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(GENERAL);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown command ${name}\n\n${GENERAL}`);
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))) {
      throw new UsageError(`${e.message}\n\n${cmd.usage}`);
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`sma-speedwire: ${e instanceof Error ? e.message : String(e)}\n`);
      if (!(e instanceof UsageError)) process.stderr.write("\n" + GENERAL);
      process.exitCode = 2;
    },
  );
}
