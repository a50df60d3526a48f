/**
 * The login (src/client/login.ts) over a fake session: a scripted exchange, a fake transport for the identify query
 * and a mocked clock (no sockets, no real time). Each test counts requests and moves the clock itself.
 */
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { Command, ErrorCode, decodeInverterDatagram, type Address, type InverterAnswer } from "../../src/protocol";
import { SmaError } from "../../src/client";
import { Backoff } from "../../src/client/backoff";
import { Liveness } from "../../src/client/liveness";
import { Login, type Job, type LoginSession } from "../../src/client/login";
import type { Expectation } from "../../src/client/transport";

const HOST = "192.0.2.1";
const BACKOFF_MS = 60_000;
const NO_ANSWER = "no answer";

/** What the fake device answers the n-th login (from 1): an error code, or nothing at all. */
type Script = (n: number) => number | typeof NO_ANSWER;

interface Fake {
  login: Login;
  session: LoginSession;
  live: Liveness;
  /** Login requests the exchange got. */
  logins: () => number;
  /** Identify queries sent (who is at the host). */
  identifies: () => number;
  /** Where the next request's deadline was moved to (login again after 0x0102). */
  startsAt: number[];
  /** Datagrams sent on the transport (identify, logoff), and those recorded for the trace by the login itself. */
  sent: Buffer[];
  recorded: { direction: string; raw: Buffer; address: string; port: number }[];
}

function setup(
  script: Script,
  over: Partial<LoginSession["options"]> = {},
  device: { keyExchange?: boolean; at?: Address } = {},
): Fake {
  const live = new Liveness();
  let logins = 0;
  let identifies = 0;
  let expected: Expectation | undefined;
  const startsAt: number[] = [];
  const sent: Buffer[] = [];
  const recorded: Fake["recorded"] = [];
  const session: LoginSession = {
    options: {
      host: HOST,
      port: 9522,
      serial: undefined,
      follow: false,
      group: "user",
      password: "0000",
      timeoutMs: 100,
      retries: 2,
      loginBusyRetryMs: 30,
      ...over,
    },
    auth: new Backoff(BACKOFF_MS, 4 * BACKOFF_MS),
    live,
    where: { address: HOST, where: () => `${HOST}:9522` },
    transport: {
      identity: { susyId: 125, serial: 900 },
      nextPacketId: () => 7,
      expect: (e) => void (expected = e),
      forget: () => (expected = undefined),
      send: async (buf) => {
        sent.push(buf);
        if (expected) identifies++;
        if (device.at && expected) {
          expected.onAnswer({ header: { source: device.at } } as InverterAnswer, Buffer.alloc(0));
        }
      },
      keyExchangeSince: () => device.keyExchange ?? false,
    },
    aborts: new Set(),
    createdAt: Date.now(),
    stats: { logins: 0, requests: 0 },
    isClosed: () => false,
    exchange: async (command, build) => {
      assert.equal(command, Command.LOGIN, "the login asks nothing but logins (the queries are the job's)");
      build(1);
      const code = script(++logins);
      if (code === NO_ANSWER) throw new SmaError("ETIMEDOUT", `no answer from ${HOST}:9522 after 3 attempt(s)`);
      live.answered(Date.now());
      return { errorCode: code };
    },
    destination: () => ({ susyId: 0xffff, serial: 0xffffffff }),
    startsAt: (at) => void startsAt.push(at),
    record: (direction, raw, address, port) => void recorded.push({ direction, raw, address, port }),
  };
  return {
    login: new Login(session),
    session,
    live,
    logins: () => logins,
    identifies: () => identifies,
    startsAt,
    sent,
    recorded,
  };
}

/** Lets promise callbacks run between clock steps. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

const failure = (p: Promise<unknown>): Promise<SmaError> =>
  p.then(
    () => assert.fail("expected an error"),
    (e: unknown) => {
      assert.ok(e instanceof SmaError, String(e));
      return e;
    },
  );

describe("login: what each device answer becomes", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it("accepted (0x0000): logged in, one login", async () => {
    const f = setup(() => 0);
    await f.login.run();
    assert.ok(f.live.loggedIn);
    assert.equal(f.logins(), 1);
    assert.equal(f.session.stats.logins, 1);
  });

  it("wrong password (0x0100): EAUTH, and the back-off refuses the next read until it is over", async () => {
    const f = setup(() => ErrorCode.WRONG_PASSWORD);
    const err = await failure(f.login.run());
    assert.equal(err.code, "EAUTH");
    assert.equal(err.deviceCode, ErrorCode.WRONG_PASSWORD);
    assert.match(err.message, /^login as user refused: wrong password \(0x0100\)/);
    assert.equal(f.logins(), 1);
    assert.ok(!f.live.loggedIn);
    const paused = f.login.paused();
    assert.ok(paused, "the next read is refused without a login");
    assert.equal(paused.code, "EAUTH");
    assert.ok(paused.paused);
    assert.match(paused.message, /; login paused, next attempt in 60 s$/);
    mock.timers.tick(BACKOFF_MS - 1);
    assert.ok(f.login.paused(), "still paused 1 ms before the back-off ends");
    mock.timers.tick(1);
    assert.equal(f.login.paused(), undefined, "the back-off is over: the next read logs in");
  });

  it("busy (0x0102): logged in again every loginBusyRetryMs within the read's time, then EREFUSED without back-off", async () => {
    // Read's time 100 ms (retries 0), a login every 30 ms: at 0, 30, 60, 90; at 90 the next one would end past 100.
    const f = setup(() => ErrorCode.LOGIN_BUSY, { timeoutMs: 100, retries: 0, loginBusyRetryMs: 30 });
    const result = failure(f.login.run());
    for (let i = 0; i < 3; i++) {
      await settle();
      assert.equal(f.logins(), i + 1);
      mock.timers.tick(30);
    }
    const err = await result;
    assert.equal(err.code, "EREFUSED");
    assert.equal(err.deviceCode, ErrorCode.LOGIN_BUSY);
    assert.match(err.message, /^login refused \(busy\): 192\.0\.2\.1 answered 0x0102 to 4 login\(s\) in 90 ms/);
    assert.equal(f.logins(), 4);
    assert.deepEqual(
      f.startsAt,
      [1_000_000, 1_000_000, 1_000_000],
      "each later login ends by the first one's deadline",
    );
    assert.equal(f.login.paused(), undefined, "no wrong-password back-off");
    assert.ok(!f.live.loggedIn);
  });

  it("busy (0x0102), then no answer to the last login (its few ms ran out on a busy machine): EREFUSED, not 'no answer'", async () => {
    // The device answered every login it got; the last one was sent with the read's time almost gone.
    const f = setup((n) => (n < 3 ? ErrorCode.LOGIN_BUSY : NO_ANSWER), {
      timeoutMs: 100,
      retries: 0,
      loginBusyRetryMs: 30,
    });
    const result = failure(f.login.run());
    for (let i = 0; i < 2; i++) {
      await settle();
      mock.timers.tick(30);
    }
    const err = await result;
    assert.equal(err.code, "EREFUSED");
    assert.equal(err.deviceCode, ErrorCode.LOGIN_BUSY);
    assert.match(
      err.message,
      /^login refused \(busy\): 192\.0\.2\.1 answered 0x0102 to 2 login\(s\) in 60 ms, then not the last one/,
    );
    assert.equal(f.logins(), 3);
    assert.equal(f.login.paused(), undefined, "no wrong-password back-off");
  });

  it("busy (0x0102), then accepted within the read's time: logged in", async () => {
    const f = setup((n) => (n < 3 ? ErrorCode.LOGIN_BUSY : 0));
    const result = f.login.run();
    for (let i = 0; i < 2; i++) {
      await settle();
      mock.timers.tick(30);
    }
    await result;
    assert.equal(f.logins(), 3);
    assert.ok(f.live.loggedIn);
  });

  it("another code: EPROTOCOL", async () => {
    const f = setup(() => 0x0042);
    const err = await failure(f.login.run());
    assert.equal(err.code, "EPROTOCOL");
    assert.equal(err.message, "login answered with error 0x0042");
  });

  it("no answer, a key exchange from the host meanwhile: EENCRYPTED (before asking who is there), no identify", async () => {
    const f = setup(() => NO_ANSWER, { serial: 1234 }, { keyExchange: true, at: { susyId: 128, serial: 999 } });
    const err = await failure(f.login.run());
    assert.equal(err.code, "EENCRYPTED");
    assert.match(err.message, /^Speedwire encryption is on at 192\.0\.2\.1: /);
    assert.equal(f.identifies(), 0);
    assert.equal(f.logins(), 1);
  });

  it("no answer, another serial at the host: EOTHERDEVICE with the serial found", async () => {
    const f = setup(() => NO_ANSWER, { serial: 1234 }, { at: { susyId: 128, serial: 999 } });
    const err = await failure(f.login.run());
    assert.equal(err.code, "EOTHERDEVICE");
    assert.equal(err.foundSerial, 999);
    assert.equal(err.message, "device at 192.0.2.1 is SN 999, not 1234: check the serial number (or the host)");
    assert.equal(f.identifies(), 1);
    assert.equal(f.session.stats.requests, 1, "the identify query counts as a request");
  });

  it("no answer, the configured serial at the host (or nothing): ETIMEDOUT to login", async () => {
    for (const at of [{ susyId: 128, serial: 1234 }, undefined]) {
      const f = setup(() => NO_ANSWER, { serial: 1234 }, { at });
      const result = failure(f.login.run());
      if (!at) {
        await settle();
        mock.timers.tick(100);
      }
      const err = await result;
      assert.equal(err.code, "ETIMEDOUT");
      assert.match(err.message, /^no answer from 192\.0\.2\.1:9522 to login \(asleep, wrong address/);
      assert.equal(f.identifies(), 1);
    }
  });

  it("logoff: one datagram (a logoff, recorded for the trace), the session dropped, no answer awaited", async () => {
    const f = setup(() => 0);
    await f.login.run();
    await f.login.logoff(HOST, 500);
    assert.ok(!f.live.loggedIn);
    assert.equal(f.sent.length, 1);
    assert.equal(decodeInverterDatagram(f.sent[0]).header.command, Command.LOGOFF);
    assert.deepEqual(
      f.recorded.map((r) => [r.direction, r.raw, r.address, r.port]),
      [["out", f.sent[0], HOST, 9522]],
    );
  });

  it("no answer from a device that answered before: its ETIMEDOUT as it is, no identify (the locator may look elsewhere)", async () => {
    const f = setup(() => NO_ANSWER, { serial: 1234 }, { at: { susyId: 128, serial: 999 } });
    f.live.answered(Date.now());
    const err = await failure(f.login.run());
    assert.equal(err.code, "ETIMEDOUT");
    assert.match(err.message, /after 3 attempt\(s\)$/);
    assert.equal(f.identifies(), 0);
  });
});

describe("login: 'not logged in' during a job", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  /** A request of the job: answers the given codes in turn (the last one from then on). */
  function requests(...codes: number[]): { ask: () => Promise<{ errorCode: number }>; count: () => number } {
    let n = 0;
    return {
      ask: async () => ({ errorCode: codes[Math.min(n++, codes.length - 1)] }),
      count: () => n,
    };
  }

  it("0xFFFF, logged in again, 0xFFFF again: EAUTH noSession with the back-off, after one re-login", async () => {
    const f = setup(() => 0);
    await f.login.run();
    const job: Job = { relogged: false };
    const r = requests(ErrorCode.NOT_LOGGED_IN);
    const err = await failure(f.login.ask(job, r.ask));
    assert.equal(err.code, "EAUTH");
    assert.ok(err.noSession);
    assert.equal(err.deviceCode, ErrorCode.NOT_LOGGED_IN);
    assert.match(err.message, /^logged in, but the device answers 'not logged in' \(0xffff\): it keeps no session$/i);
    assert.equal(f.logins(), 2, "the first login and one re-login");
    assert.equal(r.count(), 2, "asked, then asked again once");
    assert.ok(f.login.paused()?.paused, "the back-off: the next read is refused without a login");
  });

  it("one re-login per job: after one that worked, 0xFFFF again in the same job is EAUTH without another login", async () => {
    const f = setup(() => 0);
    const job: Job = { relogged: false };
    const first = requests(ErrorCode.NOT_LOGGED_IN, 0);
    assert.equal((await f.login.ask(job, first.ask)).errorCode, 0);
    assert.equal(f.logins(), 1);
    assert.equal(first.count(), 2);
    const err = await failure(f.login.ask(job, requests(ErrorCode.NOT_LOGGED_IN).ask));
    assert.equal(err.code, "EAUTH");
    assert.ok(err.noSession);
    assert.equal(f.logins(), 1, "no second re-login in that job");
    // A new job after the back-off may log in again once.
    mock.timers.tick(BACKOFF_MS);
    const next = requests(ErrorCode.NOT_LOGGED_IN, 0);
    assert.equal((await f.login.ask({ relogged: false }, next.ask)).errorCode, 0);
    assert.equal(f.logins(), 2);
  });

  it("a first 0x0017 (a forgotten session): one re-login, and 0x0017 again is the answer (no such values), not EAUTH", async () => {
    const f = setup(() => 0);
    const job: Job = { relogged: false };
    const r = requests(ErrorCode.REFUSED);
    assert.equal((await f.login.ask(job, r.ask)).errorCode, ErrorCode.REFUSED);
    assert.equal(f.logins(), 1);
    assert.equal(r.count(), 2);
    assert.equal((await f.login.ask(job, r.ask)).errorCode, ErrorCode.REFUSED, "later 0x0017 in the job: as answered");
    assert.equal(f.logins(), 1);
    assert.equal(f.login.paused(), undefined);
  });

  it("an answer with values or another code: passed on, no login", async () => {
    const f = setup(() => 0);
    for (const code of [0, ErrorCode.NOT_SUPPORTED, 0x0042]) {
      assert.equal((await f.login.ask({ relogged: false }, requests(code).ask)).errorCode, code);
    }
    assert.equal(f.logins(), 0);
  });
});
