/**
 * One inverter: reads queued one request at a time, each logged in, with the state events the nodes show.
 *
 *   read() ─▶ queue (queue.ts) ─▶ runRead: refused early? (closed, bad options, login back-off, outage)
 *           ─▶ readOnce: where (locator.ts) ─▶ login when due (login.ts) ─▶ the queries (live-read.ts, or
 *              archive-read.ts; each request: exchange.ts: send, resend, fragments; "not logged in": login.ts)
 *           ─▶ no answer: another address of the host name, or the serial found elsewhere (locator.ts), else the error
 *
 * Beside it: login.ts (login, re-login, EAUTH / EREFUSED / EENCRYPTED / EOTHERDEVICE), liveness.ts (logged in /
 * outage / silent), live-read.ts (the queries' answer codes and the result), archive-read.ts (archive chunks and
 * their dates), settings-rules.ts (the options' check), session-options.ts (options, defaults, results), trace.ts,
 * device-clock.ts.
 */
import { EventEmitter } from "node:events";
import {
  ANY_DEVICE,
  QUERIES,
  buildArchiveRequest,
  buildQuery,
  type Address,
  type ArchiveKind,
  type DataRecord,
  type EventGroup,
  type EventRecord,
  type QueryName,
  type TimeRange,
  type YieldRecord,
} from "../protocol";
import { SmaError } from "./errors";
import {
  archiveChunks,
  archiveOptionsProblem,
  eventLog,
  rangeProblem,
  yieldArchive,
  type ArchiveFetch,
  type ArchiveMemo,
  type ArchiveReadOptions,
  type ArchiveReadResult,
  type ChunkAnswer,
} from "./archive-read";
import { sessionOptionsProblem } from "./settings-rules";
import { Backoff } from "./backoff";
import { exchange, type ExchangeAnswer } from "./exchange";
import { Link, type LinkFigures } from "./link";
import { Liveness } from "./liveness";
import { askQueries, readResult } from "./live-read";
import { Login, type Job } from "./login";
import { Locator } from "./locator";
import { sharedNames } from "./names";
import { FairQueue, busyError, type Lane, type Turn } from "./queue";
import type { PushedDatagram, Transport } from "./transport";
import { TraceRing, type SessionTrace } from "./trace";
import { DeviceClock, type DeviceClockReading } from "./device-clock";
import {
  DEFAULTS,
  MAX_PENDING_ARCHIVES,
  MAX_PENDING_READS,
  SILENT_ATTEMPTS,
  type InverterOptions,
  type InverterState,
  type ReadResult,
  type ResolvedInverterOptions,
} from "./session-options";

export * from "./session-options";

export class InverterSession extends EventEmitter {
  readonly options: ResolvedInverterOptions;
  private _state: InverterState = "idle";
  private device?: Address;
  /** What archive reads found out about the device (which midnight it stamps daily totals at). */
  private readonly archiveMemo: ArchiveMemo = {};
  /** Logged in, outage, silent; when the device last answered. */
  private readonly live = new Liveness();
  private readonly link: Link;
  private readonly where: Locator;
  private readonly invalid?: SmaError;
  private readonly auth: Backoff;
  private readonly login: Login;
  /** Queries the device has no values for, with the code it answered (0x0014 unknown, 0x0015 / 0x0017 no values). */
  private readonly unsupported = new Map<QueryName, number>();
  private readonly createdAt = Date.now();
  /** The code of the last read's failure when it was one that repeats until the setup changes (reported once). */
  private lastProblem?: string;
  /** Live reads and archive reads, taking turns (identical reads share one job). */
  private readonly queue = new FairQueue({ live: MAX_PENDING_READS, archive: MAX_PENDING_ARCHIVES });
  /** Set by a read that looked its host name up: its first request's deadline counts from then. */
  private readStartedAt?: number;
  private readonly aborts = new Set<(e: SmaError) => void>();
  /** Counted for tests and benchmarks. */
  readonly stats = { reads: 0, requests: 0, logins: 0, timeouts: 0 };
  /** The last datagrams to and from the device (password bytes replaced), for trace(). */
  private readonly ring = new TraceRing();
  private readonly clock = new DeviceClock();
  private readonly onPush = (p: PushedDatagram): void => {
    if (
      this.clock.accept(p, {
        address: this.where.address,
        port: this.options.port,
        serial: this.device?.serial ?? this.options.serial,
      })
    ) {
      this.ring.record("in", p.raw, p.address, p.port);
      this.emit("deviceTime", this.clock.latest);
    }
  };

  constructor(
    private readonly transport: Transport,
    options: InverterOptions,
  ) {
    super();
    // One listener per query node using this inverter: many nodes are normal, not a leak.
    this.setMaxListeners(0);
    const { names, ...rest } = options;
    this.options = { ...DEFAULTS, group: "user", ...stripUndefined(rest) };
    this.auth = new Backoff(this.options.authBackoffMs, this.options.authBackoffMaxMs);
    this.link = new Link(this.options.timeoutMs, { attempts: SILENT_ATTEMPTS, ms: this.options.silentAfterMs });
    this.where = new Locator(this.options, names ?? sharedNames, {
      identity: transport.identity,
      isClosed: () => this._state === "closed",
      searching: () => this.setState("searching"),
      moved: (event, address, previous) => {
        this.live.dropSession();
        this.emit(event, address, previous);
      },
    });
    this.login = new Login({
      options: this.options,
      auth: this.auth,
      live: this.live,
      where: this.where,
      transport,
      aborts: this.aborts,
      createdAt: this.createdAt,
      stats: this.stats,
      isClosed: () => this._state === "closed",
      exchange: (command, build) => this.exchange(command, build),
      destination: () => this.destination(),
      startsAt: (at) => void (this.readStartedAt = at),
      record: (direction, raw, address, port) => this.ring.record(direction, raw, address, port),
    });
    const problem = sessionOptionsProblem(this.options);
    if (problem) this.invalid = SmaError.invalid(problem.field, problem.message, problem.missing);
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
    const { host, port, serial, group } = this.options;
    const [address, identity] = [this.where.address ?? null, this.device ? { ...this.device } : null];
    return this.ring.trace({ host, port, serial: serial ?? null, group, address, identity }, info.nodeRed);
  }

  get state(): InverterState {
    return this._state;
  }

  /** The IPv4 address requests go to (undefined before the first read resolves it). */
  get address(): string | undefined {
    return this.where.address;
  }

  /** The address the device was found at by its serial (empty host, or the host stopped answering). */
  get foundAddress(): string | undefined {
    return this.where.foundAddress;
  }

  /** A host name now used at another address than the one it was first read at (status and log show it). */
  get nameMoved(): boolean {
    return this.where.nameMoved;
  }

  /** The device's SUSyID and serial once it has answered. */
  get identity(): Address | undefined {
    return this.device;
  }

  /** Round-trip time, share of requests resent and last answer time of this inverter's link. */
  get linkFigures(): LinkFigures {
    return this.link.figures();
  }

  /** True while the link loses enough that requests are often resent (status hint). */
  get poorLink(): boolean {
    return this.link.poor;
  }

  /** Distinct reads queued or under way, live and archive (at most MAX_PENDING_READS + MAX_PENDING_ARCHIVES). */
  get pendingReads(): number {
    return this.queue.size();
  }

  /** Turns the queue gave (live reads, archive requests) and times an archive read let live reads go first. */
  get queueStats(): { live: number; archive: number; passes: number } {
    return { ...this.queue.stats };
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
  readArchive(
    kind: ArchiveKind,
    wanted: TimeRange,
    options: ArchiveReadOptions = {},
  ): Promise<ArchiveReadResult<YieldRecord>> {
    const problem = rangeProblem(kind, wanted) ?? archiveOptionsProblem(options);
    if (problem) return Promise.reject(problem);
    return this.enqueue("archive", (turn) =>
      yieldArchive(this.fetch(turn), kind, wanted, options, this.archiveMemo, () => this.reportedDevice()),
    );
  }

  /** Reads the event log of the user or installer group for wanted.from..wanted.to (Unix seconds). */
  readEvents(group: EventGroup, wanted: TimeRange): Promise<ArchiveReadResult<EventRecord>> {
    const problem = rangeProblem("events", wanted);
    if (problem) return Promise.reject(problem);
    return this.enqueue("archive", (turn) => eventLog(this.fetch(turn), group, wanted, () => this.reportedDevice()));
  }

  /**
   * One queued job: host, login and state as for every read; `work` runs logged in. A job with the `key` of one
   * still pending in its lane shares it; beyond MAX_PENDING_READS live (MAX_PENDING_ARCHIVES archive) pending jobs
   * a new one ends at once with EBUSY. Archive jobs let waiting live reads go between two requests (turn.pass()).
   */
  private enqueue<T>(lane: Lane, work: (turn: Turn) => Promise<T>, key: string | symbol = Symbol("job")): Promise<T> {
    const queuedAfter = this.live.timedOutReads;
    return this.queue.run(
      lane,
      key,
      (turn) => this.runRead(() => work(turn), queuedAfter),
      (l, n) => busyError(l, n, this.options.host || this.where.address),
    );
  }

  /** Why a read ends before it starts: closed, bad options, the login back-off, or an outage it queued behind. */
  private refusal(queuedAfter: number): SmaError | undefined {
    if (this._state === "closed") return SmaError.closed();
    if (this.invalid) return this.invalid;
    const paused = this.login.paused();
    if (paused) return paused;
    // Reads that queued up behind a read that got no answer end at once, so that polls faster than the timeout
    // do not pile up (all night); a read asked for after that one tries the device again.
    if (this.live.outage && queuedAfter < this.live.timedOutReads) {
      return new SmaError("ETIMEDOUT", `still no answer from ${this.where.where()}`, { quiet: true });
    }
    return undefined;
  }

  private async runRead<T>(work: () => Promise<T>, queuedAfter: number): Promise<T> {
    const refused = this.refusal(queuedAfter);
    if (refused) throw refused;
    const inOutage = this.live.outage;
    this.stats.reads++;
    try {
      const tried = new Set<string>();
      for (;;) {
        try {
          return await this.readOnce(work);
        } catch (e) {
          if (!(e instanceof SmaError && e.code === "ETIMEDOUT")) throw e;
          // A host name's next address (DHCP moved it), or the serial found elsewhere: try there.
          const elsewhere = await this.where.another(tried);
          if (elsewhere === "name") continue;
          if (elsewhere === "serial") return await this.readOnce(work);
          throw e;
        }
      }
    } catch (e) {
      throw this.failed(SmaError.from(e), inOutage);
    }
  }

  /** A read failed: the state and the liveness say so; repeats of a known failure are quiet. */
  private failed(err: SmaError, inOutage: boolean): SmaError {
    if (err.code === "ETIMEDOUT") {
      err.quiet = inOutage;
      this.live.readTimedOut(this.link.silent(Date.now()));
      this.setState(this.live.silent && this.live.lastAnswerAt > 0 ? "asleep" : "error", err);
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
    return err;
  }

  private async readOnce<T>(work: () => Promise<T>): Promise<T> {
    this.readStartedAt = this.where.byName ? Date.now() : undefined;
    await this.where.resolve();
    if (this.live.needsLogin(Date.now(), this.options.sessionIdleMs)) {
      if (!this.live.outage) this.setState("connecting");
      await this.login.run();
    }
    if (!this.live.outage) this.setState("reading");
    const result = await work();
    // Reset on a read, not a login: a device that takes the login but keeps no session backs off further each time.
    this.auth.reset();
    this.lastProblem = undefined;
    this.setState("ok");
    return result;
  }

  private async queryAll(queries: readonly QueryName[]): Promise<ReadResult> {
    const job: Job = { relogged: false };
    const { readings, none } = await askQueries(
      queries,
      (name) => this.login.ask(job, () => this.query(name)),
      this.unsupported,
    );
    return readResult(queries, readings, none, this.reportedDevice(), this.clock.latest ?? null);
  }

  private query(name: QueryName): Promise<{ errorCode: number; records: DataRecord[] }> {
    const query = QUERIES[name];
    return this.exchange(query.command, (packetId) =>
      buildQuery({ source: this.transport.identity, destination: this.destination(), packetId, query }),
    );
  }

  /** Archive commands over a range in chunks (archive-read.ts), one job each; live reads waiting go between chunks. */
  private fetch(turn: Turn): ArchiveFetch {
    const between = async (): Promise<void> => {
      await turn.pass();
      if (this._state === "closed") throw SmaError.closed();
      // A live read in between may have lost the session (device silent, then back): log in again first.
      if (!this.live.loggedIn) await this.login.run();
    };
    return (command, range, chunkS) => {
      const job: Job = { relogged: false };
      const ask = (cmd: number, chunk: TimeRange): Promise<ChunkAnswer> =>
        this.login.ask(job, () => this.archiveRequest(cmd, chunk));
      return archiveChunks(ask, between, command, range, chunkS);
    };
  }

  private async archiveRequest(command: number, range: TimeRange): Promise<ChunkAnswer> {
    const a = await this.exchange(command, (packetId) =>
      buildArchiveRequest({
        source: this.transport.identity,
        destination: this.destination(),
        packetId,
        command,
        range,
      }),
    );
    return { errorCode: a.errorCode, payloads: a.answers.map((x) => x.payload) };
  }

  /** The device as a result names it: as it answered, else the configured serial. */
  private reportedDevice(): Address {
    return this.device ?? { susyId: 0, serial: this.options.serial ?? 0 };
  }

  private destination(): Address {
    return (
      this.device ??
      (this.options.serial !== undefined ? { susyId: ANY_DEVICE.susyId, serial: this.options.serial } : ANY_DEVICE)
    );
  }

  /** One request to the address in use (exchange.ts), with this session's link, trace and liveness. */
  private exchange(command: number, build: (packetId: number) => Buffer): Promise<ExchangeAnswer> {
    if (this._state === "closed") return Promise.reject(SmaError.closed());
    const { port, timeoutMs, retries } = this.options;
    // The first request of a read that looked its host name up: the lookup's time counts against its deadline.
    const startedAt = this.readStartedAt;
    this.readStartedAt = undefined;
    return exchange(
      this.transport,
      this.link,
      {
        command,
        build,
        address: this.where.address as string,
        port,
        serial: this.device?.serial ?? this.options.serial,
        timeoutMs,
        retries,
        probe: this.live.silent,
        startedAt,
        where: this.where.where(),
      },
      {
        record: (direction, raw, address, p) => this.ring.record(direction, raw, address, p),
        answered: (now, source) => {
          this.live.answered(now);
          this.device = source;
        },
        stats: this.stats,
        aborts: this.aborts,
      },
    );
  }

  /** Logs off (no answer is expected) and ends every waiting read with ECLOSED. Bounded in time. */
  async close(timeoutMs = 500): Promise<void> {
    if (this._state === "closed") return;
    const address = this.live.loggedIn ? this.where.address : undefined;
    this.setState("closed");
    this.transport.off("push", this.onPush);
    for (const abort of [...this.aborts]) abort(SmaError.closed());
    if (address) await this.login.logoff(address, timeoutMs);
  }
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
