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
export function exchange(transport: RequestPort, link: Link, req: ExchangeRequest, hooks: ExchangeHooks): Promise<ExchangeAnswer> {
  const { address, port, timeoutMs, retries, probe } = req;
  const packetId = transport.nextPacketId();
  const datagram = req.build(packetId);
  hooks.stats.requests++;
  const started = Date.now();
  const deadline = Math.min(started, req.startedAt ?? started) + (probe ? timeoutMs : timeoutMs * (retries + 1));
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
      transport.forget(packetId);
      hooks.aborts.delete(abort);
      if (err) return reject(err);
      if (!answer) return;
      link.completed(attempts, copies);
      const answers = fragments.empty ? [answer] : fragments.answers();
      resolve({ errorCode: answer.header.errorCode, records: answers.flatMap((a) => a.records), source: answer.header.source, answers });
    };
    const abort = (e: SmaError): void => finish(e);
    hooks.aborts.add(abort);
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
      hooks.record("out", datagram, address, port);
      link.sent(sentAt);
      arm();
      for (let i = 0; i < copies; i++) {
        transport.send(datagram, address, port).catch((e: NodeJS.ErrnoException) =>
          finish(new SmaError("EUNREACHABLE", `cannot send to ${address}:${port}: ${e.code ?? e.message}`)));
      }
    };
    const onTimeout = (): void => {
      hooks.stats.timeouts++;
      link.timedOut();
      if (!final) return send();
      const got = fragments.empty ? "" : `, incomplete answer (${fragments.progress})`;
      finish(new SmaError("ETIMEDOUT", `no answer from ${req.where} after ${attempts} attempt(s) in ${Date.now() - started} ms${got}`));
    };
    transport.expect({
      packetId, address, port, answerCommand: answerCode(req.command), serial: req.serial,
      onAnswer: (answer, raw) => {
        hooks.record("in", raw, address, port);
        const now = Date.now();
        // Karn: only the first datagram of an answer to a request sent once times the round trip.
        link.answered(now, attempts === 1 && fragments.empty ? now - sentAt : undefined);
        hooks.answered(now, answer.header.source);
        // Login and error answers carry no records and come in one datagram.
        if (answer.isLogin || answer.header.errorCode !== 0) return finish(undefined, answer);
        const verdict = fragments.add(answer);
        if (verdict === "invalid") return finish(new SmaError("EPROTOCOL", `answer with ${fragments.problem}`));
        if (fragments.complete) return finish(undefined, answer);
        // More of the answer is on its way: wait for it as for an attempt (bounded by the deadline).
        if (verdict === "new") arm();
      },
    });
    send();
  });
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
export function identify(transport: RequestPort & { identity: Address }, address: string, port: number, timeoutMs: number,
  aborts: Set<(e: SmaError) => void>): Promise<Address | undefined> {
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
    transport.expect({ packetId, address, port, answerCommand: answerCode(Command.IDENTIFY), onAnswer: (a) => done(a.header.source) });
    transport.send(buildIdentify({ source: transport.identity, packetId }), address, port).catch(() => done());
  });
}
