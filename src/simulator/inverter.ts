/**
 * A simulated SMA inverter on a UDP socket: sessions, the value table's queries, error answers, fragments, loss
 * and latency. It speaks only through src/protocol. Every datagram is untrusted: bad ones are counted, never thrown.
 */
import * as dgram from "node:dgram";
import { EventEmitter } from "node:events";
import * as os from "node:os";
import {
  ANY_SERIAL,
  ANY_SUSY_ID,
  ARCHIVE_COMMANDS,
  Command,
  EVENT_COMMANDS,
  ErrorCode,
  LOGIN_TIMEOUT_S,
  MULTICAST_GROUP,
  decodeLoginRequest,
  KeyExchangeType,
  QUERIES,
  QUERY_NAMES,
  UserGroup,
  buildDiscoveryAnswer,
  decodeInverterDatagram,
  decodeRecord,
  encodePassword,
  findQuery,
  isAnswerCode,
  isArchiveCommand,
  isDiscoveryRequest,
  isTimeZone,
  passwordProblem,
  readingsOf,
  sameFamily,
  valuesOf,
  type Address,
  type ArchiveKind,
  type EventGroup,
  type Net2Header,
  type QueryName,
  type ReadingValue,
  type UserGroupName,
  type ValueDef,
} from "../protocol";
import { buildDataAnswer, buildErrorAnswer, buildKeyExchange, buildLoginAnswer } from "./answer-builders";
import { buildDeviceTime } from "./clock";
import { PartnerTable, buildPartnerRequest } from "./partners";
import {
  archiveRecords,
  buildArchiveAnswer,
  defaultEvents,
  eventRecords,
  type ArchiveOptions,
  type SimEvent,
} from "./archive";
import {
  bindDeviceSocket,
  buildFragmentedAnswer,
  buildIdentifyRecord,
  buildRecords,
  rowsForRequest,
} from "./sim-support";
import type { SimValue } from "./answer-builders";
import {
  BATTERY_CLASS,
  BATTERY_SLOTS,
  PROFILES,
  RECORD_INDEX_BASE,
  modelFor,
  nullAtNight,
  profileValues,
  resolveValue,
  type DeviceOptions,
  type ModelConfig,
  type ValueSource,
} from "./profiles";

export interface SimulatedInverterOptions extends DeviceOptions, ArchiveOptions {
  /** Default "127.0.0.1". */ address?: string;
  /** Default 0 (ephemeral). */ port?: number;
  serial?: number;
  susyId?: number;
  /** Default "0000". */ userPassword?: string;
  /** Default "1111". */ installerPassword?: string;
  /** 66-byte login answer without password echo (true) or 78 bytes with it; default per profile. */
  shortLoginAnswer?: boolean;
  /** Overrides by value-table name (dcPower2, deviceStatus, ...): a value or a function of the clock. */
  values?: Record<string, ValueSource>;
  /** Default () => new Date(); also drives session timeouts. */ clock?: () => Date;
  /** Answers nothing at all, not even discovery. */ sleeping?: boolean;
  latencyMs?: number | { min: number; max: number };
  /** Probability 0..1 that a request is lost before the device sees it. */ lossRequests?: number;
  /** Probability 0..1 that each answer datagram is lost. */ lossAnswers?: number;
  /** Seed of the loss and jitter random numbers. */ seed?: number;
  /** Split bigger answers into fragments of this many records. */ maxRecordsPerDatagram?: number;
  /** Idle session lifetime; default the timeout the login asked for (900 s). */ sessionTimeoutS?: number;
  /** Queries refused with 0x0015 (a known object without a value) on top of the profile's own refusals. */ unsupported?: QueryName[];
  /** Queries answered 0x0014: objects this device does not know at all (as ennexOS-style ids are to a Sunny Boy). */
  unknown?: QueryName[];
  /**
   * Refuses every login with 0x0102 ("busy": although the password is right) for this many ms after start(), as a
   * Sunny Boy did for about 70 s; refuseLogins() starts such a spell later.
   */
  refuseLoginsMs?: number;
  /**
   * Speedwire encryption on: answers discovery, but every plain Speedwire request only gets a key exchange
   * (protocol 0x6075, "request keys") back and is otherwise ignored.
   */
  encrypted?: boolean;
  /** Send AC currents as 0x4650..52 (older devices) instead of 0x4653..55 (STP x.0-3AV-40). */ legacyCurrentIds?: boolean;
  /** First record index per query, instead of RECORD_INDEX_BASE. */ recordIndexBase?: Partial<
    Record<QueryName, number>
  >;
  /** Join 239.12.255.254 to hear multicast discovery (bind to 0.0.0.0). */ joinMulticast?: boolean;
  /** The event log (times in Unix seconds); default feed-in starts and stops of the last days. */ events?: SimEvent[];
  /**
   * Every this many ms the device-time record goes to every logged-in client, as real inverters push it (default
   * 60000; 0 = never). pushTime() sends one at once (tests use that rather than waiting).
   */
  timePushMs?: number;
  /**
   * Every this many ms a 0x51800200 request (destination any) goes to every (address, port) in the partner table,
   * as a live Sunny Boy Storage sent it every 30 s: every client that ever logged in, until it logs off (default
   * 30000, or the environment's SPEEDWIRE_SIM_PARTNER_REQUESTS_MS, which test runs use to turn it up; 0 = never).
   * sendPartnerRequests() sends them at once.
   */
  partnerRequestMs?: number;
  /** Partners the device remembers, the oldest dropped (default 64). */
  maxPartners?: number;
  /**
   * Every `every`-th answer (counted over all answers; 1 = each) leaves `delayMs` late instead of after the
   * latency, as one answer in 985 on a live LAN came after 976 ms. delayNextAnswer() delays just the next one.
   */
  lateAnswers?: { every: number; delayMs: number };
  /** Device clock minus the simulator's clock, seconds (default 0); setClockOffset() changes it. */
  clockOffsetS?: number;
  /** Time zone offset the record reports, seconds (default 3600) and daylight saving (default false). */
  timeZoneOffsetS?: number;
  dst?: boolean;
}

export interface InverterStats {
  received: number;
  malformed: number;
  ignored: number;
  logins: number;
  loginFailures: number;
  logoffs: number;
  queries: Record<string, number>;
  notLoggedIn: number;
  refused: number;
  dropped: number;
  answered: number;
  discovery: number;
  identify: number;
  sent: number;
  timePushes: number;
  /** 0x51800200 requests sent to partners (one per partner and round). */ partnerRequests: number;
  /** Answers sent late (lateAnswers, delayNextAnswer()). */ lateAnswers: number;
  /** Logins answered 0x0102 (busy). */ busyLogins: number;
  /** Plain requests answered with a key exchange (encrypted plant). */ keyExchanges: number;
}

export interface RequestEvent {
  kind:
    | "discovery"
    | "identify"
    | "login"
    | "logoff"
    | "query"
    | "malformed"
    | "ignored"
    | "dropped"
    | "asleep"
    | "encrypted";
  from: string;
  command?: number;
  query?: string;
  errorCode?: number;
  /** The request's packet id (login, logoff, query, identify). */
  packetId?: number;
}

interface Session {
  lastSeenMs: number;
  timeoutS: number;
  address: string;
  port: number;
}

/** mulberry32: small, seedable, good enough for loss and jitter. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SimulatedInverter extends EventEmitter {
  /** The options as given; start() reads address and port from here. */
  readonly options: SimulatedInverterOptions;
  readonly stats: InverterStats = {
    received: 0,
    malformed: 0,
    ignored: 0,
    logins: 0,
    loginFailures: 0,
    logoffs: 0,
    queries: {},
    notLoggedIn: 0,
    refused: 0,
    dropped: 0,
    answered: 0,
    discovery: 0,
    identify: 0,
    sent: 0,
    timePushes: 0,
    partnerRequests: 0,
    lateAnswers: 0,
    busyLogins: 0,
    keyExchanges: 0,
  };
  readonly serial: number;
  readonly susyId: number;
  private readonly model: ModelConfig;
  private readonly overrides: Record<string, ValueSource>;
  private readonly refusals: Partial<Record<QueryName, number>>;
  private readonly passwords: Record<UserGroupName, string>;
  private readonly clock: () => Date;
  private readonly random: () => number;
  private readonly sessions = new Map<string, Session>();
  /** Clients whose session was forgotten by forgetSessions(): answered 0x0017 until they log in again. */
  private readonly forgotten = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private socket?: dgram.Socket;
  private sleeping: boolean;
  private downUntil = 0;
  private clockOffsetS: number;
  private timePush?: NodeJS.Timeout;
  private partnerTimer?: NodeJS.Timeout;
  private readonly partnerTable: PartnerTable;
  /** Delays (ms) for the next answers, the first one first (delayNextAnswer()). */
  private readonly lateQueue: number[] = [];
  private answerCount = 0;
  private pushId = 0;
  /** Logins are answered 0x0102 until then (Date.now() ms). */
  private busyUntil = 0;

  constructor(options: SimulatedInverterOptions = {}) {
    super();
    this.options = options;
    const profile = PROFILES[options.profile ?? "pv"] ?? PROFILES.pv;
    this.serial = options.serial ?? profile.serial;
    this.susyId = options.susyId ?? profile.susyId;
    this.passwords = { user: options.userPassword ?? "0000", installer: options.installerPassword ?? "1111" };
    for (const p of Object.values(this.passwords))
      if (passwordProblem(p)) throw new Error(`simulator password: ${passwordProblem(p)}`);
    if (options.timeZone !== undefined && !isTimeZone(options.timeZone))
      throw new Error(`simulator time zone: ${options.timeZone} is unknown`);
    this.model = modelFor(options, profile, this.serial);
    this.refusals = { ...profile.refuses };
    for (const q of options.unsupported ?? []) this.refusals[q] = ErrorCode.NOT_SUPPORTED;
    for (const q of options.unknown ?? []) this.refusals[q] = ErrorCode.UNKNOWN_COMMAND;
    this.overrides = { ...options.values };
    this.clock = options.clock ?? (() => new Date());
    this.random = rng(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.sleeping = !!options.sleeping;
    this.clockOffsetS = options.clockOffsetS ?? 0;
    this.partnerTable = new PartnerTable(options.maxPartners);
  }

  /** The (address, port) pairs the device sends its partner requests to, oldest first. */
  get partners(): { address: string; port: number }[] {
    return this.partnerTable.list();
  }

  get address(): string {
    return this.socket?.address().address ?? this.options.address ?? "127.0.0.1";
  }

  /** The bound port, 0 before start(). */
  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  async start(): Promise<{ address: string; port: number }> {
    if (!this.socket) {
      const multicast = !!this.options.joinMulticast;
      const s = await bindDeviceSocket(
        this.options.address ?? "127.0.0.1",
        this.options.port ?? 0,
        multicast,
        (msg, rinfo) => this.onMessage(msg, rinfo),
        (err) => this.emit("socketError", err),
      );
      if (multicast) {
        try {
          s.addMembership(MULTICAST_GROUP);
        } catch (err) {
          this.emit("socketError", err);
        }
      }
      this.socket = s;
      const every = this.options.timePushMs ?? 60_000;
      if (every > 0) {
        this.timePush = setInterval(() => this.pushTime(), every);
        this.timePush.unref();
      }
      const partnerEvery = this.options.partnerRequestMs ?? envPartnerRequestMs() ?? 30_000;
      if (partnerEvery > 0) {
        this.partnerTimer = setInterval(() => void this.sendPartnerRequests(), partnerEvery);
        this.partnerTimer.unref();
      }
      if (this.options.refuseLoginsMs) this.refuseLogins(this.options.refuseLoginsMs);
    }
    return { address: this.address, port: this.port };
  }

  async stop(): Promise<void> {
    clearInterval(this.timePush);
    this.timePush = undefined;
    clearInterval(this.partnerTimer);
    this.partnerTimer = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /**
   * Sends any bytes from the simulator's own socket (its address and port), as a spoofer on the device's
   * address would: for tests of clients that must tell real answers from forged ones. Rejects before start().
   */
  sendRaw(buf: Buffer, address: string, port: number): Promise<void> {
    const s = this.socket;
    if (!s) return Promise.reject(new Error("simulator not started"));
    return new Promise((resolve, reject) => s.send(buf, port, address, (err) => (err ? reject(err) : resolve())));
  }

  /** Sets how far the device clock is from the simulator's clock (seconds, positive = ahead). */
  setClockOffset(seconds: number): void {
    this.clockOffsetS = seconds;
  }

  /**
   * Sends the device-time record to every logged-in client now (as the periodic push does); resolves with how
   * many it went to once they are sent. Asleep or down: none.
   */
  async pushTime(): Promise<number> {
    const s = this.socket;
    if (!s || this.sleeping || Date.now() < this.downUntil) return 0;
    const now = this.clock().getTime();
    const time = Math.floor(now / 1000) + this.clockOffsetS;
    const targets = [...this.sessions.values()].filter((v) => now - v.lastSeenMs <= v.timeoutS * 1000);
    this.pushId = (this.pushId % 0x7fff) + 1;
    const datagram = buildDeviceTime({
      source: this.me,
      packetId: this.pushId,
      time,
      lastSet: time - 3 * 3600,
      tzOffsetS: this.options.timeZoneOffsetS ?? 3600,
      dst: !!this.options.dst,
      setCounter: 1,
    });
    await Promise.all(
      targets.map(
        (t) =>
          new Promise<void>((resolve) => {
            try {
              s.send(datagram, t.port, t.address, () => resolve());
            } catch {
              resolve();
            }
          }),
      ),
    );
    this.stats.timePushes += targets.length;
    return targets.length;
  }

  /**
   * Sends the partner request (0x51800200, destination any) to every partner now, as the periodic round does;
   * resolves with how many were sent. packetId: the id to send (tests craft one a client is waiting on), by
   * default the device's next own one. Asleep or down: none.
   */
  async sendPartnerRequests(opts: { packetId?: number } = {}): Promise<number> {
    const s = this.socket;
    if (!s || this.sleeping || Date.now() < this.downUntil) return 0;
    const targets = this.partnerTable.list();
    if (targets.length === 0) return 0;
    if (opts.packetId === undefined) this.pushId = (this.pushId % 0x7fff) + 1;
    const datagram = buildPartnerRequest({ source: this.me, packetId: opts.packetId ?? this.pushId });
    let sent = 0;
    await Promise.all(
      targets.map(
        (t) =>
          new Promise<void>((resolve) => {
            try {
              s.send(datagram, t.port, t.address, (err) => {
                // Counted once sent: stop() meanwhile sends nothing.
                if (!err) sent++;
                resolve();
              });
            } catch {
              resolve();
            }
          }),
      ),
    );
    this.stats.partnerRequests += sent;
    return sent;
  }

  /** The next answer (of any request) leaves ms late instead of after the latency; calls add up in order. */
  delayNextAnswer(ms: number): void {
    this.lateQueue.push(ms);
  }

  setNight(night: boolean): void {
    this.model.night = night;
  }

  setSleeping(sleeping: boolean): void {
    this.sleeping = sleeping;
  }

  set(name: string, value: ValueSource): void {
    this.overrides[name] = value;
  }

  /** Answers every login with 0x0102 ("busy", although the password is right) for the next ms milliseconds. */
  refuseLogins(ms: number): void {
    this.busyUntil = Date.now() + ms;
  }

  /** Forgets every session like a reboot; with downMs it answers nothing for that long. */
  restart(opts: { downMs?: number } = {}): void {
    this.sessions.clear();
    this.downUntil = opts.downMs ? Date.now() + opts.downMs : 0;
    this.emit("restart");
  }

  /**
   * Forgets every session without telling the clients, as a Sunny Island was seen to: their queries get 0x0017
   * ("not authenticated") instead of 0xFFFF until they log in again.
   */
  forgetSessions(): void {
    for (const key of this.sessions.keys()) this.forgotten.add(key);
    this.sessions.clear();
  }

  /** What the device would send now, decoded as a client decodes it: table names, null for "no value". */
  currentValues(): Record<string, ReadingValue> {
    const now = this.clock();
    const records: Buffer[] = [];
    for (const name of QUERY_NAMES.filter((n) => !this.refusals[n])) {
      const q = QUERIES[name];
      const rows = rowsForRequest(q.command, q.first, q.last, !!this.options.legacyCurrentIds).filter(
        (d) => !this.refusals[d.query],
      );
      records.push(...this.recordsOf(rows, q.first, q.last, now));
    }
    return valuesOf(readingsOf(records.map((r) => decodeRecord(r))));
  }

  private get me(): Address {
    return { susyId: this.susyId, serial: this.serial };
  }

  private onMessage(msg: Buffer, from: dgram.RemoteInfo): void {
    this.stats.received++;
    const who = `${from.address}:${from.port}`;
    if (this.sleeping || Date.now() < this.downUntil) return void this.emit("request", { kind: "asleep", from: who });
    if (this.chance(this.options.lossRequests)) {
      this.stats.dropped++;
      return void this.emit("request", { kind: "dropped", from: who });
    }
    try {
      this.handle(msg, from, who);
    } catch {
      this.stats.malformed++;
      this.emit("request", { kind: "malformed", from: who });
    }
  }

  private handle(msg: Buffer, from: dgram.RemoteInfo, who: string): void {
    if (isDiscoveryRequest(msg)) {
      this.stats.discovery++;
      this.reply([buildDiscoveryAnswer(this.ownAddress())], from);
      return void this.emit("request", { kind: "discovery", from: who });
    }
    const { header: h, payload } = decodeInverterDatagram(msg);
    if (this.options.encrypted) return this.keyExchange(h, from, who);
    const dst = h.destination;
    const forMe =
      (dst.susyId === ANY_SUSY_ID || dst.susyId === this.susyId) &&
      (dst.serial === ANY_SERIAL || dst.serial === this.serial);
    // Odd answer codes are answers (another device's, or our own echoed back): not requests.
    if (!forMe || isAnswerCode(h.command)) {
      this.stats.ignored++;
      return void this.emit("request", { kind: "ignored", from: who, command: h.command });
    }
    const key = `${who}/${h.source.susyId}/${h.source.serial}`;
    if (h.command === Command.LOGIN) this.login(h, payload, key, from);
    else if (h.command === Command.LOGOFF) {
      this.stats.logoffs++;
      this.sessions.delete(key);
      this.partnerTable.remove(from.address, from.port);
      this.emit("request", { kind: "logoff", from: who, command: h.command, packetId: h.packetId });
    } else if (isArchiveCommand(h.command)) this.archive(h, key, from, who);
    else if (sameFamily(h.command, Command.IDENTIFY)) {
      this.stats.identify++;
      this.reply(
        [
          buildDataAnswer({
            source: this.me,
            destination: h.source,
            packetId: h.packetId,
            command: h.command,
            firstIndex: 0,
            records: [buildIdentifyRecord(this.me)],
          }),
        ],
        from,
      );
      this.emit("request", { kind: "identify", from: who, command: h.command, packetId: h.packetId });
    } else this.query(h, key, from, who);
  }

  /** An encrypted plant: a plain request gets "request keys" back and nothing else. */
  private keyExchange(h: Net2Header, from: dgram.RemoteInfo, who: string): void {
    if (isAnswerCode(h.command)) {
      this.stats.ignored++;
      return void this.emit("request", { kind: "ignored", from: who, command: h.command });
    }
    this.stats.keyExchanges++;
    this.reply(
      [buildKeyExchange({ type: KeyExchangeType.REQUEST_KEYS, source: this.me, destination: h.source })],
      from,
    );
    this.emit("request", { kind: "encrypted", from: who, command: h.command, packetId: h.packetId });
  }

  private login(h: Net2Header, payload: Buffer, key: string, from: dgram.RemoteInfo): void {
    const { time, encodedPassword: echo } = decodeLoginRequest(payload);
    this.stats.logins++;
    // Clients that change port per poll leave sessions behind: drop the lapsed ones.
    const now = this.clock().getTime();
    for (const [k, v] of this.sessions) if (now - v.lastSeenMs > v.timeoutS * 1000) this.sessions.delete(k);
    const group = (Object.keys(UserGroup) as UserGroupName[]).find((g) => UserGroup[g] === h.first);
    const ok = !!group && encodePassword(this.passwords[group], group).equals(echo);
    // Busy (0x0102): refused whatever the password, and no session.
    const busy = Date.now() < this.busyUntil;
    if (busy) {
      this.sessions.delete(key);
      this.stats.busyLogins++;
    } else if (ok) {
      this.forgotten.delete(key);
      this.sessions.set(key, {
        lastSeenMs: now,
        timeoutS: this.options.sessionTimeoutS ?? (h.last || LOGIN_TIMEOUT_S),
        address: from.address,
        port: from.port,
      });
      this.partnerTable.add(from.address, from.port);
    } else this.stats.loginFailures++;
    const errorCode = busy ? ErrorCode.LOGIN_BUSY : ok ? ErrorCode.OK : ErrorCode.WRONG_PASSWORD;
    const short = this.options.shortLoginAnswer ?? this.model.profile.shortLoginAnswer;
    this.reply(
      [
        buildLoginAnswer({
          source: this.me,
          destination: h.source,
          packetId: h.packetId,
          errorCode,
          group: h.first,
          timeoutS: h.last,
          time,
          passwordEcho: short || busy ? undefined : echo,
        }),
      ],
      from,
    );
    this.emit("request", {
      kind: "login",
      from: `${from.address}:${from.port}`,
      command: h.command,
      errorCode,
      packetId: h.packetId,
    });
  }

  private query(h: Net2Header, key: string, from: dgram.RemoteInfo, who: string): void {
    const rows = rowsForRequest(h.command, h.first, h.last, !!this.options.legacyCurrentIds);
    const name = findQuery(h.command, h.first, h.last) ?? rows[0]?.query ?? "unknown";
    this.stats.queries[name] = (this.stats.queries[name] ?? 0) + 1;
    const served = rows.filter((d) => !this.refusals[d.query]);
    let records: Buffer[] = [];
    let errorCode: number = ErrorCode.OK;
    if (!this.session(key)) errorCode = this.forgotten.has(key) ? ErrorCode.REFUSED : ErrorCode.NOT_LOGGED_IN;
    else if (!knownObject(h.command)) errorCode = ErrorCode.UNKNOWN_COMMAND;
    else {
      records = this.recordsOf(served, h.first, h.last, this.clock());
      if (records.length === 0) errorCode = (rows[0] && this.refusals[rows[0].query]) ?? ErrorCode.NOT_SUPPORTED;
    }
    if (errorCode === ErrorCode.NOT_LOGGED_IN) this.stats.notLoggedIn++;
    else if (errorCode !== ErrorCode.OK) this.stats.refused++;
    this.reply(
      errorCode !== ErrorCode.OK
        ? [
            buildErrorAnswer({
              source: this.me,
              destination: h.source,
              packetId: h.packetId,
              command: h.command,
              first: h.first,
              last: h.last,
              errorCode,
            }),
          ]
        : buildFragmentedAnswer(
            {
              source: this.me,
              destination: h.source,
              packetId: h.packetId,
              command: h.command,
              records,
              firstIndex:
                this.options.recordIndexBase?.[name as QueryName] ?? RECORD_INDEX_BASE[name as QueryName] ?? 1,
            },
            this.options.maxRecordsPerDatagram,
          ),
      from,
    );
    this.emit("request", {
      kind: "query",
      from: who,
      command: h.command,
      query: name,
      errorCode,
      packetId: h.packetId,
    });
  }

  /** Day and month data from the energy counter, and the event log; 0x0015 when the range holds no record. */
  private archive(h: Net2Header, key: string, from: dgram.RemoteInfo, who: string): void {
    const kind = (Object.keys(ARCHIVE_COMMANDS) as ArchiveKind[]).find((k) => ARCHIVE_COMMANDS[k] === h.command);
    const group = (Object.keys(EVENT_COMMANDS) as EventGroup[]).find((g) => EVENT_COMMANDS[g] === h.command);
    const name = kind ? `${kind}Data` : group ? `${group}Events` : "unknown";
    this.stats.queries[name] = (this.stats.queries[name] ?? 0) + 1;
    const now = Math.floor(this.clock().getTime() / 1000);
    const range = { from: h.first, to: h.last };
    let records: Buffer[] = [];
    let errorCode: number = ErrorCode.OK;
    if (!this.session(key)) errorCode = ErrorCode.NOT_LOGGED_IN;
    else if (kind) records = archiveRecords(kind, range, now, this.options, (t) => this.counterAt(t));
    else if (group) records = eventRecords(this.options.events ?? defaultEvents(now), group, range, this.me);
    else errorCode = ErrorCode.UNKNOWN_COMMAND;
    if (errorCode === ErrorCode.OK && records.length === 0) errorCode = ErrorCode.NOT_SUPPORTED;
    if (errorCode === ErrorCode.NOT_LOGGED_IN) this.stats.notLoggedIn++;
    else if (errorCode !== ErrorCode.OK) this.stats.refused++;
    const base = { source: this.me, destination: h.source, packetId: h.packetId, command: h.command };
    this.reply(
      errorCode !== ErrorCode.OK
        ? [buildErrorAnswer({ ...base, first: h.first, last: h.last, errorCode })]
        : buildArchiveAnswer({ ...base, records, maxRecords: this.options.maxRecordsPerDatagram }),
      from,
    );
    this.emit("request", {
      kind: "query",
      from: who,
      command: h.command,
      query: name,
      errorCode,
      packetId: h.packetId,
    });
  }

  /** The total-yield counter (Wh) the energy query would have reported at Unix second t. */
  private counterAt(t: number): number | null {
    const at = new Date(t * 1000);
    const src = this.overrides.totalYield;
    const v = src !== undefined ? resolveValue(src, at) : profileValues(at, this.model).totalYield;
    return typeof v === "number" ? v : null;
  }

  /** The live session of a client (touching it), or undefined when there is none or it lapsed. */
  private session(key: string): Session | undefined {
    const s = this.sessions.get(key);
    const now = this.clock().getTime();
    if (s && now - s.lastSeenMs > s.timeoutS * 1000) this.sessions.delete(key);
    else if (s) s.lastSeenMs = now;
    return this.sessions.get(key);
  }

  private recordsOf(rows: ValueDef[], first: number, last: number, now: Date): Buffer[] {
    const values = profileValues(now, this.model);
    for (const [k, src] of Object.entries(this.overrides)) values[k] = resolveValue(src, now);
    const ts = Math.floor(now.getTime() / 1000);
    const out: Buffer[] = [];
    const inRange = (cls: number): boolean => cls >= (first & 0xff) && cls <= (last & 0xff);
    const valueOf = (def: ValueDef, name: string): SimValue =>
      this.model.night && nullAtNight(def) ? null : (values[name] ?? null);
    for (const def of rows) {
      if (def.indexed === "position") {
        // As a Sunny Boy Storage: one record per battery slot, all with class 7, A first; slots not fitted send "no value".
        if (!inRange(BATTERY_CLASS)) continue;
        for (let n = 1; n <= BATTERY_SLOTS; n++) {
          out.push(
            ...buildRecords(def, BATTERY_CLASS, n <= this.model.batteries ? valueOf(def, def.name + n) : null, ts),
          );
        }
        continue;
      }
      const count = def.indexed === "class" ? this.model.strings : 1;
      // The class byte range of the request (low bytes of first/last) limits the channels sent.
      for (let cls = Math.max(1, first & 0xff); cls <= Math.min(count, last & 0xff); cls++) {
        out.push(...buildRecords(def, cls, valueOf(def, def.indexed ? def.name + cls : def.name), ts));
      }
    }
    return out;
  }

  private reply(datagrams: Buffer[], to: dgram.RemoteInfo): void {
    this.stats.answered++;
    const kept: Buffer[] = [];
    for (const d of datagrams) {
      if (this.chance(this.options.lossAnswers)) this.stats.dropped++;
      else kept.push(d);
    }
    const send = (): void => {
      for (const d of kept) {
        try {
          this.socket?.send(d, to.port, to.address, () => undefined);
          this.stats.sent++;
        } catch {
          // The socket closed meanwhile (stop() during latency): nothing to send to.
        }
      }
    };
    const lat = this.options.latencyMs ?? 0;
    let delay = typeof lat === "number" ? lat : lat.min + this.random() * Math.max(0, lat.max - lat.min);
    const late = this.lateDelay();
    if (late !== undefined) {
      delay = late;
      this.stats.lateAnswers++;
    }
    if (delay <= 0) return send();
    const t = setTimeout(() => {
      this.timers.delete(t);
      send();
    }, delay);
    this.timers.add(t);
  }

  /** The delay of this answer when it is one to send late (delayNextAnswer(), lateAnswers), else undefined. */
  private lateDelay(): number | undefined {
    this.answerCount++;
    const queued = this.lateQueue.shift();
    if (queued !== undefined) return queued;
    const l = this.options.lateAnswers;
    return l && l.every > 0 && this.answerCount % l.every === 0 ? l.delayMs : undefined;
  }

  private chance(p: number | undefined): boolean {
    return !!p && p > 0 && (p >= 1 || this.random() < p);
  }

  /** The address discovery answers report: the bound one, or the first external IPv4 when bound to all. */
  private ownAddress(): string {
    const a = this.address;
    if (a !== "0.0.0.0") return a;
    const ext = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal);
    return ext?.address ?? "127.0.0.1";
  }
}

/** SPEEDWIRE_SIM_PARTNER_REQUESTS_MS: the partner request interval of simulators that set none (test runs). */
function envPartnerRequestMs(): number | undefined {
  const raw = process.env.SPEEDWIRE_SIM_PARTNER_REQUESTS_MS;
  const n = raw === undefined || raw === "" ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Whether a device of this generation knows the object a query command asks for: the table's command families and
 * the object ids 0x50..0x6F of the web interface (a live Sunny Boy answered 0x0015, "no value", to 0x6310xxxx).
 * Others, such as the ennexOS-style 0x7200 / 0x7152, it does not know: 0x0014, as that Sunny Boy answered.
 */
function knownObject(command: number): boolean {
  const top = command >>> 24;
  return QUERY_NAMES.some((n) => sameFamily(QUERIES[n].command, command)) || (top >= 0x50 && top <= 0x6f);
}
