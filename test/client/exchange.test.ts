/**
 * One request over a fake transport and a mocked clock (no sockets, no real time): resends, the deadline, fragments,
 * send failures and close. Each test counts datagrams and moves the clock itself, so a busy machine cannot break it.
 */
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import type { InverterAnswer } from "../../src/protocol";
import { Link, SmaError } from "../../src/client";
import { exchange, pause, type ExchangeHooks, type ExchangeRequest, type RequestPort } from "../../src/client/exchange";
import type { Expectation } from "../../src/client/transport";
import { Liveness } from "../../src/client/liveness";

class FakePort implements RequestPort {
  sent: { buf: Buffer; address: string; port: number }[] = [];
  waiting = new Map<number, Expectation>();
  failWith?: NodeJS.ErrnoException;
  private id = 0;
  nextPacketId(): number {
    return ++this.id;
  }
  expect(e: Expectation): void {
    this.waiting.set(e.packetId, e);
  }
  forget(packetId: number): void {
    this.waiting.delete(packetId);
  }
  send(buf: Buffer, address: string, port: number): Promise<void> {
    this.sent.push({ buf, address, port });
    return this.failWith ? Promise.reject(this.failWith) : Promise.resolve();
  }
  /** The device answers the request waiting (if any) with this datagram. */
  answer(a: Partial<InverterAnswer["header"]> & { isLogin?: boolean; bytes?: number }): void {
    const e = [...this.waiting.values()][0];
    assert.ok(e, "a request waits for an answer");
    const header = {
      errorCode: 0,
      fragment: 0,
      packetIdFlag: true,
      source: { susyId: 1, serial: 42 },
      ...a,
    } as InverterAnswer["header"];
    e.onAnswer(
      { header, records: [], payload: Buffer.alloc(a.bytes ?? 10), isLogin: a.isLogin ?? false },
      Buffer.alloc(1),
    );
  }
}

const TIMEOUT = 100;

function setup(over: Partial<ExchangeRequest> = {}): {
  port: FakePort;
  hooks: ExchangeHooks;
  answered: number[];
  run: () => Promise<unknown>;
} {
  const port = new FakePort();
  const answered: number[] = [];
  const hooks: ExchangeHooks = {
    record: () => undefined,
    answered: (now) => void answered.push(now),
    stats: { requests: 0, timeouts: 0 },
    aborts: new Set(),
  };
  const link = new Link(TIMEOUT, { attempts: 8, ms: 60_000 });
  const req: ExchangeRequest = {
    command: 0x51000200,
    build: (id) => Buffer.from([id]),
    address: "192.0.2.1",
    port: 9522,
    timeoutMs: TIMEOUT,
    retries: 2,
    probe: false,
    where: "192.0.2.1:9522",
    ...over,
  };
  return { port, hooks, answered, run: () => exchange(port, link, req, hooks) };
}

/** Lets promise callbacks run between clock steps. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("exchange: one request", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it("no resend that could not be answered before the deadline: the last wait runs to it (a 1 ms sliver sent a 4th datagram)", async () => {
    // The read began 99 ms earlier (a host name lookup): 201 ms are left, room for two waits of 100 ms and a sliver of 1.
    const { port, run } = setup({ startedAt: 1_000_000 - 99 });
    const result = run().catch((e: unknown) => e);
    mock.timers.tick(TIMEOUT);
    assert.equal(port.sent.length, 2);
    mock.timers.tick(TIMEOUT);
    assert.equal(port.sent.length, 2, "no datagram with 1 ms left");
    mock.timers.tick(1);
    const err = await result;
    assert.ok(err instanceof SmaError && err.code === "ETIMEDOUT", String(err));
    assert.equal(port.sent.length, 2);
  });

  it("no answer: retries + 1 datagrams, one per RTO, then ETIMEDOUT at the deadline and nothing more", async () => {
    const { port, hooks, run } = setup();
    const result = run().catch((e: unknown) => e);
    assert.equal(port.sent.length, 1);
    mock.timers.tick(TIMEOUT);
    assert.equal(port.sent.length, 2, "resent after the RTO");
    mock.timers.tick(TIMEOUT);
    assert.equal(port.sent.length, 3);
    mock.timers.tick(TIMEOUT);
    const err = await result;
    assert.ok(err instanceof SmaError && err.code === "ETIMEDOUT", String(err));
    assert.match(err.message, /^no answer from 192\.0\.2\.1:9522 after 3 attempt\(s\) in 300 ms$/);
    mock.timers.tick(10 * TIMEOUT);
    assert.equal(port.sent.length, 3, "no datagram after the deadline");
    assert.equal(hooks.stats.timeouts, 3);
    assert.equal(port.waiting.size, 0, "the expectation is forgotten");
  });

  it("a probe (silent device): one datagram, one timeout", async () => {
    const { port, run } = setup({ probe: true });
    const result = run().catch((e: unknown) => e);
    mock.timers.tick(TIMEOUT);
    const err = await result;
    assert.ok(err instanceof SmaError && err.code === "ETIMEDOUT");
    assert.equal(port.sent.length, 1);
  });

  it("a lookup that took time shortens the first request's deadline (startedAt)", async () => {
    const { port, run } = setup({ startedAt: Date.now() - 2 * TIMEOUT });
    const result = run().catch((e: unknown) => e);
    mock.timers.tick(TIMEOUT);
    const err = await result;
    assert.ok(err instanceof SmaError && err.code === "ETIMEDOUT");
    assert.equal(port.sent.length, 1, "only the budget's last RTO was left");
  });

  it("an answer with an error code ends the request at once, with that code", async () => {
    const { port, answered, run } = setup();
    const result = run();
    port.answer({ errorCode: 0x0015 });
    const a = (await result) as { errorCode: number; answers: unknown[] };
    assert.equal(a.errorCode, 0x0015);
    assert.equal(a.answers.length, 1);
    assert.equal(answered.length, 1, "the session heard of the answer");
  });

  it("a fragmented answer comes back whole, in the device's order; a lost fragment is waited for until the deadline", async () => {
    const { port, answered, run } = setup();
    const result = run();
    port.answer({ fragment: 2, bytes: 3 });
    port.answer({ fragment: 0, packetIdFlag: false, bytes: 1 });
    port.answer({ fragment: 1, packetIdFlag: false, bytes: 2 });
    const a = (await result) as { answers: InverterAnswer[] };
    assert.deepEqual(
      a.answers.map((x) => x.payload.length),
      [3, 2, 1],
    );
    assert.equal(answered.length, 3);

    const second = setup();
    const incomplete = second.run().catch((e: unknown) => e);
    second.port.answer({ fragment: 1, bytes: 3 });
    for (let i = 0; i < 10; i++) {
      mock.timers.tick(TIMEOUT / 2);
      await settle();
      if (second.port.waiting.size > 0) second.port.answer({ fragment: 1, bytes: 3 });
    }
    const err = await incomplete;
    assert.ok(err instanceof SmaError && err.code === "ETIMEDOUT", String(err));
    assert.match(
      err.message,
      /incomplete answer \(1 of 2 datagrams\)/,
      "repeated fragments do not hold the request past its deadline",
    );
  });

  it("an impossible fragment counter is EPROTOCOL", async () => {
    const { port, run } = setup();
    const result = run().catch((e: unknown) => e);
    port.answer({ fragment: 1000 });
    const err = await result;
    assert.ok(err instanceof SmaError && err.code === "EPROTOCOL");
  });

  it("a datagram the network refuses is EUNREACHABLE with the system's code", async () => {
    const { port, run } = setup();
    port.failWith = Object.assign(new Error("unreachable"), { code: "ENETUNREACH" });
    const err = await run().catch((e: unknown) => e);
    assert.ok(err instanceof SmaError && err.code === "EUNREACHABLE");
    assert.match(err.message, /ENETUNREACH/);
  });

  it("close ends a waiting request and a pause with its error", async () => {
    const { hooks, run } = setup();
    const result = run().catch((e: unknown) => e);
    const paused = pause(1000, hooks.aborts).catch((e: unknown) => e);
    assert.equal(hooks.aborts.size, 2);
    for (const abort of [...hooks.aborts]) abort(SmaError.closed());
    assert.equal(((await result) as SmaError).code, "ECLOSED");
    assert.equal(((await paused) as SmaError).code, "ECLOSED");
    assert.equal(hooks.aborts.size, 0);
  });
});

describe("liveness: the device's phases", () => {
  it("moves as its table says", () => {
    const l = new Liveness();
    assert.equal(l.phase, "loggedOut");
    assert.ok(l.needsLogin(0, 1000));
    l.answered(500);
    l.loginAccepted();
    assert.equal(l.phase, "loggedIn");
    assert.ok(!l.needsLogin(1000, 1000), "a session answered within the idle time is kept");
    assert.ok(l.needsLogin(1501, 1000), "an idle session is renewed");
    l.readTimedOut(false);
    assert.deepEqual([l.phase, l.outage, l.silent, l.loggedIn, l.timedOutReads], ["outage", true, false, false, 1]);
    l.dropSession();
    assert.equal(l.phase, "outage", "dropping no session keeps the outage");
    l.readTimedOut(true);
    assert.deepEqual([l.phase, l.outage, l.silent, l.timedOutReads], ["silent", true, true, 2]);
    l.answered(2000);
    assert.deepEqual([l.phase, l.lastAnswerAt], ["loggedOut", 2000], "an answer ends the outage; a login is still due");
    l.loginAccepted();
    l.dropSession();
    assert.equal(l.phase, "loggedOut");
  });
});
