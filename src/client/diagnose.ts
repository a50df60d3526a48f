/**
 * Diagnose: one check after another against one host, as structured steps with codes (no text: the CLI and the
 * editor turn codes into words, diagnose-text.ts holds the English). The verdict names the first thing that stops a
 * reader: no answer, another serial, wrong password, login refused, encryption, or not Speedwire at all.
 *
 * "not-speedwire", precisely: datagrams come back from the host (to the identify queries and the login) but not one
 * of them is a plain Speedwire inverter datagram (SMA signature, Net 2 protocol 0x6065, a valid header) nor an
 * encryption key exchange (0x6075): garbage, another protocol on the port, or an SMA device that only sends other
 * protocol ids (such as 0x6081 meter frames). A device that answers the identify but never the login is "no-answer"
 * (with the ennexOS hint), not "not-speedwire": it did speak Speedwire.
 *
 * Nothing here guesses: the device clock is null until the device pushed a time record; a step that could not run
 * (no login) is left out. The password goes only to the host asked about, only in the login.
 */
import * as dgram from "node:dgram";
import * as dns from "node:dns/promises";
import * as net from "node:net";
import {
  Command,
  QUERIES,
  QUERY_NAMES,
  SPEEDWIRE_PORT,
  answerCode,
  buildIdentify,
  decodeAnswer,
  hasSignature,
  hexCode,
  isKeyExchange,
  DEVICE_TYPE_TAGS,
  meterVariantOf,
  readNet2,
  tagName,
  type EnumValue,
  type QueryName,
} from "../protocol";
import { SpeedwireClient } from "./client";
import { discover, type DiscoverOptions } from "./discovery";
import { SmaError } from "./errors";
import type { InverterOptions } from "./session-options";
import type { InverterSession } from "./session";
import type { DeviceClockReading } from "./device-clock";
import { clientIdentity } from "./identity";
import { noteKeyExchange } from "./key-exchanges";
import { meterListenersOpen, metersHeard, type HeardMeter } from "./meter-listener";
import { randomPacketId } from "./transport";
import { answerable } from "./guard";
import { POOR_LINK_LOSS } from "./link";

export const DIAGNOSE_VERDICTS = [
  "ok",
  "no-answer",
  "other-serial",
  "wrong-password",
  "login-refused",
  "encrypted",
  "not-speedwire",
] as const;
export type DiagnoseVerdict = (typeof DIAGNOSE_VERDICTS)[number];

/** Every step code; the texts (en-US in diagnose-text.ts, de in the locales) are keyed by these. */
export const DIAGNOSE_CODES = [
  "identify.ok",
  "identify.none",
  "identify.encrypted",
  "identify.garbage",
  "identify.unresolved",
  "serial.match",
  "serial.any",
  "serial.other",
  "login.ok",
  "login.wrong-password",
  "login.no-session",
  "login.refused",
  "login.encrypted",
  "login.silent",
  "login.no-answer",
  "login.not-speedwire",
  "login.error",
  "login.unreachable",
  "device.ok",
  "values.has",
  "values.none",
  "values.unknown",
  "values.ennexos",
  "values.error",
  "link.ok",
  "link.poor",
  "link.none",
  "clock.ok",
  "clock.none",
  "meters.heard",
  "meters.heard-group",
  "meters.none",
  "meters.no-listener",
  "meters.direct",
] as const;
export type DiagnoseCode = (typeof DIAGNOSE_CODES)[number];
export type DiagnoseStepName = "identify" | "serial" | "login" | "device" | "values" | "link" | "clock" | "meters";

export interface DiagnoseStep {
  step: DiagnoseStepName;
  ok: boolean;
  code: DiagnoseCode;
  /** The figures the text shows (`__name__` in the text); strings and numbers only, null where there is none. */
  data: Record<string, string | number | null>;
}

export interface Diagnosis {
  verdict: DiagnoseVerdict;
  host: string;
  port: number;
  /** The address the host resolved to (null when it did not). */
  address: string | null;
  steps: DiagnoseStep[];
  /** The device clock (device minus host, s), null when no time record arrived: never guessed. */
  clockDriftS: number | null;
}

/** The connection as a session has it; timeoutMs per attempt (default 1500 ms): each check waits at most timeoutMs × (retries + 1). */
export interface DiagnoseOptions extends Pick<
  InverterOptions,
  "host" | "port" | "serial" | "group" | "password" | "timeoutMs" | "retries"
> {
  /** Identify queries timed for the round trip and loss (default 5). */
  linkProbes?: number;
  /**
   * Energy meters: what the meter listeners of this process heard in the last `sinceMs` ms (listening: false when
   * none listens, e.g. no sma-energy-meter node deployed; default: whether a listener of this process is open).
   * Left out: no meter step.
   */
  meters?: { sinceMs: number; listening?: boolean };
  /** Where to search for a Home Manager that sends no meter data here (the configured discovery targets). */
  discovery?: Pick<DiscoverOptions, "targets" | "timeoutMs" | "identity" | "devicePort">;
  /** Local address to bind the probe sockets to (tests: 127.0.0.1). */
  bindAddress?: string;
}

interface Heard {
  /** Plain Speedwire answers to our identify queries (source device), in order. */
  answers: { serial: number; susyId: number; rttMs: number }[];
  keyExchanges: number;
  /** Datagrams from the host that are neither. */
  garbage: number;
  /** Net 2 protocol ids of SMA datagrams among the garbage (0x6081 ...). */
  protocols: Set<number>;
}

type AddStep = (step: DiagnoseStepName, ok: boolean, code: DiagnoseCode, data?: DiagnoseStep["data"]) => void;

/** Appends to `steps`: the one way every step function below records what it found. */
function stepAdder(steps: DiagnoseStep[]): AddStep {
  return (step, ok, code, data = {}) => {
    steps.push({ step, ok, code, data });
  };
}

/**
 * Runs every check against the host; never throws for anything the device or network does. The steps, in order (a
 * step that could not run is left out; the first that stops a reader gives the verdict):
 *
 *   step        function        what it checks                                    stops with
 *   (resolve)   resolveStep     the host name to an IPv4 address                  no-answer (identify.unresolved)
 *   identify    identifyStep    who answers an identify; what else comes back     -
 *   serial      serialStep      the serial (another device gets no password)      other-serial
 *   login       loginStep       a login as the chosen group (a session's own)     its verdict (loginVerdict)
 *   device      valuesSteps     the device's type, name and firmware              -
 *   values      valuesSteps     one read of each value group                      -
 *   link        linkStep        round trip and loss over a few identify queries   -
 *   clock       clockStep       the device clock from its pushed time records     -
 *   meters      meterSteps      meters heard; Home Managers sending elsewhere      -
 */
export async function diagnose(o: DiagnoseOptions): Promise<Diagnosis> {
  const port = o.port ?? SPEEDWIRE_PORT;
  const timeoutMs = o.timeoutMs ?? 1500;
  const retries = o.retries ?? 2;
  const steps: DiagnoseStep[] = [];
  const add = stepAdder(steps);
  const result = (verdict: DiagnoseVerdict, address: string | null, clockDriftS: number | null = null): Diagnosis => ({
    verdict,
    host: o.host,
    port,
    address,
    steps,
    clockDriftS,
  });
  const where = { host: o.host, port };

  const address = await resolveStep(o.host, where, add);
  if (address === null) return result("no-answer", null);

  const probe = new Probe(address, port, o.bindAddress);
  const heard = await identifyStep(probe, retries + 1, timeoutMs, { ...where, address }, add);
  if (!serialStep(heard.answers[0], o.serial, add)) {
    await probe.close();
    return result("other-serial", address);
  }

  const checked = await sessionSteps(o, { address, port, timeoutMs, retries }, probe, heard, add);
  if (!checked.loggedIn) return result(checked.verdict, address);
  if (o.meters) steps.push(...(await meterSteps(o.meters, o.discovery)));
  return result(checked.verdict, address, checked.clockDriftS);
}

/** The host's IPv4 address; null (and the step that says why) when it does not resolve. */
async function resolveStep(host: string, where: { host: string; port: number }, add: AddStep): Promise<string | null> {
  try {
    return net.isIPv4(host) ? host : (await dns.lookup(host, { family: 4 })).address;
  } catch (e) {
    add("identify", false, "identify.unresolved", { ...where, reason: String((e as NodeJS.ErrnoException).code ?? e) });
    return null;
  }
}

/** 1. Who answers an identify (no login needed), and what else comes back from the host. */
async function identifyStep(
  probe: Probe,
  tries: number,
  timeoutMs: number,
  at: { host: string; port: number; address: string },
  add: AddStep,
): Promise<Heard> {
  let heard: Heard;
  try {
    heard = await probe.identify(tries, timeoutMs, true);
  } finally {
    probe.pause();
  }
  const first = heard.answers[0];
  if (first) {
    add("identify", true, "identify.ok", { ...at, serial: first.serial, susyId: first.susyId });
  } else if (heard.keyExchanges > 0) {
    add("identify", false, "identify.encrypted", at);
  } else if (heard.garbage > 0) {
    add("identify", false, "identify.garbage", {
      ...at,
      count: heard.garbage,
      protocols: protocolList(heard.protocols),
    });
  } else {
    add("identify", false, "identify.none", at);
  }
  return heard;
}

/** 2. The serial: false when another device answered at the host (it never gets the password). */
function serialStep(first: Heard["answers"][number] | undefined, serial: number | undefined, add: AddStep): boolean {
  if (!first) return true;
  if (serial === undefined) {
    add("serial", true, "serial.any", { serial: first.serial });
    return true;
  }
  if (first.serial !== serial) {
    add("serial", false, "serial.other", { expected: serial, found: first.serial, susyId: first.susyId });
    return false;
  }
  add("serial", true, "serial.match", { serial });
  return true;
}

/**
 * 3. to 5. Through a session of its own (what a reading node would get): the login, then the values, the link and
 * the clock. Closes the probe, the session and its client whatever happens.
 */
async function sessionSteps(
  o: DiagnoseOptions,
  c: { address: string; port: number; timeoutMs: number; retries: number },
  probe: Probe,
  heard: Heard,
  add: AddStep,
): Promise<{ loggedIn: boolean; verdict: DiagnoseVerdict; clockDriftS: number | null }> {
  const group = o.group ?? "user";
  const client = new SpeedwireClient({ bindAddress: o.bindAddress });
  const session = client.inverter({
    host: c.address,
    port: c.port,
    serial: o.serial,
    group,
    password: o.password,
    timeoutMs: c.timeoutMs,
    retries: c.retries,
    loginBusyRetryMs: Math.max(1, Math.min(2000, c.timeoutMs)),
    follow: false,
  });
  try {
    const d = { group, host: o.host, port: c.port, address: c.address, serial: o.serial ?? null };
    const refused = await loginStep(session, client, heard, d, add);
    if (refused !== null) return { loggedIn: false, verdict: refused, clockDriftS: null };
    await valuesSteps(session, add);
    probe.resume();
    const sent = o.linkProbes ?? 5;
    linkStep(await probe.identify(sent, c.timeoutMs, false), sent, add);
    return { loggedIn: true, verdict: "ok", clockDriftS: clockStep(session.deviceClock, add) };
  } finally {
    await probe.close();
    await session.close().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
}

/** 3. The login: null when it worked, else the verdict (and the step that says why). */
async function loginStep(
  session: InverterSession,
  client: SpeedwireClient,
  heard: Heard,
  d: Record<string, string | number | null>,
  add: AddStep,
): Promise<DiagnoseVerdict | null> {
  try {
    await session.read([]);
    add("login", true, "login.ok", { group: d.group });
    return null;
  } catch (e) {
    const err = e instanceof SmaError ? e : new SmaError("EPROTOCOL", String(e));
    // Datagrams from the host the session's socket could not decode (answers to the login).
    const garbage = client.transport.stats.malformed;
    return loginVerdict(err, heard, garbage, add, d);
  }
}

/** The value groups by what one read of each gave: has it, has no value for it (0x0015), does not know it (0x0014). */
interface GroupsRead {
  has: QueryName[];
  none: QueryName[];
  unknown: QueryName[];
  /** The values of the groups it has. */
  values: Record<string, unknown>;
}

/** One read of each value group (a group whose read fails gets a values.error step and is in no list). */
async function readEachGroup(session: InverterSession, add: AddStep): Promise<GroupsRead> {
  const g: GroupsRead = { has: [], none: [], unknown: [], values: {} };
  for (const q of QUERY_NAMES) {
    try {
      const r = await session.read([q]);
      if (r.unknown.includes(q)) g.unknown.push(q);
      else if (r.unsupported.includes(q)) g.none.push(q);
      else {
        g.has.push(q);
        g.values = { ...g.values, ...r.values };
      }
    } catch (e) {
      add("values", false, "values.error", {
        group: QUERIES[q].title,
        reason: e instanceof SmaError ? `${e.code}: ${e.message}` : String(e),
      });
    }
  }
  return g;
}

/** 4. One read of each value group, then the device as those reads showed it, then what the groups gave. */
async function valuesSteps(session: InverterSession, add: AddStep): Promise<void> {
  const { has, none, unknown, values } = await readEachGroup(session, add);
  const dev = session.identity;
  add("device", true, "device.ok", {
    serial: dev?.serial ?? null,
    susyId: dev?.susyId ?? null,
    type: text(values.deviceType, DEVICE_TYPE_TAGS),
    name: text(values.deviceName),
    firmware: text(values.firmware),
  });
  const list = (qs: QueryName[]): string => qs.map((q) => QUERIES[q].title).join("; ");
  if (has.length > 0) add("values", true, "values.has", { count: has.length, groups: list(has) });
  if (none.length > 0) add("values", true, "values.none", { count: none.length, groups: list(none) });
  if (unknown.length > 0) {
    // Most groups unknown (0x0014) and none readable: a device of another family (ennexOS) behind plain Speedwire.
    add("values", has.length > 0, has.length === 0 ? "values.ennexos" : "values.unknown", {
      count: unknown.length,
      groups: list(unknown),
    });
  }
}

/** 5. Round trip and loss over the `sent` identify queries (what the probe heard meanwhile). */
function linkStep(link: Pick<Heard, "answers">, sent: number, add: AddStep): void {
  const answered = link.answers.length;
  if (answered === 0) {
    add("link", false, "link.none", { sent });
    return;
  }
  const rtts = link.answers.map((a) => a.rttMs).sort((a, b) => a - b);
  const lost = Math.max(0, sent - answered);
  add("link", lost / sent < POOR_LINK_LOSS, lost / sent < POOR_LINK_LOSS ? "link.ok" : "link.poor", {
    sent,
    lost,
    lossPct: Math.round((100 * lost) / sent),
    rttMs: rtts[Math.floor(rtts.length / 2)],
    rttMaxMs: rtts[rtts.length - 1],
  });
}

/** 5. The device clock from its pushed time records: its drift (s), null when none arrived (never guessed). */
function clockStep(clock: DeviceClockReading | undefined, add: AddStep): number | null {
  if (!clock || clock.driftS === null) {
    add("clock", true, "clock.none");
    return null;
  }
  add("clock", Math.abs(clock.driftS) < 120, "clock.ok", {
    driftS: clock.driftS,
    deviceTime: new Date((clock.time ?? 0) * 1000).toISOString(),
    receivedAt: new Date(clock.receivedAt).toISOString(),
  });
  return clock.driftS;
}

function loginVerdict(
  err: SmaError,
  heard: Heard,
  moreGarbage: number,
  add: AddStep,
  d: Record<string, string | number | null>,
): DiagnoseVerdict {
  const code = err.deviceCode === undefined ? null : hexCode(err.deviceCode);
  switch (err.code) {
    case "EAUTH":
      if (err.noSession) {
        add("login", false, "login.no-session", { ...d, code });
        return "login-refused";
      }
      add("login", false, "login.wrong-password", { ...d, code });
      return "wrong-password";
    case "EREFUSED":
      add("login", false, "login.refused", { ...d, code });
      return "login-refused";
    case "EENCRYPTED":
      add("login", false, "login.encrypted", d);
      return "encrypted";
    case "EOTHERDEVICE":
      add("serial", false, "serial.other", {
        expected: d.serial ?? null,
        found: err.foundSerial ?? null,
        susyId: err.foundSusyId ?? null,
      });
      return "other-serial";
    case "EUNREACHABLE":
      add("login", false, "login.unreachable", { ...d, reason: err.message });
      return "no-answer";
    case "ETIMEDOUT":
      if (heard.keyExchanges > 0) {
        add("login", false, "login.encrypted", d);
        return "encrypted";
      }
      if (heard.answers.length === 0 && heard.garbage + moreGarbage > 0) {
        add("login", false, "login.not-speedwire", {
          ...d,
          count: heard.garbage + moreGarbage,
          protocols: protocolList(heard.protocols),
        });
        return "not-speedwire";
      }
      if (heard.answers.length > 0) {
        add("login", false, "login.silent", d);
        return "no-answer";
      }
      add("login", false, "login.no-answer", d);
      return "no-answer";
    default:
      add("login", false, "login.error", { ...d, code, reason: `${err.code}: ${err.message}` });
      return err.code === "EPROTOCOL" && err.deviceCode !== undefined ? "login-refused" : "not-speedwire";
  }
}

/**
 * The meter steps alone: which meters the listeners of this process heard within m.sinceMs, and (with discovery
 * targets) meters or Home Managers that answer the search but whose data did not arrive here.
 */
export async function meterSteps(
  m: { sinceMs: number; listening?: boolean },
  discovery?: DiagnoseOptions["discovery"],
): Promise<DiagnoseStep[]> {
  const steps: DiagnoseStep[] = [];
  const add = stepAdder(steps);
  const heard: HeardMeter[] = metersHeard(m.sinceMs);
  if (!(m.listening ?? meterListenersOpen() > 0) && heard.length === 0) add("meters", true, "meters.no-listener");
  else if (heard.length === 0) add("meters", false, "meters.none", { seconds: Math.round(m.sinceMs / 1000) });
  for (const h of heard) {
    add("meters", true, h.cast === "unicast" ? "meters.heard" : "meters.heard-group", {
      serial: h.serial,
      susyId: h.susyId,
      address: h.address,
      port: h.port,
      cast: h.cast,
      protocol: hexCode(h.protocol),
      ageS: Math.round((Date.now() - h.lastAt) / 1000),
      count: h.count,
    });
  }
  if (!discovery) return steps;
  let found;
  try {
    found = await discover({ ...discovery, byAddress: true });
  } catch {
    return steps;
  }
  const serials = new Set(heard.map((h) => h.serial));
  for (const d of found) {
    if (d.serial === undefined || d.susyId === undefined || meterVariantOf(d.susyId) === null || serials.has(d.serial))
      continue;
    add("meters", false, "meters.direct", { serial: d.serial, susyId: d.susyId, address: d.address });
  }
  return steps;
}

function protocolList(p: Set<number>): string {
  return p.size === 0 ? "none" : [...p].map((x) => hexCode(x)).join(", ");
}

/** A value as text: an enum by its tag's name (or number); null when the device sent none. */
function text(v: unknown, tags?: Readonly<Record<number, string>>): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "object") {
    const selected = (v as EnumValue).selected;
    const name = tags ? tagName(tags, selected) : selected;
    return name === null ? null : String(name);
  }
  return String(v);
}

/**
 * A socket of its own for identify queries to one host: it sees everything the host sends back (answers, key
 * exchanges, garbage), which the shared transport drops. Counting runs while resumed (the login runs meanwhile).
 */
class Probe {
  private socket?: dgram.Socket;
  private heard: Heard = fresh();
  private counting = true;
  private waiting?: { id: number; sentAt: number; done: () => void };
  private readonly identity = clientIdentity();

  constructor(
    private readonly address: string,
    private readonly port: number,
    private readonly bindAddress?: string,
  ) {}

  private async open(): Promise<dgram.Socket> {
    if (this.socket) return this.socket;
    const s = dgram.createSocket({ type: "udp4" });
    s.on("error", () => undefined);
    s.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => this.receive(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.bind({ port: 0, address: this.bindAddress }, () => {
        s.off("error", reject);
        resolve();
      });
    });
    this.socket = s;
    return s;
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (rinfo.address !== this.address || !answerable(rinfo) || !this.counting) return;
    if (isKeyExchange(msg)) {
      noteKeyExchange(msg, rinfo.address, rinfo.port);
      this.heard.keyExchanges++;
      return;
    }
    try {
      const a = decodeAnswer(msg);
      const w = this.waiting;
      if (
        w &&
        a.header.packetId === w.id &&
        a.header.command === answerCode(Command.IDENTIFY) &&
        rinfo.port === this.port
      ) {
        this.heard.answers.push({
          serial: a.header.source.serial,
          susyId: a.header.source.susyId,
          rttMs: Date.now() - w.sentAt,
        });
        w.done();
      }
      return;
    } catch {
      // not a plain Speedwire inverter datagram
    }
    this.heard.garbage++;
    if (hasSignature(msg)) {
      try {
        this.heard.protocols.add(readNet2(msg).protocol);
      } catch {
        // an SMA signature without a Net 2 tag: garbage all the same
      }
    }
  }

  /**
   * Sends up to `tries` identify queries, one at a time, each waiting timeoutMs; with untilAnswer it stops at the
   * first answer (or key exchange), else it sends all of them (link figures). What was heard since the last pause.
   */
  async identify(tries: number, timeoutMs: number, untilAnswer: boolean): Promise<Heard> {
    this.resume();
    let s: dgram.Socket;
    try {
      s = await this.open();
    } catch {
      return this.heard;
    }
    const used = new Set<number>();
    for (let i = 0; i < tries; i++) {
      const id = randomPacketId((n) => used.has(n));
      used.add(id);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          this.waiting = undefined;
          resolve();
        };
        this.waiting = { id, sentAt: Date.now(), done };
        s.send(buildIdentify({ source: this.identity, packetId: id }), this.port, this.address, (e) => {
          if (e) done();
        });
      });
      if (untilAnswer && (this.heard.answers.length > 0 || this.heard.keyExchanges > 0)) break;
    }
    return this.heard;
  }

  resume(): void {
    this.counting = true;
    this.heard = fresh();
  }

  /** Stops counting; what was heard since the last resume. */
  pause(): Heard {
    this.counting = false;
    return this.heard;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function fresh(): Heard {
  return { answers: [], keyExchanges: 0, garbage: 0, protocols: new Set() };
}
