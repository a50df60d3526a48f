/**
 * One inverter: login, a queue with one request in flight, retries, re-login, back-off after a wrong
 * password, "asleep" after it stops answering, and logoff on close.
 */
import { EventEmitter } from "node:events";
import * as dns from "node:dns/promises";
import * as net from "node:net";
import {
  ANY_DEVICE, ARCHIVE_COMMANDS, Command, DAY_S, EVENT_COMMANDS, ErrorCode, NO_SUCH_VALUES, QUERIES, SPEEDWIRE_PORT, answerCode,
  archiveRequestRange, buildArchiveRequest, buildLogin, buildLogoff, buildQuery, decodeEventRecords, decodeYieldRecords,
  passwordProblem, readingsOf, valuesOf,
  type Address, type ArchiveKind, type DataRecord, type EventGroup, type EventRecord, type InverterAnswer, type QueryName,
  type Reading, type ReadingValue, type TimeRange, type UserGroupName, type YieldRecord,
} from "../protocol";
import { SmaError } from "./errors";
import { Backoff } from "./backoff";
import { discover, type DiscoverOptions } from "./discovery";
import type { Transport } from "./transport";

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
  /** Log in again before a read when the last answer is older than this (the session asked for is 900 s). */
  sessionIdleMs?: number;
  /**
   * How the device is found by its serial when the host is empty or stops answering (targets default to
   * the SMA multicast group on every interface; tests point them at loopback).
   */
  discovery?: Pick<DiscoverOptions, "targets" | "devicePort" | "timeoutMs">;
  /** First wait after a search that did not find the serial; doubles up to discoveryBackoffMaxMs. */
  discoveryBackoffMs?: number;
  discoveryBackoffMaxMs?: number;
}

export type InverterState =
  | "idle" | "searching" | "connecting" | "reading" | "ok" | "asleep" | "auth" | "error" | "closed";

export interface ReadResult {
  values: Record<string, ReadingValue>;
  readings: Reading[];
  device: Address;
  /** Newest record time of the device, ms since epoch (now when the device sent no record). */
  timestamp: number;
  /** Queries the device answered with "no such values" (remembered until close). */
  unsupported: QueryName[];
  /** The device has none of the values asked for (every query unsupported): not an error, but worth showing. */
  nothingSupported: boolean;
}

/** What an archive read asked and what the device sent (Unix seconds). */
export interface ArchiveReadResult<R> {
  /** The range asked of the device (day and month data: one slot before the first wanted, as the baseline). */
  asked: TimeRange;
  /** Oldest and newest record time the device sent, or null when it holds nothing in the range. */
  held: TimeRange | null;
  /** Oldest first, one per time. */
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
  port: SPEEDWIRE_PORT, timeoutMs: 1500, retries: 2, authBackoffMs: 60_000, authBackoffMaxMs: 900_000,
  sessionIdleMs: 600_000, discoveryBackoffMs: 30_000, discoveryBackoffMaxMs: 600_000,
} as const;

export class InverterSession extends EventEmitter {
  readonly options: Required<Omit<InverterOptions, "serial" | "discovery">> & Pick<InverterOptions, "serial" | "discovery">;
  private _state: InverterState = "idle";
  private addressInUse?: string;
  private device?: Address;
  private loggedIn = false;
  /** 0 until the device first answers. */
  private lastAnswerAt = 0;
  /**
   * The last read ended with no answer (asleep at night, switched off, wrong address): the next reads try once
   * without retries, say nothing new (quiet errors), and keep the status until the device answers again.
   */
  private silent = false;
  /** Reads that ended with no answer; reads queued before the last of them end at once, quietly. */
  private silentReads = 0;
  private readonly invalid?: SmaError;
  private readonly auth: Backoff;
  private readonly search: Backoff;
  private readonly unsupported = new Set<QueryName>();
  private foundAt?: string;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly aborts = new Set<(e: SmaError) => void>();
  /** Counted for tests and benchmarks. */
  readonly stats = { reads: 0, requests: 0, logins: 0, timeouts: 0 };

  constructor(private readonly transport: Transport, options: InverterOptions) {
    super();
    // One listener per query node using this inverter: many nodes are normal, not a leak.
    this.setMaxListeners(0);
    this.options = { ...DEFAULTS, group: "user", ...stripUndefined(options) };
    this.auth = new Backoff(this.options.authBackoffMs, this.options.authBackoffMaxMs);
    this.search = new Backoff(this.options.discoveryBackoffMs, this.options.discoveryBackoffMaxMs);
    const problem = passwordProblem(this.options.password);
    if (problem) this.invalid = new SmaError("EINVAL", problem);
    // Every inverter refuses an empty password: say so instead of logging in and reporting "wrong password".
    if (this.options.password === "") {
      this.invalid = new SmaError("EINVAL", "no password set");
      this.invalid.missing = "password";
    }
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

  /** Reads the given queries in one queued job; resolves with every value, or rejects with an SmaError. */
  read(queries: readonly QueryName[]): Promise<ReadResult> {
    return this.enqueue(() => this.queryAll(queries));
  }

  /**
   * Reads the day archive (5-minute counters) or the month archive (daily counters) for records stamped in
   * wanted.from..wanted.to (Unix seconds), in one queued job of requests a day (day data) or a month long.
   */
  readArchive(kind: ArchiveKind, wanted: TimeRange): Promise<ArchiveReadResult<YieldRecord>> {
    const problem = rangeProblem(kind, wanted);
    if (problem) return Promise.reject(problem);
    return this.enqueue(async () => {
      const asked = archiveRequestRange(kind, wanted);
      const records = (await this.archiveChunks(ARCHIVE_COMMANDS[kind], asked, ARCHIVE_LIMITS[kind].chunkS)).flatMap(decodeYieldRecords);
      return this.archiveResult(asked, records, (r) => String(r.time));
    });
  }

  /** Reads the event log of the user or installer group for wanted.from..wanted.to (Unix seconds). */
  readEvents(group: EventGroup, wanted: TimeRange): Promise<ArchiveReadResult<EventRecord>> {
    const problem = rangeProblem("events", wanted);
    if (problem) return Promise.reject(problem);
    return this.enqueue(async () => {
      const asked = wanted;
      const records = (await this.archiveChunks(EVENT_COMMANDS[group], asked, ARCHIVE_LIMITS.events.chunkS)).flatMap(decodeEventRecords);
      return this.archiveResult(asked, records, (r) => `${r.time}/${r.entryId}`);
    });
  }

  /** One queued job: host, login and state as for every read; `work` runs logged in. */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const queuedAfter = this.silentReads;
    const job = this.tail.then(() => this.runRead(work, queuedAfter));
    this.tail = job.catch(() => undefined);
    return job;
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
    const wasSilent = this.silent;
    // Reads that queued up behind a read that found the device asleep end at once, so that polls faster than
    // the timeout do not pile up all night; a read asked for after that one probes the device again.
    if (wasSilent && queuedAfter < this.silentReads) {
      const err = new SmaError("ETIMEDOUT", `still no answer from ${this.options.host || this.addressInUse}:${this.options.port}`);
      err.quiet = true;
      throw err;
    }
    this.stats.reads++;
    try {
      try {
        return await this.readOnce(work);
      } catch (e) {
        // The host stopped answering: the device may have a new address (DHCP). Look for its serial.
        if (!(e instanceof SmaError && e.code === "ETIMEDOUT" && (await this.relocate()))) throw e;
        return await this.readOnce(work);
      }
    } catch (e) {
      const err = e instanceof SmaError ? e : new SmaError("EPROTOCOL", String(e));
      if (err.code === "ETIMEDOUT") {
        err.quiet = wasSilent;
        this.loggedIn = false;
        this.silent = true;
        this.silentReads++;
        this.setState(this.lastAnswerAt > 0 ? "asleep" : "error", err);
      } else if (err.code === "EAUTH") {
        this.setState("auth", err);
      } else if (err.code !== "ECLOSED") {
        this.setState("error", err);
      }
      throw err;
    }
  }

  private async readOnce<T>(work: () => Promise<T>): Promise<T> {
    await this.resolveHost();
    if (!this.loggedIn || Date.now() - this.lastAnswerAt > this.options.sessionIdleMs) {
      if (!this.silent) this.setState("connecting");
      await this.login();
    }
    if (!this.silent) this.setState("reading");
    const result = await work();
    this.setState("ok");
    return result;
  }

  private async queryAll(queries: readonly QueryName[]): Promise<ReadResult> {
    const records: DataRecord[] = [];
    const unsupported: QueryName[] = [];
    for (const name of queries) {
      if (this.unsupported.has(name)) {
        unsupported.push(name);
        continue;
      }
      let answer = await this.query(name);
      if (answer.errorCode === ErrorCode.NOT_LOGGED_IN) {
        this.loggedIn = false;
        await this.login();
        answer = await this.query(name);
      }
      if (NO_SUCH_VALUES.has(answer.errorCode)) {
        this.unsupported.add(name);
        unsupported.push(name);
        continue;
      }
      if (answer.errorCode !== 0) {
        throw new SmaError("EPROTOCOL", `inverter answered ${QUERIES[name].title} with error ${answer.errorCode}`, answer.errorCode);
      }
      records.push(...answer.records);
    }
    const readings = readingsOf(records);
    const newest = readings.reduce((t, r) => Math.max(t, r.timestamp), 0);
    return {
      values: valuesOf(readings), readings, unsupported,
      nothingSupported: queries.length > 0 && queries.every((q) => unsupported.includes(q)),
      device: this.device ?? { susyId: 0, serial: this.options.serial ?? 0 },
      timestamp: newest > 0 ? newest : Date.now(),
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
  private async archiveChunks(command: number, range: TimeRange, chunkS: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let from = range.from; from <= range.to; from += chunkS) {
      const chunk = { from, to: Math.min(range.to, from + chunkS - 1) };
      let answer = await this.archiveChunk(command, chunk);
      if (answer.errorCode === ErrorCode.NOT_LOGGED_IN || answer.errorCode === ErrorCode.REFUSED) {
        this.loggedIn = false;
        await this.login();
        answer = await this.archiveChunk(command, chunk);
      }
      if (answer.errorCode === ErrorCode.NOT_SUPPORTED) continue;
      const what = `archive 0x${command.toString(16)}`;
      if (NO_SUCH_VALUES.has(answer.errorCode)) {
        throw new SmaError("ENOTSUPPORTED", `the device has no ${what} (error ${answer.errorCode})`, answer.errorCode);
      }
      if (answer.errorCode !== 0) throw new SmaError("EPROTOCOL", `inverter answered ${what} with error ${answer.errorCode}`, answer.errorCode);
      out.push(...answer.payloads);
    }
    return out;
  }

  /** One request, asked again (up to `retries` times) while the answer lacks fragments; never a partial answer. */
  private async archiveChunk(command: number, range: TimeRange): Promise<{ errorCode: number; payloads: Buffer[] }> {
    for (let attempt = 0; ; attempt++) {
      const a = await this.exchange(command, (packetId) => buildArchiveRequest({
        source: this.transport.identity, destination: this.destination(), packetId, command, range,
      }));
      if (a.errorCode !== 0 || complete(a.answers)) return { errorCode: a.errorCode, payloads: a.answers.map((x) => x.payload) };
      if (attempt >= this.options.retries) {
        throw new SmaError("EPROTOCOL", `archive answer incomplete after ${attempt + 1} attempt(s): datagrams missing`);
      }
    }
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

  private async login(): Promise<void> {
    this.stats.logins++;
    const { group, password } = this.options;
    let answer: { errorCode: number; source?: Address };
    try {
      answer = await this.exchange(Command.LOGIN, (packetId) => buildLogin({
        source: this.transport.identity, destination: this.destination(), packetId, group, password,
        time: Math.floor(Date.now() / 1000),
      }));
    } catch (e) {
      if (e instanceof SmaError && e.code === "ETIMEDOUT" && this.lastAnswerAt === 0) {
        throw new SmaError("ETIMEDOUT", `no answer from ${this.options.host}:${this.options.port} to login `
          + "(asleep, wrong address, or a device that does not speak plain Speedwire such as ennexOS / Speedwire encryption)");
      }
      throw e;
    }
    if (answer.errorCode === ErrorCode.WRONG_PASSWORD) {
      throw this.auth.fail(new SmaError("EAUTH", `login as ${group} refused: wrong password`, answer.errorCode));
    }
    if (answer.errorCode !== 0) {
      throw new SmaError("EPROTOCOL", `login answered with error ${answer.errorCode}`, answer.errorCode);
    }
    this.auth.reset();
    this.loggedIn = true;
  }

  /** Sends a request and waits for its whole answer (all fragments), resending on timeout. */
  private exchange(command: number, build: (packetId: number) => Buffer):
    Promise<{ errorCode: number; records: DataRecord[]; source: Address; answers: InverterAnswer[] }> {
    if (this._state === "closed") return Promise.reject(closedError());
    const address = this.addressInUse as string;
    const { port, timeoutMs } = this.options;
    const retries = this.silent ? 0 : this.options.retries;
    const packetId = this.transport.nextPacketId();
    const datagram = build(packetId);
    this.stats.requests++;
    return new Promise((resolve, reject) => {
      // Keyed by fragment number (counting down to 0): a fragment that arrives again after a resend replaces itself.
      const fragments = new Map<number, InverterAnswer>();
      let attempt = 0;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: SmaError | undefined, answer?: InverterAnswer): void => {
        clearTimeout(timer);
        this.transport.forget(packetId);
        this.aborts.delete(abort);
        if (err) reject(err);
        else if (answer) {
          const answers = [...fragments].sort(([a], [b]) => b - a).map(([, a]) => a);
          resolve({ errorCode: answer.header.errorCode, records: answers.flatMap((a) => a.records), source: answer.header.source, answers });
        }
      };
      const abort = (e: SmaError): void => finish(e);
      this.aborts.add(abort);
      const send = (): void => {
        clearTimeout(timer);
        timer = setTimeout(onTimeout, timeoutMs);
        this.transport.send(datagram, address, port).catch((e: NodeJS.ErrnoException) =>
          finish(new SmaError("EUNREACHABLE", `cannot send to ${address}:${port}: ${e.code ?? e.message}`)));
      };
      const onTimeout = (): void => {
        this.stats.timeouts++;
        if (attempt++ < retries) send();
        else finish(new SmaError("ETIMEDOUT", `no answer from ${this.options.host}:${port} after ${attempt} attempt(s) of ${timeoutMs} ms`));
      };
      this.transport.expect({
        packetId, address, port, answerCommand: answerCode(command), serial: this.device?.serial ?? this.options.serial,
        onAnswer: (answer) => {
          this.lastAnswerAt = Date.now();
          this.silent = false;
          this.device = answer.header.source;
          fragments.set(answer.header.fragment, answer);
          if (answer.header.fragment === 0) finish(undefined, answer);
          else timer = (clearTimeout(timer), setTimeout(onTimeout, timeoutMs));
        },
      });
      send();
    });
  }

  private async resolveHost(): Promise<void> {
    if (this.addressInUse) return;
    const host = this.options.host;
    if (host === "") {
      if (this.options.serial === undefined) throw new SmaError("EINVAL", "neither a host nor a serial number is set");
      const address = await this.locate();
      if (!address) throw this.search.error ?? new SmaError("ENOTFOUND", `no SMA device with serial number ${this.options.serial} answered the search`);
      return;
    }
    if (net.isIPv4(host)) {
      this.addressInUse = host;
      return;
    }
    try {
      this.addressInUse = (await dns.lookup(host, { family: 4 })).address;
    } catch (e) {
      throw new SmaError("EUNREACHABLE", `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  }

  /** After a timeout: true when the serial was found at another address (the caller reads again there). */
  private async relocate(): Promise<boolean> {
    if (this.options.serial === undefined) return false;
    const before = this.addressInUse;
    const address = await this.locate();
    return address !== undefined && address !== before;
  }

  /**
   * Searches for the configured serial (at most once per back-off window; a failed search doubles the
   * window) and switches to the address it answers from. Resolves with that address, or undefined.
   */
  private async locate(): Promise<string | undefined> {
    const serial = this.options.serial as number;
    const refused = this.search.blocking();
    if (refused) {
      refused.quiet = true;
      return undefined;
    }
    this.setState("searching");
    const devices = await discover({
      ...this.options.discovery, identity: this.transport.identity, stopWhen: (d) => d.serial === serial,
    }).catch(() => []);
    if (this._state === "closed") throw closedError();
    const device = devices.find((d) => d.serial === serial);
    if (!device) {
      this.search.fail(new SmaError("ENOTFOUND", `no SMA device with serial number ${serial} answered the search`));
      return undefined;
    }
    this.search.reset();
    if (device.address !== this.addressInUse) {
      const previous = this.addressInUse;
      this.addressInUse = device.address;
      this.foundAt = device.address;
      this.loggedIn = false;
      this.emit("found", device.address, previous);
    }
    return device.address;
  }

  /** Logs off (no answer is expected) and ends every waiting read with ECLOSED. Bounded in time. */
  async close(timeoutMs = 500): Promise<void> {
    if (this._state === "closed") return;
    const wasLoggedIn = this.loggedIn && this.addressInUse;
    this.setState("closed");
    for (const abort of [...this.aborts]) abort(closedError());
    if (!wasLoggedIn) return;
    this.loggedIn = false;
    const logoff = buildLogoff({ source: this.transport.identity, destination: this.destination(), packetId: this.transport.nextPacketId() });
    await Promise.race([
      this.transport.send(logoff, this.addressInUse as string, this.options.port).catch(() => undefined),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }
}

/**
 * Every datagram of an answer arrived: fragment numbers n..0 without a gap, and the one numbered n is the first the
 * device sent (on devices that mark only the first datagram with the 0x8000 packet-id bit, a lost first one shows).
 */
function complete(answers: readonly InverterAnswer[]): boolean {
  const n = answers.length - 1;
  return answers.every((a, i) => a.header.fragment === n - i) && answers[0].header.packetIdFlag;
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
