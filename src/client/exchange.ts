/**
 * One request and its whole answer: send, resend after the link's RTO (copies per attempt as the link's loss asks
 * for), gather the fragments, and end by the deadline whatever arrives. No session state lives here: the session
 * says where to send and how long the request may take, and hears about each answer through `answered`.
 *
 *   send ──▶ wait min(RTO, time left) ──▶ no answer: time left > RTO? resend : ETIMEDOUT
 *     │                                   answer (login / error code): done
 *     └────▶ fragment: new → wait again (never past the deadline); complete → done; invalid → EPROTOCOL
 *
 * A probe (a silent device) gets one datagram and one timeout, no resend, no copies.
 */
import { Command, answerCode, buildIdentify, type Address, type DataRecord, type InverterAnswer } from "../protocol";
import { SmaError } from "./errors";
import { FragmentSet } from "./fragments";
import type { Link } from "./link";
import type { Expectation } from "./transport";

/** The part of the Transport a request uses (tests give a fake). */
export interface RequestPort {
  nextPacketId(): number;
  expect(e: Expectation): void;
  forget(packetId: number): void;
  send(buf: Buffer, address: string, port: number): Promise<void>;
}

export interface ExchangeAnswer {
  errorCode: number;
  records: DataRecord[];
  source: Address;
  answers: InverterAnswer[];
}

export interface ExchangeRequest {
  command: number;
  build(packetId: number): Buffer;
  address: string;
  port: number;
  /** The answer's source serial must be this one, when set. */
  serial?: number;
  /** Per attempt; a probe waits this long once. */
  timeoutMs: number;
  retries: number;
  /** The device is silent: one datagram, one timeout. */
  probe: boolean;
  /** The deadline counts from here when earlier than now (a host name's lookup counts against the first request). */
  startedAt?: number;
  /** "host:port" for messages. */
  where: string;
}

export interface ExchangeHooks {
  /** Every datagram out and in (the trace). */
  record(direction: "out" | "in", raw: Buffer, address: string, port: number): void;
  /** A datagram of the answer arrived (the device is alive), with the source it named. */
  answered(now: number, source: Address): void;
  /** Counted for tests and benchmarks. */
  stats: { requests: number; timeouts: number };
  /** close() calls what is in here to end the request with ECLOSED. */
  aborts: Set<(e: SmaError) => void>;
}

/**
 * Sends a request and waits for its whole answer (every fragment, see FragmentSet); ends within
 * timeout × (retries + 1) (a probe: timeout) whatever arrives: repeated or endless fragments cannot hold it up.
 * Any command: the datagrams of the answer (and all their records) come back in the device's order.
 */
export function exchange(
  transport: RequestPort,
  link: Link,
  req: ExchangeRequest,
  hooks: ExchangeHooks,
): Promise<ExchangeAnswer> {
  return new Promise((resolve, reject) => new Request(transport, link, req, hooks, resolve, reject).start());
}

/** One request under way: its attempts, its timer and the fragments of its answer so far. */
class Request {
  private readonly packetId: number;
  private readonly datagram: Buffer;
  private readonly started = Date.now();
  private readonly deadline: number;
  private readonly fragments = new FragmentSet();
  private readonly copies: number;
  private attempts = 0;
  private sentAt = this.started;
  private timer?: NodeJS.Timeout;
  /** The armed wait runs to the deadline: when it ends, the request ends (no resend). */
  private final = false;
  private done = false;
  private readonly abort = (e: SmaError): void => this.finish(e);

  constructor(
    private readonly transport: RequestPort,
    private readonly link: Link,
    private readonly req: ExchangeRequest,
    private readonly hooks: ExchangeHooks,
    private readonly resolve: (a: ExchangeAnswer) => void,
    private readonly reject: (e: SmaError) => void,
  ) {
    this.packetId = transport.nextPacketId();
    this.datagram = req.build(this.packetId);
    hooks.stats.requests++;
    const budget = req.probe ? req.timeoutMs : req.timeoutMs * (req.retries + 1);
    this.deadline = Math.min(this.started, req.startedAt ?? this.started) + budget;
    this.copies = req.probe ? 1 : link.copies;
  }

  start(): void {
    this.hooks.aborts.add(this.abort);
    const { address, port, serial, command } = this.req;
    this.transport.expect({
      packetId: this.packetId,
      address,
      port,
      answerCommand: answerCode(command),
      serial,
      onAnswer: (a, raw) => this.onAnswer(a, raw),
    });
    this.send();
  }

  private finish(err: SmaError | undefined, answer?: InverterAnswer): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.transport.forget(this.packetId);
    this.hooks.aborts.delete(this.abort);
    if (err) return this.reject(err);
    if (!answer) return;
    this.link.completed(this.attempts, this.copies);
    const answers = this.fragments.empty ? [answer] : this.fragments.answers();
    this.resolve({
      errorCode: answer.header.errorCode,
      records: answers.flatMap((a) => a.records),
      source: answer.header.source,
      answers,
    });
  }

  /**
   * Waits for this attempt (or the rest of a fragmented answer), never past the deadline.
   * Whether a wait is the last is decided here, not by comparing Date.now() with the deadline when it ends: a
   * timer counts from the event loop's cached clock and may end a few ms before Date.now() reaches the deadline,
   * which sent one more datagram (a resend to a sleeping device, a request in the last ms of the budget).
   */
  private arm(): void {
    clearTimeout(this.timer);
    const wait = this.req.probe ? this.req.timeoutMs : this.link.rtoMs;
    const left = Math.max(0, this.deadline - Date.now());
    // A resend with less than half a wait left could not be answered in time (and a timer that ends a ms early left
    // one such sliver, a 4th datagram where retries + 1 = 3 were allowed): that last wait runs to the deadline.
    this.final = this.req.probe || left - wait < wait / 2;
    this.timer = setTimeout(() => this.onTimeout(), this.final ? left : Math.min(wait, left));
  }

  private send(): void {
    const { address, port } = this.req;
    this.attempts++;
    this.sentAt = Date.now();
    this.hooks.record("out", this.datagram, address, port);
    this.link.sent(this.sentAt);
    this.arm();
    for (let i = 0; i < this.copies; i++) {
      this.transport
        .send(this.datagram, address, port)
        .catch((e: NodeJS.ErrnoException) =>
          this.finish(new SmaError("EUNREACHABLE", `cannot send to ${address}:${port}: ${e.code ?? e.message}`)),
        );
    }
  }

  private onTimeout(): void {
    this.hooks.stats.timeouts++;
    this.link.timedOut();
    if (!this.final) return this.send();
    const got = this.fragments.empty ? "" : `, incomplete answer (${this.fragments.progress})`;
    this.finish(
      new SmaError(
        "ETIMEDOUT",
        `no answer from ${this.req.where} after ${this.attempts} attempt(s) in ${Date.now() - this.started} ms${got}`,
      ),
    );
  }

  private onAnswer(answer: InverterAnswer, raw: Buffer): void {
    this.hooks.record("in", raw, this.req.address, this.req.port);
    const now = Date.now();
    // Karn: only the first datagram of an answer to a request sent once times the round trip.
    this.link.answered(now, this.attempts === 1 && this.fragments.empty ? now - this.sentAt : undefined);
    this.hooks.answered(now, answer.header.source);
    // Login and error answers carry no records and come in one datagram.
    if (answer.isLogin || answer.header.errorCode !== 0) return this.finish(undefined, answer);
    const verdict = this.fragments.add(answer);
    if (verdict === "invalid") return this.finish(new SmaError("EPROTOCOL", `answer with ${this.fragments.problem}`));
    if (this.fragments.complete) return this.finish(undefined, answer);
    // More of the answer is on its way: wait for it as for an attempt (bounded by the deadline).
    if (verdict === "new") this.arm();
  }
}

/** Waits ms; a call of what it puts in `aborts` ends the wait with that error. */
export function pause(ms: number, aborts: Set<(e: SmaError) => void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const abort = (e: SmaError): void => {
      clearTimeout(timer);
      aborts.delete(abort);
      reject(e);
    };
    const timer = setTimeout(() => {
      aborts.delete(abort);
      resolve();
    }, ms);
    aborts.add(abort);
  });
}

/**
 * Asks the device at address who it is (an identify query, which needs no login): its address, or undefined when
 * nothing answers within timeoutMs. One datagram, one timeout; a call of what it puts in `aborts` ends it early.
 */
export function identify(
  transport: RequestPort & { identity: Address },
  address: string,
  port: number,
  timeoutMs: number,
  aborts: Set<(e: SmaError) => void>,
): Promise<Address | undefined> {
  const packetId = transport.nextPacketId();
  return new Promise((resolve) => {
    const done = (device?: Address): void => {
      clearTimeout(timer);
      transport.forget(packetId);
      aborts.delete(abort);
      resolve(device);
    };
    const abort = (): void => done();
    aborts.add(abort);
    const timer = setTimeout(() => done(), timeoutMs);
    transport.expect({
      packetId,
      address,
      port,
      answerCommand: answerCode(Command.IDENTIFY),
      onAnswer: (a) => done(a.header.source),
    });
    transport.send(buildIdentify({ source: transport.identity, packetId }), address, port).catch(() => done());
  });
}
