/**
 * One inverter: login, a queue with one request in flight, retries, re-login, back-off after a wrong
 * password, logins refused while the device is busy (0x0102) tried again within the read, "asleep" after it stops
 * answering, what a login without an answer meant (encryption on, another device at the host), and logoff on close.
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import {
  ANY_DEVICE, Command, DAY_S, EVENT_COMMANDS, ErrorCode, NO_SUCH_VALUES, QUERIES, SPEEDWIRE_PORT, answerCode,
  buildArchiveRequest, buildIdentify, buildLogin, buildLogoff, buildQuery, decodeEventRecords,
  hexCode, passwordProblem, readingsOf, valuesOf,
  type Address, type ArchiveKind, type DataRecord, type EventGroup, type EventRecord, type InverterAnswer, type QueryName,
  type Reading, type ReadingValue, type TimeRange, type UserGroupName, type YieldRecord,
} from "../protocol";
import { SmaError } from "./errors";
import { archiveOptionsProblem, readYieldArchive, type ArchiveMemo, type ArchiveReadOptions, type DailyStampFound } from "./archive-read";
import * as rules from "./settings-rules";
import { Backoff } from "./backoff";
import { discover, type DiscoverOptions } from "./discovery";
import { FragmentSet } from "./fragments";
import { Link, type LinkFigures } from "./link";
import { HostNames, sharedNames } from "./names";
import { FairQueue, type Lane, type Turn } from "./queue";
import type { PushedDatagram, Transport } from "./transport";
import { TRACE_FORMAT, TRACE_LIMITS, TraceRing, packageInfo, type SessionTrace } from "./trace";
import { DeviceClock, type DeviceClockReading } from "./device-clock";

export interface InverterOptions {
  host: string;
  port?: number;
  /** Empty: whatever device answers at that address. */
  serial?: number;
  group?: UserGroupName;
  password: string;
  /** Per attempt. */
  timeoutMs?: number;
  retries?: number;
  /** First wait after a wrong password; doubles up to authBackoffMaxMs. */
  authBackoffMs?: number;
  authBackoffMaxMs?: number;
  /**
   * A login refused with 0x0102 (busy, although the password is right) is tried again after this wait, as long as
   * the read's time (timeout × (retries + 1)) allows; then the read fails with EREFUSED (no back-off).
   */
  loginBusyRetryMs?: number;
  /**
   * The device counts as asleep (one datagram per poll, quiet errors) after no answer to SILENT_ATTEMPTS attempts
   * in a row spread over at least this long.
   */
  silentAfterMs?: number;
  /** Log in again before a read when the last answer is older than this (the session asked for is 900 s). */
  sessionIdleMs?: number;
  /**
   * How the device is found by its serial when the host is empty or stops answering (targets default to
   * the SMA multicast group on every interface; tests point them at loopback).
   */
  discovery?: Pick<DiscoverOptions, "targets" | "devicePort" | "timeoutMs">;
  /**
   * With a host and a serial: after a timeout, follow the serial to whichever address answers the search with it
   * (DHCP), logging in there. Off by default: any host on the LAN can claim a serial and would get the password.
   */
  follow?: boolean;
  /** First wait after a search that did not find the serial; doubles up to discoveryBackoffMaxMs. */
  discoveryBackoffMs?: number;
  discoveryBackoffMaxMs?: number;
  /** How host names are looked up (default the process's shared cache and the system's DNS servers). */
  names?: HostNames;
}

export type InverterState =
  | "idle" | "searching" | "connecting" | "reading" | "ok" | "asleep" | "auth" | "error" | "closed";

export interface ReadResult {
  values: Record<string, ReadingValue>;
  readings: Reading[];
  device: Address;
  /** Newest record time of the device, ms since epoch (now when the device sent no record). */
  timestamp: number;
  /**
   * Queries the device answered with "no such values" (0x0015, or 0x0017 again after a fresh login): objects it knows
   * but has no value for, such as battery values of a PV inverter (remembered until close).
   */
  unsupported: QueryName[];
  /**
   * Queries the device answered 0x0014: objects it does not know at all (ennexOS-style ids, another device family's
   * command); not in `unsupported` (remembered until close).
   */
  unknown: QueryName[];
  /** The device has none of the values asked for (every query unsupported or unknown): not an error, but worth showing. */
  nothingSupported: boolean;
  /** The latest device-time record the device pushed, null when none has arrived yet. */
  deviceClock?: DeviceClockReading | null;
}

/** What an archive read asked and what the device sent (Unix seconds). */
export interface ArchiveReadResult<R> {
  /** The range asked of the device (day data: one slot before the first wanted, as the baseline; month data: padded by days). */
  asked: TimeRange;
  /** Oldest and newest time of `records` (the baseline included), or null when the device holds nothing in the range. */
  held: TimeRange | null;
  /** Month data: which midnight the daily totals were taken as stamped at (they are dated by their own day). */
  dailyStamp?: DailyStampFound;
  /** Oldest first, one per time; day and month data: those of the wanted range and the baseline record before them. */
  records: R[];
  device: Address;
}

/** Longest range one archive read may ask for, in days: each request covers at most one chunk. */
export const ARCHIVE_LIMITS = {
  day: { maxDays: 92, chunkS: DAY_S },
  month: { maxDays: 3660, chunkS: 31 * DAY_S },
  events: { maxDays: 366, chunkS: 31 * DAY_S },
} as const;

export const DEFAULTS = {
  port: SPEEDWIRE_PORT, timeoutMs: 1500, retries: 2, authBackoffMs: 60_000, authBackoffMaxMs: 900_000, loginBusyRetryMs: 2000,
  sessionIdleMs: 600_000, discoveryBackoffMs: 30_000, discoveryBackoffMaxMs: 600_000, follow: false, silentAfterMs: 60_000,
} as const;

/** Unanswered attempts in a row (with silentAfterMs) before the device counts as asleep: more than one read's worth. */
export const SILENT_ATTEMPTS = 8;

/**
 * Distinct reads one inverter may have queued: one per query node is normal (identical reads share one), and an
 * inverter answers one request at a time, so more only wait longer; the next one fails fast with EBUSY.
 */
export const MAX_PENDING_READS = 16;
/**
 * Distinct archive reads (day, month, events) one inverter may have queued, beside the live reads: each is up to
 * 94 requests that take turns with live reads one request at a time; the next one fails fast with EBUSY.
 */
export const MAX_PENDING_ARCHIVES = 4;
/** Addresses of a host name tried in one read (each with the read's full deadline) before it fails. */
export const MAX_ADDRESSES_PER_READ = 4;

export class InverterSession extends EventEmitter {
  readonly options: Required<Omit<InverterOptions, "serial" | "discovery" | "names">> & Pick<InverterOptions, "serial" | "discovery">;
  private _state: InverterState = "idle";
  private addressInUse?: string;
  private device?: Address;
  /** What archive reads found out about the device (which midnight it stamps daily totals at). */
  private readonly archiveMemo: ArchiveMemo = {};
  private loggedIn = false;
  /** 0 until the device first answers. */
  private lastAnswerAt = 0;
  /**
   * Silent by the link's silence rule (asleep at night, switched off, wrong address): each read sends one
   * datagram without resends, until the device answers again.
   */
  private silent = false;
  /** A read ended with no answer since the last answer: later failures are quiet, the status stays. */
  private outage = false;
  /** Reads that ended with no answer; reads queued before the last of them end at once, quietly. */
  private timedOutReads = 0;
  private readonly link: Link;
  private readonly invalid?: SmaError;
  private readonly auth: Backoff;
  private readonly search: Backoff;
  /** Queries the device has no values for, with the code it answered (0x0014 unknown, 0x0015 / 0x0017 no values). */
  private readonly unsupported = new Map<QueryName, number>();
  private readonly createdAt = Date.now();
  /** The code of the last read's failure when it was one that repeats until the setup changes (reported once). */
  private lastProblem?: string;
  private foundAt?: string;
  /** The configured host's address (resolved once); following the serial returns to it when it answers again. */
  private hostAddress?: string;
  /** Following, moved away from the host: when the next look for the host at its address may start. */
  private nextCheckBack = 0;
  private checkingBack = false;
  private hostIsBack = false;
  /** Live reads and archive reads, taking turns (identical reads share one job). */
  private readonly queue = new FairQueue({ live: MAX_PENDING_READS, archive: MAX_PENDING_ARCHIVES });
  private readonly names: HostNames;
  /** The host is a name (not an IPv4 address): its addresses come from `names`. */
  private readonly byName: boolean;
  /** Set by a read that looked its host name up: its first request's deadline counts from then. */
  private readStartedAt?: number;
  /** The host name's addresses (last lookup), the first one read in this session, the last failed lookup. */
  private nameAddresses: string[] = [];
  private firstNameAddress?: string;
  private lookupFailure?: SmaError;
  private readonly aborts = new Set<(e: SmaError) => void>();
  /** Counted for tests and benchmarks. */
  readonly stats = { reads: 0, requests: 0, logins: 0, timeouts: 0 };
  /** The last datagrams to and from the device (password bytes replaced), for trace(). */
  private readonly ring = new TraceRing();
  private readonly clock = new DeviceClock();
  private readonly onPush = (p: PushedDatagram): void => {
    if (this.clock.accept(p, { address: this.addressInUse, port: this.options.port, serial: this.device?.serial ?? this.options.serial })) {
      this.ring.record("in", p.raw, p.address, p.port);
      this.emit("deviceTime", this.clock.latest);
    }
  };

  constructor(private readonly transport: Transport, options: InverterOptions) {
    super();
    // One listener per query node using this inverter: many nodes are normal, not a leak.
    this.setMaxListeners(0);
    const { names, ...rest } = options;
    this.options = { ...DEFAULTS, group: "user", ...stripUndefined(rest) };
    this.names = names ?? sharedNames;
    this.byName = typeof this.options.host === "string" && this.options.host !== "" && !net.isIPv4(this.options.host);
    this.auth = new Backoff(this.options.authBackoffMs, this.options.authBackoffMaxMs);
    this.link = new Link(this.options.timeoutMs, { attempts: SILENT_ATTEMPTS, ms: this.options.silentAfterMs });
    this.search = new Backoff(this.options.discoveryBackoffMs, this.options.discoveryBackoffMaxMs);
    this.invalid = optionsProblem(this.options);
    transport.on("push", this.onPush);
  }

  /** The latest device-time record the device pushed (undefined until one arrives); nothing is ever sent. */
  get deviceClock(): DeviceClockReading | undefined {
    return this.clock.latest;
  }

  /**
   * The session's last exchanges (at most TRACE_LIMITS) as JSON-ready data, with the package's version and, when
   * given, Node-RED's. Every password byte is replaced; the password itself is in no field.
   */
  trace(info: { nodeRed?: string } = {}): SessionTrace {
    return {
      format: TRACE_FORMAT, version: 1, created: new Date().toISOString(), package: packageInfo(), nodeRed: info.nodeRed ?? null,
      node: process.version,
      device: {
        host: this.options.host, port: this.options.port, serial: this.options.serial ?? null, group: this.options.group,
        address: this.addressInUse ?? null, identity: this.device ? { ...this.device } : null,
      },
      limits: TRACE_LIMITS, dropped: this.ring.dropped, entries: this.ring.entries(),
    };
  }

  get state(): InverterState {
    return this._state;
  }

  /** The IPv4 address requests go to (undefined before the first read resolves it). */
  get address(): string | undefined {
    return this.addressInUse;
  }

  /** The address the device was found at by its serial (empty host, or the host stopped answering). */
  get foundAddress(): string | undefined {
    return this.foundAt;
  }

  /** The device's SUSyID and serial once it has answered. */
  get identity(): Address | undefined {
    return this.device;
  }

  private setState(state: InverterState, error?: SmaError): void {
    // Closed is final: a read that was under way when the session closed cannot bring it back.
    if (this._state === "closed" || (state === this._state && !error)) return;
    this._state = state;
    this.emit("state", state, error);
  }

  /**
   * Reads the given queries in one queued job; resolves with every value, or rejects with an SmaError.
   * A read of the same queries as one still pending shares its request and its result; beyond
   * MAX_PENDING_READS distinct pending reads a read ends at once with EBUSY.
   */
  read(queries: readonly QueryName[]): Promise<ReadResult> {
    // Each query once: a name given twice made the answer's batteries come twice (batteryTemperature4-6, copies of 1-3).
    const list = [...new Set(queries)];
    return this.enqueue("live", () => this.queryAll(list), list.join(","));
  }

  /**
   * Reads the day archive (5-minute counters) or the month archive (daily counters) for records of
   * wanted.from..wanted.to (Unix seconds), in one queued job of requests a day (day data) or a month long. Daily
   * records count by their local day (archive-read.ts, src/protocol/archive-days.ts): the request is padded by days and the answer cut to the days
   * that overlap the range, each dated by the local midnight that starts its day (also from a device that stamps
   * it at the following midnight: dailyAtNextMidnight), in options.timeZone (default: the process's zone).
   */
  readArchive(kind: ArchiveKind, wanted: TimeRange, options: ArchiveReadOptions = {}): Promise<ArchiveReadResult<YieldRecord>> {
    const problem = rangeProblem(kind, wanted) ?? archiveOptionsProblem(options);
    if (problem) return Promise.reject(problem);
    return this.enqueue("archive", async (turn) => {
      const r = await readYieldArchive((command, range, chunkS) => this.archiveChunks(command, range, chunkS, turn), kind, wanted,
        ARCHIVE_LIMITS[kind].chunkS, options, this.archiveMemo);
      const result = this.archiveResult(r.asked, r.records, (x) => String(x.time));
      return r.dailyStamp ? { ...result, dailyStamp: r.dailyStamp } : result;
    });
  }

  /** Reads the event log of the user or installer group for wanted.from..wanted.to (Unix seconds). */
  readEvents(group: EventGroup, wanted: TimeRange): Promise<ArchiveReadResult<EventRecord>> {
    const problem = rangeProblem("events", wanted);
    if (problem) return Promise.reject(problem);
    return this.enqueue("archive", async (turn) => {
      const asked = wanted;
      const records = (await this.archiveChunks(EVENT_COMMANDS[group], asked, ARCHIVE_LIMITS.events.chunkS, turn)).flatMap(decodeEventRecords);
      return this.archiveResult(asked, records, (r) => `${r.time}/${r.entryId}`);
    });
  }

  /**
   * One queued job: host, login and state as for every read; `work` runs logged in. A job with the `key` of one
   * still pending in its lane shares it; beyond MAX_PENDING_READS live (MAX_PENDING_ARCHIVES archive) pending jobs
   * a new one ends at once with EBUSY. Archive jobs let waiting live reads go between two requests (turn.pass()).
   */
  private enqueue<T>(lane: Lane, work: (turn: Turn) => Promise<T>, key: string | symbol = Symbol("job")): Promise<T> {
    const queuedAfter = this.timedOutReads;
    return this.queue.run(lane, key, (turn) => this.runRead(() => work(turn), queuedAfter), (l, n) => {
      const what = l === "archive" ? "archive reads" : "different reads";
      const err = new SmaError("EBUSY", `inverter busy: ${n} ${what} already waiting for ${this.options.host || this.addressInUse}`);
      err.lane = l;
      return err;
    });
  }

  /** Distinct reads queued or under way, live and archive (at most MAX_PENDING_READS + MAX_PENDING_ARCHIVES). */
  get pendingReads(): number {
    return this.queue.size();
  }

  /** Turns the queue gave (live reads, archive requests) and times an archive read let live reads go first. */
  get queueStats(): { live: number; archive: number; passes: number } {
    return { ...this.queue.stats };
  }

  private async runRead<T>(work: () => Promise<T>, queuedAfter: number): Promise<T> {
    if (this._state === "closed") throw closedError();
    if (this.invalid) throw this.invalid;
    const refused = this.auth.blocking();
    if (refused) {
      const s = Math.ceil(this.auth.remainingMs() / 1000);
      const err = new SmaError("EAUTH", `${refused.message}; login paused, next attempt in ${s} s`, refused.deviceCode);
      err.paused = true;
      throw err;
    }
    const inOutage = this.outage;
    // Reads that queued up behind a read that got no answer end at once, so that polls faster than the timeout
    // do not pile up (all night); a read asked for after that one tries the device again.
    if (inOutage && queuedAfter < this.timedOutReads) {
      const err = new SmaError("ETIMEDOUT", `still no answer from ${this.where()}`);
      err.quiet = true;
      throw err;
    }
    this.stats.reads++;
    try {
      const tried = new Set<string>();
      for (;;) {
        try {
          return await this.readOnce(work);
        } catch (e) {
          if (!(e instanceof SmaError && e.code === "ETIMEDOUT")) throw e;
          // A host name: its next address, or a new one after a fresh lookup (DHCP moved it).
          if (await this.nextNameAddress(tried)) continue;
          // The host stopped answering: the device may have a new address (DHCP). Look for its serial.
          if (!(await this.relocate())) throw e;
          return await this.readOnce(work);
        }
      }
    } catch (e) {
      const err = e instanceof SmaError ? e : new SmaError("EPROTOCOL", String(e));
      if (err.code === "ETIMEDOUT") {
        err.quiet = inOutage;
        this.loggedIn = false;
        this.outage = true;
        this.timedOutReads++;
        this.silent = this.link.silent(Date.now());
        this.setState(this.silent && this.lastAnswerAt > 0 ? "asleep" : "error", err);
      } else if (err.code === "EAUTH") {
        this.setState("auth", err);
      } else if (err.code !== "ECLOSED") {
        // Encryption on, another device at the host: the same on every poll until the setup changes; say it once.
        if (err.code === "EENCRYPTED" || err.code === "EOTHERDEVICE") {
          err.quiet = this.lastProblem === err.code;
          this.lastProblem = err.code;
        }
        this.setState("error", err);
      }
      throw err;
    }
  }

  private async readOnce<T>(work: () => Promise<T>): Promise<T> {
    this.readStartedAt = this.byName ? Date.now() : undefined;
    await this.resolveHost();
    if (!this.loggedIn || Date.now() - this.lastAnswerAt > this.options.sessionIdleMs) {
      if (!this.outage) this.setState("connecting");
      await this.login();
    }
    if (!this.outage) this.setState("reading");
    const result = await work();
    // Reset on a read, not a login: a device that takes the login but keeps no session backs off further each time.
    this.auth.reset();
    this.lastProblem = undefined;
    this.setState("ok");
    return result;
  }

  private async queryAll(queries: readonly QueryName[]): Promise<ReadResult> {
    const readings: Reading[] = [];
    const unsupported: QueryName[] = [];
    const unknown: QueryName[] = [];
    const none = (name: QueryName, code: number): void => void (code === ErrorCode.UNKNOWN_COMMAND ? unknown : unsupported).push(name);
    // 0xFFFF / 0x0017 (a session the device forgot): one fresh login per read; 0x0017 is then believed.
    let relogged = false;
    for (const name of queries) {
      const known = this.unsupported.get(name);
      if (known !== undefined) {
        none(name, known);
        continue;
      }
      let answer = await this.query(name);
      if (answer.errorCode === ErrorCode.NOT_LOGGED_IN || (answer.errorCode === ErrorCode.REFUSED && !relogged)) {
        answer = await this.relogin(relogged, answer.errorCode, () => this.query(name));
        relogged = true;
      }
      if (NO_SUCH_VALUES.has(answer.errorCode)) {
        this.unsupported.set(name, answer.errorCode);
        none(name, answer.errorCode);
        continue;
      }
      if (answer.errorCode !== 0) {
        throw new SmaError("EPROTOCOL", `inverter answered ${QUERIES[name].title} with error ${hexCode(answer.errorCode)}`, answer.errorCode);
      }
      // Numbered by position within each answer: records a device adds from another query's range count there once.
      readings.push(...readingsOf(answer.records));
    }
    const newest = readings.reduce((t, r) => Math.max(t, r.timestamp), 0);
    return {
      values: valuesOf(readings), readings, unsupported, unknown,
      nothingSupported: queries.length > 0 && queries.every((q) => unsupported.includes(q) || unknown.includes(q)),
      device: this.device ?? { susyId: 0, serial: this.options.serial ?? 0 },
      timestamp: newest > 0 ? newest : Date.now(), deviceClock: this.clock.latest ?? null,
    };
  }

  private async query(name: QueryName): Promise<{ errorCode: number; records: DataRecord[] }> {
    const q = QUERIES[name];
    return this.exchange(q.command, (packetId) => buildQuery({
      source: this.transport.identity, destination: this.destination(), packetId, query: q,
    }));
  }

  /**
   * The payloads of one archive command over a range, asked in chunks (so that one lost datagram costs one short
   * answer, not the whole range). 0x0015 is "no records there"; an answer missing fragments is asked again.
   */
  private async archiveChunks(command: number, range: TimeRange, chunkS: number, turn: Turn): Promise<Buffer[]> {
    const out: Buffer[] = [];
    let relogged = false;
    for (let from = range.from; from <= range.to; from += chunkS) {
      const chunk = { from, to: Math.min(range.to, from + chunkS - 1) };
      if (from > range.from) {
        // Live reads waiting go first (each is a few requests); the archive goes on after them.
        await turn.pass();
        if (this._state === "closed") throw closedError();
        // A live read in between may have lost the session (device silent, then back): log in again first.
        if (!this.loggedIn) await this.login();
      }
      let answer = await this.archiveChunk(command, chunk);
      if (answer.errorCode === ErrorCode.NOT_LOGGED_IN || (answer.errorCode === ErrorCode.REFUSED && !relogged)) {
        answer = await this.relogin(relogged, answer.errorCode, () => this.archiveChunk(command, chunk));
        relogged = true;
      }
      if (answer.errorCode === ErrorCode.NOT_SUPPORTED) continue;
      const what = `archive 0x${command.toString(16)}`;
      if (NO_SUCH_VALUES.has(answer.errorCode)) {
        const why = answer.errorCode === ErrorCode.UNKNOWN_COMMAND ? "does not know" : "has no";
        throw new SmaError("ENOTSUPPORTED", `the device ${why} ${what} (error ${hexCode(answer.errorCode)})`, answer.errorCode);
      }
      if (answer.errorCode !== 0) throw new SmaError("EPROTOCOL", `inverter answered ${what} with error ${hexCode(answer.errorCode)}`, answer.errorCode);
      out.push(...answer.payloads);
    }
    return out;
  }

  /** One request; exchange() returns only complete answers (never a partial one) or ends with ETIMEDOUT. */
  private async archiveChunk(command: number, range: TimeRange): Promise<{ errorCode: number; payloads: Buffer[] }> {
    const a = await this.exchange(command, (packetId) => buildArchiveRequest({
      source: this.transport.identity, destination: this.destination(), packetId, command, range,
    }));
    return { errorCode: a.errorCode, payloads: a.answers.map((x) => x.payload) };
  }

  /** Oldest first, one record per key (chunks that share a boundary send its record twice). */
  private archiveResult<R extends { time: number }>(asked: TimeRange, records: R[], key: (r: R) => string): ArchiveReadResult<R> {
    const unique = new Map<string, R>();
    for (const r of records) if (!unique.has(key(r))) unique.set(key(r), r);
    const sorted = [...unique.values()].sort((a, b) => a.time - b.time);
    return {
      asked, records: sorted, device: this.device ?? { susyId: 0, serial: this.options.serial ?? 0 },
      held: sorted.length > 0 ? { from: sorted[0].time, to: sorted[sorted.length - 1].time } : null,
    };
  }

  private destination(): Address {
    return this.device ?? (this.options.serial !== undefined ? { susyId: ANY_DEVICE.susyId, serial: this.options.serial } : ANY_DEVICE);
  }

  /**
   * Logs in again after an answer of "not logged in" and asks again. A job logs in again once: "not logged in"
   * after that (a device that drops each session, or forged answers) is EAUTH with the wrong password's back-off,
   * so nothing can make the client send the password on every request.
   */
  private async relogin<A extends { errorCode: number }>(already: boolean, code: number, ask: () => Promise<A>): Promise<A> {
    if (already) {
      const err = new SmaError("EAUTH", `logged in, but the device answers 'not logged in' (${hexCode(code)}): it keeps no session`, code);
      err.noSession = true;
      throw this.auth.fail(err);
    }
    this.loggedIn = false;
    await this.login();
    const answer = await ask();
    return answer.errorCode === ErrorCode.NOT_LOGGED_IN ? this.relogin(true, answer.errorCode, ask) : answer;
  }

  /**
   * Logs in. 0x0102 (refused although the password is right: busy, still starting) is tried again after
   * loginBusyRetryMs while the read's time (timeout × (retries + 1)) lasts, then EREFUSED, without the wrong
   * password's back-off. No answer: EENCRYPTED when the host sent a Speedwire encryption key exchange meanwhile,
   * EOTHERDEVICE when another serial number answers at the host, else ETIMEDOUT.
   */
  private async login(): Promise<void> {
    const { group, timeoutMs, retries, loginBusyRetryMs } = this.options;
    const started = Date.now();
    const deadline = started + timeoutMs * (retries + 1);
    for (let refusals = 1; ; refusals++) {
      const answer = await this.loginOnce();
      if (answer.errorCode === ErrorCode.WRONG_PASSWORD) {
        throw this.auth.fail(new SmaError("EAUTH", `login as ${group} refused: wrong password (${hexCode(answer.errorCode)}); devices with `
          + "firmware 4.x (\"PUK 2.0\") take the RID / WPA2 key printed on the type plate as the initial password", answer.errorCode));
      }
      if (answer.errorCode === ErrorCode.LOGIN_BUSY) {
        if (Date.now() + loginBusyRetryMs < deadline) {
          await this.pause(loginBusyRetryMs);
          // The next login ends by this deadline, not a budget of its own (a device refusing, then silent, held the read 1.9x its time).
          this.readStartedAt = started;
          continue;
        }
        throw new SmaError("EREFUSED", `login refused (busy): ${this.options.host || this.addressInUse} answered ${hexCode(answer.errorCode)} to `
          + `${refusals} login(s) in ${Date.now() - started} ms, although the password may be right (device busy or starting); `
          + "the next read logs in again", answer.errorCode);
      }
      if (answer.errorCode !== 0) {
        throw new SmaError("EPROTOCOL", `login answered with error ${hexCode(answer.errorCode)}`, answer.errorCode);
      }
      this.loggedIn = true;
      return;
    }
  }

  /** One login exchange; no answer says what it can (encryption on, another device at the host). */
  private async loginOnce(): Promise<{ errorCode: number }> {
    this.stats.logins++;
    const { group, password } = this.options;
    try {
      return await this.exchange(Command.LOGIN, (packetId) => buildLogin({
        source: this.transport.identity, destination: this.destination(), packetId, group, password,
        time: Math.floor(Date.now() / 1000),
      }));
    } catch (e) {
      if (!(e instanceof SmaError && e.code === "ETIMEDOUT")) throw e;
      const host = this.options.host || this.addressInUse;
      // A key exchange from the host since it last answered plain Speedwire (or since this session began), to this
      // socket or on the multicast group (meter listener): it speaks encrypted Speedwire only.
      // (From the device's address and port: another device behind the address says nothing about this one.)
      if (this.addressInUse && this.transport.keyExchangeSince(this.addressInUse, this.lastAnswerAt || this.createdAt, this.options.port)) {
        throw new SmaError("EENCRYPTED", `Speedwire encryption is on at ${host}: it answered the login with a key exchange `
          + "(protocol 0x6075), which nothing public decrypts; read it with Modbus or through its web interface", undefined, { cause: e });
      }
      if (this.lastAnswerAt === 0) {
        const other = await this.otherDevice();
        if (other) {
          const err = new SmaError("EOTHERDEVICE", `device at ${host} is SN ${other.serial}, not ${this.options.serial}: `
            + "check the serial number (or the host)", undefined, { cause: e });
          err.foundSerial = other.serial;
          err.foundSusyId = other.susyId;
          throw err;
        }
        throw new SmaError("ETIMEDOUT", `no answer from ${this.where()} to login `
          + "(asleep, wrong address, or a device that does not speak plain Speedwire such as ennexOS / Speedwire encryption)", undefined, { cause: e });
      }
      throw e;
    }
  }

  /**
   * With a host and a serial number (not following it): asks the host who it is (an identify query, which needs no
   * login). The device when another serial number answers, else undefined. One datagram, one timeout.
   */
  private otherDevice(): Promise<Address | undefined> {
    const serial = this.options.serial;
    const address = this.addressInUse;
    if (serial === undefined || this.options.host === "" || this.options.follow || !address || this._state === "closed") {
      return Promise.resolve(undefined);
    }
    const { port, timeoutMs } = this.options;
    const packetId = this.transport.nextPacketId();
    this.stats.requests++;
    return new Promise((resolve) => {
      const done = (device?: Address): void => {
        clearTimeout(timer);
        this.transport.forget(packetId);
        this.aborts.delete(abort);
        resolve(device && device.serial !== serial ? device : undefined);
      };
      const abort = (): void => done();
      this.aborts.add(abort);
      const timer = setTimeout(() => done(), timeoutMs);
      this.transport.expect({ packetId, address, port, answerCommand: answerCode(Command.IDENTIFY), onAnswer: (a) => done(a.header.source) });
      this.transport.send(buildIdentify({ source: this.transport.identity, packetId }), address, port).catch(() => done());
    });
  }

  /** Waits ms; close() ends the wait with ECLOSED. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const abort = (e: SmaError): void => {
        clearTimeout(timer);
        this.aborts.delete(abort);
        reject(e);
      };
      const timer = setTimeout(() => {
        this.aborts.delete(abort);
        resolve();
      }, ms);
      this.aborts.add(abort);
    });
  }

  /**
   * Sends a request and waits for its whole answer (every fragment, see FragmentSet). Resends after the link's
   * RTO (copies per attempt as the link's loss asks for), and ends within timeout × (retries + 1) whatever
   * arrives: repeated or endless fragments cannot hold it up. A silent device gets one datagram and one timeout.
   * Any command: the datagrams of the answer (and all their records) come back in the device's order.
   */
  private exchange(command: number, build: (packetId: number) => Buffer):
    Promise<{ errorCode: number; records: DataRecord[]; source: Address; answers: InverterAnswer[] }> {
    if (this._state === "closed") return Promise.reject(closedError());
    const address = this.addressInUse as string;
    const { port, timeoutMs, retries } = this.options;
    const probe = this.silent;
    const link = this.link;
    const packetId = this.transport.nextPacketId();
    const datagram = build(packetId);
    this.stats.requests++;
    const started = Date.now();
    // The first request of a read that looked its host name up: the lookup's time counts against its deadline.
    const from = Math.min(started, this.readStartedAt ?? started);
    this.readStartedAt = undefined;
    const deadline = from + (probe ? timeoutMs : timeoutMs * (retries + 1));
    return new Promise((resolve, reject) => {
      const fragments = new FragmentSet();
      const copies = probe ? 1 : link.copies;
      let attempts = 0;
      let sentAt = started;
      let timer: NodeJS.Timeout | undefined;
      /** The armed wait runs to the deadline: when it ends, the request ends (no resend). */
      let final = false;
      let done = false;
      const finish = (err: SmaError | undefined, answer?: InverterAnswer): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.transport.forget(packetId);
        this.aborts.delete(abort);
        if (err) return reject(err);
        if (!answer) return;
        link.completed(attempts, copies);
        const answers = fragments.empty ? [answer] : fragments.answers();
        resolve({ errorCode: answer.header.errorCode, records: answers.flatMap((a) => a.records), source: answer.header.source, answers });
      };
      const abort = (e: SmaError): void => finish(e);
      this.aborts.add(abort);
      // Waits for this attempt (or the rest of a fragmented answer), never past the deadline.
      // Whether a wait is the last is decided here, not by comparing Date.now() with the deadline when it ends: a
      // timer counts from the event loop's cached clock and may end a few ms before Date.now() reaches the deadline,
      // which sent one more datagram (a resend to a sleeping device, a request in the last ms of the budget).
      const arm = (): void => {
        clearTimeout(timer);
        const wait = probe ? timeoutMs : link.rtoMs;
        const left = Math.max(0, deadline - Date.now());
        final = probe || left <= wait;
        timer = setTimeout(onTimeout, Math.min(wait, left));
      };
      const send = (): void => {
        attempts++;
        sentAt = Date.now();
        this.ring.record("out", datagram, address, port);
        link.sent(sentAt);
        arm();
        for (let i = 0; i < copies; i++) {
          this.transport.send(datagram, address, port).catch((e: NodeJS.ErrnoException) =>
            finish(new SmaError("EUNREACHABLE", `cannot send to ${address}:${port}: ${e.code ?? e.message}`)));
        }
      };
      const onTimeout = (): void => {
        this.stats.timeouts++;
        link.timedOut();
        if (!final) return send();
        const got = fragments.empty ? "" : `, incomplete answer (${fragments.progress})`;
        finish(new SmaError("ETIMEDOUT", `no answer from ${this.where(address)} after ${attempts} attempt(s) in ${Date.now() - started} ms${got}`));
      };
      this.transport.expect({
        packetId, address, port, answerCommand: answerCode(command), serial: this.device?.serial ?? this.options.serial,
        onAnswer: (answer, raw) => {
          this.ring.record("in", raw, address, port);
          const now = Date.now();
          // Karn: only the first datagram of an answer to a request sent once times the round trip.
          link.answered(now, attempts === 1 && fragments.empty ? now - sentAt : undefined);
          this.lastAnswerAt = now;
          this.silent = false;
          this.outage = false;
          this.device = answer.header.source;
          // Login and error answers carry no records and come in one datagram.
          if (answer.isLogin || answer.header.errorCode !== 0) return finish(undefined, answer);
          const verdict = fragments.add(answer);
          if (verdict === "invalid") {
            return finish(new SmaError("EPROTOCOL", `answer with ${fragments.problem}`));
          }
          if (fragments.complete) return finish(undefined, answer);
          // More of the answer is on its way: wait for it as for an attempt (bounded by the deadline).
          if (verdict === "new") arm();
        },
      });
      send();
    });
  }

  /** Round-trip time, share of requests resent and last answer time of this inverter's link. */
  get linkFigures(): LinkFigures {
    return this.link.figures();
  }

  /** True while the link loses enough that requests are often resent (status hint). */
  get poorLink(): boolean {
    return this.link.poor;
  }

  private async resolveHost(): Promise<void> {
    if (this.byName) return this.resolveName();
    if (this.addressInUse) return this.checkBack();
    const host = this.options.host;
    if (host === "") {
      if (this.options.serial === undefined) throw new SmaError("EINVAL", "neither a host nor a serial number is set");
      const address = await this.locate();
      if (!address) throw this.search.error ?? new SmaError("ENOTFOUND", `no SMA device with serial number ${this.options.serial} answered the search`);
      return;
    }
    this.addressInUse = this.hostAddress = host;
  }

  /**
   * The host name's addresses, within the read's deadline (cached for their TTL, looked up again after a silence:
   * see HostNames). The address in use stays while the name still has it; otherwise the name's first address.
   * No address: ENOTFOUND (`lookup` says whether the name is unknown or DNS did not answer).
   */
  private async resolveName(): Promise<void> {
    const host = this.options.host;
    let addresses: string[];
    try {
      addresses = (await this.names.resolve(host, this.options.timeoutMs * (this.options.retries + 1))).addresses;
    } catch (e) {
      if (!(e instanceof SmaError)) throw e;
      // The same failed lookup again (cached briefly): quiet, as a known outage.
      const err = new SmaError(e.code, e.message);
      err.lookup = e.lookup;
      err.quiet = this.lookupFailure === e;
      this.lookupFailure = e;
      throw err;
    }
    this.lookupFailure = undefined;
    if (this._state === "closed") throw closedError();
    this.nameAddresses = addresses;
    if (!this.hostAddress || !addresses.includes(this.hostAddress)) this.hostAddress = addresses[0];
    // Following the serial away from the host: checkBack looks at the host's (new) address.
    if (this.foundAt !== undefined && this.addressInUse) return this.checkBack();
    this.useNameAddress(this.hostAddress);
  }

  /**
   * A read of a host name got no answer: its next address not yet tried in this read, or, when every one was,
   * a fresh lookup's new one (DHCP moved it). True when the read should be tried again there.
   */
  private async nextNameAddress(tried: Set<string>): Promise<boolean> {
    if (!this.byName || this.foundAt !== undefined || !this.addressInUse || this._state === "closed") return false;
    tried.add(this.addressInUse);
    if (tried.size >= MAX_ADDRESSES_PER_READ) return false;
    let next = this.nameAddresses.find((a) => !tried.has(a));
    if (!next && this.names.stale(this.options.host)) {
      try {
        this.nameAddresses = (await this.names.resolve(this.options.host, this.options.timeoutMs * (this.options.retries + 1))).addresses;
      } catch {
        return false;
      }
      next = this.nameAddresses.find((a) => !tried.has(a));
    }
    if (!next || this.state === "closed") return false;
    this.hostAddress = next;
    this.useNameAddress(next);
    return true;
  }

  /** Requests go to this address of the host name from now on (a new login there); "address" tells the nodes. */
  private useNameAddress(address: string): void {
    if (address === this.addressInUse) return;
    const previous = this.addressInUse;
    this.addressInUse = address;
    this.foundAt = undefined;
    this.loggedIn = false;
    this.hostIsBack = false;
    this.firstNameAddress ??= address;
    if (previous) this.emit("address", address, previous);
  }

  /** "host:port", with the address in use for a host name ("sunnyboy.fritz.box (192.168.178.23):9522"). */
  private where(address = this.addressInUse): string {
    const host = this.options.host || address;
    return `${this.byName && address ? `${host} (${address})` : host}:${this.options.port}`;
  }

  /** A host name now used at another address than the one it was first read at (status and log show it). */
  get nameMoved(): boolean {
    return this.byName && this.addressInUse !== undefined && this.addressInUse !== this.firstNameAddress && this.foundAt === undefined;
  }

  /**
   * After a timeout: true when the serial was found at another address (the caller reads again there). With a
   * host, only when following is on: otherwise the password goes to the configured host and nowhere else.
   */
  private async relocate(): Promise<boolean> {
    if (this.options.serial === undefined || (this.options.host !== "" && !this.options.follow)) return false;
    const before = this.addressInUse;
    const address = await this.locate();
    return address !== undefined && address !== before;
  }

  /** The addresses that answered the search with the configured serial (each address once). */
  private async claimants(stopAtHost: boolean): Promise<string[]> {
    const serial = this.options.serial as number;
    const devices = await discover({
      ...this.options.discovery, identity: this.transport.identity, byAddress: true,
      // The configured host answering with the serial settles it; otherwise wait for every answer (two claimants?).
      stopWhen: stopAtHost && this.hostAddress ? (d) => d.serial === serial && d.address === this.hostAddress : undefined,
    }).catch(() => []);
    return [...new Set(devices.filter((d) => d.serial === serial).map((d) => d.address))];
  }

  /**
   * Searches for the configured serial (at most once per back-off window; a failed search doubles the
   * window) and switches to the address it answers from: the configured host whenever it is among them,
   * otherwise the one address that claims the serial. Two claimants: EAMBIGUOUS, neither gets a login.
   */
  private async locate(): Promise<string | undefined> {
    const serial = this.options.serial as number;
    const refused = this.search.blocking();
    if (refused) {
      refused.quiet = true;
      if (refused.code === "EAMBIGUOUS") throw refused;
      return undefined;
    }
    this.setState("searching");
    const claimants = await this.claimants(true);
    if (this._state === "closed") throw closedError();
    const address = this.hostAddress && claimants.includes(this.hostAddress) ? this.hostAddress
      : claimants.length === 1 ? claimants[0] : undefined;
    if (claimants.length > 1 && !address) {
      throw this.search.fail(new SmaError("EAMBIGUOUS", `serial number ${serial} answered the search from ${claimants.length} `
        + `addresses (${claimants.join(", ")}): none is used; another device may be claiming it`));
    }
    if (!address) {
      this.search.fail(new SmaError("ENOTFOUND", `no SMA device with serial number ${serial} answered the search`));
      return undefined;
    }
    this.search.reset();
    this.moveTo(address);
    return address;
  }

  private moveTo(address: string): void {
    if (address === this.addressInUse) return;
    const previous = this.addressInUse;
    this.addressInUse = address;
    this.foundAt = address === this.hostAddress ? undefined : address;
    this.loggedIn = false;
    this.hostIsBack = false;
    this.emit("found", address, previous);
  }

  /**
   * Following the serial away from the configured host: look in the background (once per search back-off
   * window) whether the host answers with the serial again, and go back to it on the next read when it does.
   */
  private checkBack(): void {
    const home = this.hostAddress;
    if (!home || this.addressInUse === home) return;
    if (this.hostIsBack) return this.moveTo(home);
    if (this.checkingBack || Date.now() < this.nextCheckBack) return;
    this.checkingBack = true;
    this.nextCheckBack = Date.now() + this.options.discoveryBackoffMs;
    void this.claimants(true).then((claimants) => {
      if (this._state !== "closed" && this.addressInUse !== home && claimants.includes(home)) this.hostIsBack = true;
    }).finally(() => {
      this.checkingBack = false;
    });
  }

  /** Logs off (no answer is expected) and ends every waiting read with ECLOSED. Bounded in time. */
  async close(timeoutMs = 500): Promise<void> {
    if (this._state === "closed") return;
    const wasLoggedIn = this.loggedIn && this.addressInUse;
    this.setState("closed");
    this.transport.off("push", this.onPush);
    for (const abort of [...this.aborts]) abort(closedError());
    if (!wasLoggedIn) return;
    this.loggedIn = false;
    const logoff = buildLogoff({ source: this.transport.identity, destination: this.destination(), packetId: this.transport.nextPacketId() });
    this.ring.record("out", logoff, this.addressInUse as string, this.options.port);
    await Promise.race([
      this.transport.send(logoff, this.addressInUse as string, this.options.port).catch(() => undefined),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }
}

/** The first wrong option, as EINVAL naming its field (the session then reads nothing, touches no network). */
function optionsProblem(o: InverterSession["options"]): SmaError | undefined {
  const checks: [string, rules.Rule<unknown>][] = [
    ["host", rules.hostRule(o.host)], ["port", rules.wholeNumberRule(o.port, "port", rules.PORT)],
    ["serial", rules.wholeNumberRule(o.serial, "serial", rules.INVERTER_SERIAL)],
    // The client takes any sane number (tests use 25 ms); the nodes keep to the documented ranges.
    ["timeout", rules.wholeNumberRule(o.timeoutMs, "timeout", { min: 1, max: 3_600_000 })],
    ["retries", rules.wholeNumberRule(o.retries, "retries", { min: 0, max: 1000 })],
  ];
  for (const [field, r] of checks) {
    if (!r.ok || (field === "host" && typeof o.host !== "string")) {
      const err = new SmaError("EINVAL", `${field}: ${r.ok ? "not text" : r.reason}`);
      err.field = field;
      return err;
    }
  }
  // Every inverter refuses an empty password: say so instead of logging in and reporting "wrong password".
  if (o.password === "") {
    const err = new SmaError("EINVAL", "no password set");
    err.field = "password";
    err.missing = true;
    return err;
  }
  const problem = passwordProblem(o.password);
  if (problem) {
    const err = new SmaError("EINVAL", problem);
    err.field = "password";
    return err;
  }
  return undefined;
}

/** Why a range cannot be asked (EINVAL), or undefined. */
function rangeProblem(kind: keyof typeof ARCHIVE_LIMITS, r: TimeRange): SmaError | undefined {
  const whole = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff;
  if (!whole(r.from) || !whole(r.to) || r.from > r.to) return new SmaError("EINVAL", `time range ${r.from}..${r.to} is not valid`);
  const max = ARCHIVE_LIMITS[kind].maxDays;
  if (r.to - r.from > max * DAY_S) return new SmaError("EINVAL", `time range longer than ${max} days`);
  return undefined;
}

function closedError(): SmaError {
  return new SmaError("ECLOSED", "inverter connection closed");
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
