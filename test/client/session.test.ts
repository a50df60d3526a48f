/** The client against simulated inverters on 127.0.0.1: the stories users meet. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import {
  DEFAULTS,
  MeterListener,
  SILENT_ATTEMPTS,
  SpeedwireClient,
  SmaError,
  type InverterOptions,
} from "../../src/client";
import { SimulatedInverter, type SimulatedInverterOptions } from "../../src/simulator";
import {
  Command,
  QUERY_NAMES,
  VALUES,
  decodeInverterDatagram,
  type Net2Header,
  type QueryName,
} from "../../src/protocol";
import {
  buildDataAnswer,
  buildErrorAnswer,
  buildKeyExchange,
  buildLoginAnswer,
  buildRecord,
} from "../../src/simulator/answer-builders";
import { loadCaptures } from "../harness/fixtures";
import { watchLag } from "../harness/lag";

const clients: SpeedwireClient[] = [];
const sims: SimulatedInverter[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(sims.map((s) => s.stop()));
});

async function sim(opts: Partial<SimulatedInverterOptions> = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, ...opts });
  sims.push(s);
  await s.start();
  return s;
}

function client(): SpeedwireClient {
  const c = new SpeedwireClient();
  clients.push(c);
  return c;
}

function session(c: SpeedwireClient, s: SimulatedInverter, o: Partial<InverterOptions> = {}) {
  return c.inverter({ host: "127.0.0.1", port: s.port, password: "0000", timeoutMs: 300, retries: 2, ...o });
}

/**
 * A device that logs anyone in and answers queries as `onQuery` says: for answers no simulator would send
 * (endless fragments, counters out of range, a first datagram lost on purpose).
 */
async function fakeInverter(
  onQuery: (h: Net2Header, reply: (b: Buffer) => void, n: number) => void,
): Promise<{ port: number }> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  let open = true;
  after(() => {
    open = false;
    sock.close();
  });
  let n = 0;
  sock.on("message", (m, rinfo) => {
    const { header: h } = decodeInverterDatagram(m);
    const reply = (b: Buffer): void => void (open && sock.send(b, rinfo.port, rinfo.address));
    if (h.command === Command.LOGIN) {
      reply(
        buildLoginAnswer({
          source: FAKE,
          destination: h.source,
          packetId: h.packetId,
          errorCode: 0,
          group: h.first,
          timeoutS: h.last,
          time: 0,
        }),
      );
    } else if (h.command !== Command.LOGOFF) onQuery(h, reply, n++);
  });
  return { port: sock.address().port };
}
const FAKE = { susyId: 0x1234, serial: 3999000001 };

/** acPowerPhase as `count` datagrams of one record each (L1 in the first), counters count-1 .. 0. */
function phaseFragments(h: Net2Header, opts: { flagAll?: boolean } = {}): Buffer[] {
  const defs = VALUES.filter((v) => v.query === "acPowerPhase");
  return defs.map((d, i) =>
    buildDataAnswer({
      source: FAKE,
      destination: h.source,
      packetId: h.packetId,
      command: h.command,
      firstIndex: i,
      records: [buildRecord(d, 1, 1000 + i, 1700000000)],
      fragment: defs.length - 1 - i,
      packetIdFlag: opts.flagAll || i === 0,
    }),
  );
}

const SPOT: QueryName[] = [
  "energy",
  "times",
  "acPowerTotal",
  "acPowerPhase",
  "acVoltageCurrent",
  "gridFrequency",
  "dcPower",
  "dcVoltageCurrent",
];

function assertSameValues(got: Record<string, unknown>, want: Record<string, unknown>, names: string[]): void {
  for (const n of names) assert.deepEqual(got[n] ?? null, want[n] ?? null, n);
}

describe("reading an inverter", () => {
  for (const phases of [1, 2, 3]) {
    for (const strings of [1, 2, 3, 4]) {
      it(`reads energy, AC and DC equal to the inverter's values (${phases} phase(s), ${strings} string(s))`, async () => {
        const s = await sim({ phases, strings, serial: 3000000000 + phases * 10 + strings });
        const r = await session(client(), s).read(SPOT);
        const want = s.currentValues();
        const names = Object.keys(want).filter((k) =>
          /^(totalYield|dayYield|operatingTime|feedInTime|ac|gridFrequency|dc)/.test(k),
        );
        assert.ok(
          names.some((n) => n === `dcPower${strings}`),
          `dcPower${strings} served`,
        );
        assertSameValues(r.values, want, names);
        assert.equal(r.device.serial, s.serial);
        assert.equal(Object.keys(r.values).filter((k) => /^dcPower\d$/.test(k)).length, strings);
      });
    }
  }

  it("a sleeping-for-the-night inverter that still answers gives null spot values, never 0", async () => {
    const s = await sim({ night: true });
    const r = await session(client(), s).read(["acPowerPhase", "dcPower"]);
    const spot = Object.entries(r.values).filter(([k]) => /^(acPower|dcPower)/.test(k));
    assert.ok(spot.length >= 2);
    for (const [k, v] of spot) assert.equal(v, null, k);
  });

  it("reads every query of the table from a hybrid inverter in one call", async () => {
    const s = await sim({ profile: "hybrid", batteries: 2 });
    const r = await session(client(), s).read(QUERY_NAMES);
    assert.deepEqual(r.unsupported, []);
    assertSameValues(r.values, s.currentValues(), Object.keys(s.currentValues()));
  });

  it("remembers queries the device does not support and does not ask again", async () => {
    const s = await sim({ profile: "pv" });
    const inv = session(client(), s);
    const first = await inv.read(["batterySoc", "acPowerPhase"]);
    assert.deepEqual(first.unsupported, ["batterySoc"]);
    const asked = s.stats.queries.batterySoc ?? 0;
    await inv.read(["batterySoc", "acPowerPhase"]);
    assert.equal(s.stats.queries.batterySoc ?? 0, asked);
  });

  it("says when the device has none of the values asked for, asked again or not", async () => {
    const s = await sim({ profile: "pv" });
    const inv = session(client(), s);
    assert.equal((await inv.read(["batterySoc", "acPowerPhase"])).nothingSupported, false, "one of two supported");
    assert.equal(
      (await inv.read(["batterySoc", "batteryPower"])).nothingSupported,
      true,
      "both unsupported, one remembered",
    );
    assert.equal((await inv.read(["batterySoc"])).nothingSupported, true, "remembered, not asked again");
  });
});

describe("sessions", () => {
  it("logs in once and reuses the session across reads", async () => {
    const s = await sim();
    const inv = session(client(), s);
    for (let i = 0; i < 5; i++) await inv.read(["acPowerPhase"]);
    assert.equal(s.stats.logins, 1);
  });

  it("logs in again by itself after the inverter restarts mid-session", async () => {
    const s = await sim();
    const inv = session(client(), s);
    await inv.read(["acPowerPhase"]);
    s.restart();
    const r = await inv.read(["acPowerPhase", "energy"]);
    assert.equal(r.values.totalYield, s.currentValues().totalYield);
    assert.equal(s.stats.logins, 2);
  });

  it("0x0017 to a session the inverter forgot: one fresh login, then the values (not 'unsupported')", async () => {
    const s = await sim();
    const inv = session(client(), s);
    await inv.read(["acPowerPhase", "energy"]);
    s.forgetSessions();
    const r = await inv.read(["acPowerPhase", "energy"]);
    assert.deepEqual(r.unsupported, []);
    assert.equal(r.values.totalYield, s.currentValues().totalYield);
    assert.equal(r.values.acPowerL1, s.currentValues().acPowerL1);
    assert.equal(s.stats.logins, 2);
    await inv.read(["acPowerPhase", "energy"]);
    assert.equal(s.stats.logins, 2, "no further login");
  });

  it("0x0017 again after a fresh login: the group is unavailable, remembered, and costs one login per read at most", async () => {
    const s = await sim({ profile: "battery" });
    const inv = session(client(), s);
    const r = await inv.read(["energy", "dcPower", "acPowerPhase"]);
    assert.deepEqual(r.unsupported, ["energy", "dcPower"]);
    assert.equal(s.stats.logins, 2, "the first login and one more for 0x0017");
    const again = await inv.read(["energy", "dcPower", "acPowerPhase"]);
    assert.deepEqual(again.unsupported, ["energy", "dcPower"]);
    assert.equal(s.stats.logins, 2);
  });

  it("a wrong password is EAUTH, and the client tries to log in once per back-off window", async () => {
    const s = await sim({ userPassword: "1234" });
    const inv = session(client(), s, { password: "9999", authBackoffMs: 400 });
    const errors: string[] = [];
    const logins: number[] = [];
    const refused: number[] = [];
    s.on("request", (r: { kind: string }) => void (r.kind === "login" && logins.push(Date.now())));
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      await inv.read(["acPowerPhase"]).then(
        () => errors.push("ok"),
        (e: SmaError) => {
          errors.push(e.code);
          refused.push(Date.now());
        },
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(
      errors.every((e) => e === "EAUTH"),
      errors.join(","),
    );
    // Windows of 400 ms then 800 ms, each from the refusal that opened it: logins at 0 and ~400 ms, and a third
    // (on a loaded machine, where the loop runs past 1.2 s) only 800 ms after the second was refused.
    assert.ok(logins.length >= 2, `the client tries again once the first window has passed: ${logins.length} login(s)`);
    const windows = [400, 800, 1600];
    for (let i = 1; i < logins.length; i++) {
      const openedAt = refused.find((t) => t >= logins[i - 1]) as number;
      assert.ok(
        logins[i] - openedAt >= windows[i - 1] - 1,
        `login ${i + 1} ${logins[i] - openedAt} ms after the refusal, window ${windows[i - 1]} ms`,
      );
    }
    assert.ok(
      errors.length > 2 * logins.length,
      `reads within a window end without a login: ${errors.length} reads, ${logins.length} logins`,
    );
    assert.equal(s.stats.logins, logins.length);
  });

  it('an empty password is EINVAL "no password set": no login is sent (it could only be refused as EAUTH)', async () => {
    const s = await sim();
    const inv = session(client(), s, { password: "" });
    const err = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(err instanceof SmaError);
    assert.equal(err.code, "EINVAL");
    assert.equal(err.missing, true);
    assert.equal(s.stats.logins, 0);
  });

  it("the password never appears in errors", async () => {
    const s = await sim({ userPassword: "1234" });
    const inv = session(client(), s, { password: "s3cr3t" });
    const err = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(err instanceof SmaError);
    assert.ok(!JSON.stringify({ m: err.message, s: err.stack }).includes("s3cr3t"));
  });

  it("no answer ends each read with ETIMEDOUT within timeout x (retries + 1)", async () => {
    const s = await sim({ sleeping: true });
    const inv = session(client(), s, { timeoutMs: 100, retries: 2 });
    const lag = watchLag();
    const t0 = Date.now();
    const err = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    const took = Date.now() - t0;
    lag.stop();
    assert.ok(err instanceof SmaError && err.code === "ETIMEDOUT");
    assert.ok(
      s.stats.received <= 3 && inv.stats.timeouts <= 3,
      `${s.stats.received} datagrams, ${inv.stats.timeouts} waits: at most retries + 1`,
    );
    // Up to 3 timers in a row, each as late as this machine's timers ran meanwhile.
    assert.ok(took < 100 * 3 + lag.margin(3), `ended after ${took} ms (timers up to ${Math.round(lag.maxMs)} ms late)`);
  });

  it("an inverter that stops answering: one error, then quiet ones; 'asleep' only after the silence rule; it wakes by itself", async () => {
    const s = await sim();
    const inv = session(client(), s, { timeoutMs: 80, retries: 1, silentAfterMs: 400 });
    await inv.read(["acPowerPhase"]);
    s.setSleeping(true);
    const t0 = Date.now();
    const e1 = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    const e2 = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(e1 instanceof SmaError && e2 instanceof SmaError);
    assert.equal(e1.quiet, false);
    assert.equal(e2.quiet, true);
    assert.equal(inv.state, "error", "a few lost attempts are no answer, not asleep");
    let reads = 2;
    while ((inv.state as string) !== "asleep" && reads < 50) {
      const e = await inv.read(["acPowerPhase"]).catch((x: SmaError) => x);
      assert.ok(e instanceof SmaError && e.quiet);
      reads++;
    }
    assert.equal(inv.state, "asleep");
    assert.ok(Date.now() - t0 >= 400, `asleep after ${Date.now() - t0} ms of silence`);
    assert.ok(s.stats.received - 2 >= SILENT_ATTEMPTS, `asleep after ${s.stats.received - 2} unanswered datagrams`);
    // Asleep: one datagram per read, no resends.
    for (let i = 0; i < 3; i++) {
      const before = s.stats.received;
      await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
      assert.equal(s.stats.received - before, 1);
    }
    s.setSleeping(false);
    const r = await inv.read(["acPowerPhase"]);
    assert.equal(inv.state, "ok");
    assert.ok("acPowerL1" in r.values);
  });

  it("asleep: one datagram per read even when a timer ends before Date.now() says its time is up", async () => {
    // Timers run on the monotonic clock in whole ms, Date.now() on the wall clock: a timer of 80 ms ends with
    // Date.now() 79 ms on now and then (about 1 in 30 here; NTP slewing does the same). A probe that compared
    // Date.now() with its deadline sent a resend then. The wall clock runs 10 % slow here, so every time.
    const s = await sim();
    const inv = session(client(), s, { timeoutMs: 80, retries: 1, silentAfterMs: 0 });
    await inv.read(["acPowerPhase"]);
    s.setSleeping(true);
    for (let i = 0; i < SILENT_ATTEMPTS && inv.state !== "asleep"; i++)
      await inv.read(["acPowerPhase"]).catch(() => undefined);
    assert.equal(inv.state, "asleep");
    const realNow = Date.now;
    const base = realNow();
    Date.now = () => Math.floor(base + (realNow() - base) * 0.9);
    try {
      for (let i = 0; i < 3; i++) {
        const [sent, waits] = [s.stats.received, inv.stats.timeouts];
        const e = await inv.read(["acPowerPhase"]).catch((x: SmaError) => x);
        assert.ok(e instanceof SmaError && e.code === "ETIMEDOUT" && e.quiet);
        assert.equal(inv.stats.timeouts - waits, 1, "one wait, no resend");
        assert.equal(s.stats.received - sent, 1, "one datagram");
      }
    } finally {
      Date.now = realNow;
    }
  });

  it("reads queued behind one that finds the inverter asleep end at once, quietly; a later read probes again", async () => {
    const s = await sim();
    const inv = session(client(), s, { timeoutMs: 150, retries: 0 });
    await inv.read(["acPowerPhase"]);
    s.setSleeping(true);
    const [reads, requests] = [inv.stats.reads, inv.stats.requests];
    // Distinct reads (identical ones would share one read and its one error).
    const burst = await Promise.all(
      (["acPowerPhase", "energy", "dcPower", "gridFrequency", "times"] as const).map((q) =>
        inv.read([q]).catch((e: SmaError) => e),
      ),
    );
    assert.ok(burst.every((e) => e instanceof SmaError && e.code === "ETIMEDOUT"));
    assert.deepEqual(
      burst.map((e) => (e as SmaError).quiet),
      [false, true, true, true, true],
    );
    assert.deepEqual([inv.stats.reads - reads, inv.stats.requests - requests], [1, 1], "one request, not five");
    s.setSleeping(false);
    assert.ok(
      "acPowerL1" in (await inv.read(["acPowerPhase"])).values,
      "the next read asked for probes and finds it awake",
    );
  });

  it("an answer in fragments that is asked for again is not counted twice", async () => {
    const s = await sim({ phases: 3, maxRecordsPerDatagram: 1, lossAnswers: 0.2, seed: 7 });
    const inv = session(client(), s, { timeoutMs: 40, retries: 20 });
    for (let i = 0; i < 30; i++) {
      const r = await inv.read(["acPowerPhase", "acVoltageCurrent"]);
      const keys = r.readings.map((x) => `${x.def.lri}/${x.index}`);
      assert.equal(new Set(keys).size, keys.length, `duplicate readings: ${keys.join(" ")}`);
    }
  });

  it("closing while the session searches for its serial: ECLOSED, and the session stays closed and sends nothing", async () => {
    const c = client();
    const inv = c.inverter({
      host: "",
      serial: 3999999999,
      password: "0000",
      discovery: { targets: [{ address: "127.0.0.1", port: 9 }], timeoutMs: 300 },
    });
    const states: string[] = [];
    inv.on("state", (st: string) => states.push(st));
    const searching = new Promise((r) => inv.once("state", r));
    const reading = inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    await searching;
    await inv.close();
    const e = await reading;
    assert.ok(e instanceof SmaError && e.code === "ECLOSED", String(e));
    assert.deepEqual(states, ["searching", "closed"]);
    assert.equal(c.transport.stats.sent, 0);
  });

  it("close logs off and ends waiting reads with ECLOSED", async () => {
    const s = await sim();
    const inv = session(client(), s);
    await inv.read(["acPowerPhase"]);
    s.set("acPowerL1", 1);
    const slow = await sim({ latencyMs: 300 });
    const inv2 = session(client(), slow);
    await inv2.read(["acPowerPhase"]);
    // Closed while the query is at the inverter (its answer is 300 ms away); then wait for the logoff to arrive.
    const asked = new Promise((r) => slow.once("request", r));
    const pending = inv2.read(["acPowerPhase"]).catch((e: SmaError) => e.code);
    await asked;
    const loggedOff = new Promise((r) =>
      slow.on("request", (q: { kind: string }) => void (q.kind === "logoff" && r(q))),
    );
    await inv2.close();
    assert.equal(await pending, "ECLOSED");
    await loggedOff;
    await new Promise((r) => setImmediate(r));
    assert.equal(slow.stats.logoffs, 1);
    assert.equal(s.stats.logoffs, 0);
  });
});

describe("bad links with the default timeout and retries", () => {
  const defaults = { timeoutMs: DEFAULTS.timeoutMs, retries: DEFAULTS.retries };
  const NOON = new Date("2024-06-21T12:00:00Z");

  it(
    "30 % loss each way, 2-10 ms latency: every read has the true values, and the link shows it is poor",
    { timeout: 60_000 },
    async () => {
      const s = await sim({
        lossRequests: 0.3,
        lossAnswers: 0.3,
        latencyMs: { min: 2, max: 10 },
        seed: 5,
        clock: () => NOON,
      });
      const inv = session(client(), s, defaults);
      // The first read also learns the link (until an answer the wait is 1 s): it may need a second poll.
      await inv.read(["acPowerPhase"]).catch(() => inv.read(["acPowerPhase"]));
      const want = s.currentValues();
      for (let i = 0; i < 100; i++) {
        const r = await inv.read(["acPowerPhase", "energy"]);
        assert.deepEqual(
          [r.values.acPowerL1, r.values.acPowerL3, r.values.totalYield],
          [want.acPowerL1, want.acPowerL3, want.totalYield],
          `read ${i}`,
        );
      }
      const link = inv.linkFigures;
      assert.ok(link.rttMs !== null && link.rttMs < 100, `rtt ${link.rttMs} ms`);
      assert.ok(link.resentPct >= 20 && inv.poorLink, `resent ${link.resentPct} %`);
      assert.ok(link.lastAnswer !== null && Date.now() - link.lastAnswer < 1000);
      assert.equal(inv.state, "ok");
    },
  );

  for (const latencyMs of [5, 800]) {
    it(
      `latency ${latencyMs} ms: the wait before a resend fits the round trip (a lost answer costs little, a slow one is not resent)`,
      { timeout: 120_000 },
      async (t) => {
        const s = await sim({ latencyMs, clock: () => NOON });
        const inv = session(client(), s, defaults);
        for (let i = 0; i < 6; i++) await inv.read(["acPowerPhase"]);
        const link = inv.linkFigures;
        assert.ok(
          link.rttMs !== null && link.rttMs >= latencyMs && link.rttMs < latencyMs + 100,
          `rtt ${link.rttMs} ms`,
        );
        assert.ok(link.resentPct < 20 && !inv.poorLink, `resent ${link.resentPct} %`);
        // The counts below hold for a read whose timers ran on time: on a busy machine a process held up for longer
        // than the wait before a resend (100 ms floor at 5 ms) sends that resend before it sees the answer waiting in
        // its socket. So each count is taken from the first of a few reads that ran without such a hold-up.
        const maxLagMs = latencyMs === 5 ? 40 : 200;
        const slow = await unheld(s, maxLagMs, () => inv.read(["acPowerPhase"]));
        if (!slow)
          return t.skip(`every read was held up by more than ${maxLagMs} ms: this machine is too busy to tell`);
        assert.equal(slow.datagrams, 1, "one datagram for one query: no resend of a slow answer");
        // One lost answer: resent after about the RTO (100 ms floor at 5 ms), not after the 1500 ms timeout.
        const lost = await unheld(s, maxLagMs, async () => {
          s.options.lossAnswers = 1;
          setTimeout(() => void (s.options.lossAnswers = 0), latencyMs + 20);
          await inv.read(["acPowerPhase"]);
        });
        if (!lost)
          return t.skip(`every read was held up by more than ${maxLagMs} ms: this machine is too busy to tell`);
        // Resent after the RTO: well before the timeout at 5 ms (a resend after the timeout takes at least timeoutMs).
        if (latencyMs === 5) assert.ok(lost.ms < DEFAULTS.timeoutMs, `a lost answer cost ${lost.ms} ms`);
        else assert.ok(lost.ms < 3 * latencyMs + DEFAULTS.timeoutMs, `a lost answer cost ${lost.ms} ms`);
        assert.equal(lost.datagrams, 2, "the query, once more after the lost answer");
      },
    );
  }
});

/**
 * Runs `read` until one run's timers were never late by `maxLagMs` or more (at most `tries` runs): the datagrams the
 * simulator got during that run and how long it took; undefined when every run was held up.
 */
async function unheld(
  s: SimulatedInverter,
  maxLagMs: number,
  read: () => Promise<unknown>,
  tries = 10,
): Promise<{ datagrams: number; ms: number } | undefined> {
  for (let i = 0; i < tries; i++) {
    const lag = watchLag();
    const asked = s.stats.received;
    const t0 = Date.now();
    await read();
    const ms = Date.now() - t0;
    const late = lag.maxMs;
    lag.stop();
    if (late < maxLagMs) return { datagrams: s.stats.received - asked, ms };
  }
  return undefined;
}

describe("a slow inverter and many reads", () => {
  it(
    "1000 identical reads share one request and one result; more than 16 distinct pending reads are EBUSY at once",
    { timeout: 20_000 },
    async () => {
      const s = await sim({ latencyMs: 300 });
      const inv = session(client(), s, { timeoutMs: 1000 });
      await inv.read(["acPowerPhase"]);
      const asked = s.stats.queries.acPowerPhase;
      const same = await Promise.all(Array.from({ length: 1000 }, () => inv.read(["acPowerPhase"])));
      assert.equal(new Set(same).size, 1, "one result for all");
      assert.equal(s.stats.queries.acPowerPhase - asked, 1, "one request for all");
      assert.equal(inv.pendingReads, 0);

      const distinct = Array.from({ length: 20 }, (_, i) => [
        QUERY_NAMES[i % QUERY_NAMES.length],
        ...(i >= QUERY_NAMES.length ? ["energy" as const] : []),
      ]);
      assert.equal(new Set(distinct.map((q) => q.join())).size, 20);
      const t1 = Date.now();
      const settled = distinct.map((q) =>
        inv.read(q).then(
          () => "ok",
          (e: SmaError) => ({ code: e.code, at: Date.now() - t1 }),
        ),
      );
      assert.equal(inv.pendingReads, 16);
      const busy = (await Promise.all(settled.slice(16))) as { code: string; at: number }[];
      assert.deepEqual(
        busy.map((b) => b.code),
        ["EBUSY", "EBUSY", "EBUSY", "EBUSY"],
      );
      assert.ok(
        busy.every((b) => b.at < 100),
        "EBUSY at once",
      );
      assert.ok(
        (await Promise.all(settled.slice(0, 16))).every((r) => r === "ok" || (r as { code: string }).code !== "EBUSY"),
      );
      assert.equal(inv.pendingReads, 0);
    },
  );
});

describe("answers in several datagrams", () => {
  it("10 % of answer datagrams lost: every read has every value or ends with ETIMEDOUT, never missing values", async () => {
    const s = await sim({ phases: 3, strings: 3, maxRecordsPerDatagram: 1, lossAnswers: 0.1, seed: 11 });
    const inv = session(client(), s, { timeoutMs: 40, retries: 30 });
    const queries: QueryName[] = ["acPowerPhase", "acVoltageCurrent", "dcVoltageCurrent"];
    const want = s.currentValues();
    const names = Object.keys(want).filter(
      (k) => /^(acPowerL|acVoltage|acCurrent|dcVoltage|dcCurrent)/.test(k) && want[k] !== null,
    );
    let complete = 0;
    const partial: string[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await inv.read(queries).catch((e: SmaError) => e);
      if (r instanceof SmaError) {
        assert.equal(r.code, "ETIMEDOUT");
        continue;
      }
      const missing = names.filter((n) => r.values[n] !== want[n]);
      if (missing.length > 0) partial.push(`read ${i}: ${missing.join(",")}`);
      else complete++;
    }
    assert.deepEqual(partial, [], "reads with missing or wrong values");
    assert.ok(complete >= 90, `${complete} of 100 reads complete`);
  });

  it("the first datagram lost: the read asks again instead of taking the rest as the answer", async () => {
    const dev = await fakeInverter((h, reply, n) => {
      const parts = phaseFragments(h);
      for (const [i, d] of parts.entries()) if (n > 0 || i > 0) reply(d);
    });
    const r = await session(client(), { port: dev.port } as SimulatedInverter, { timeoutMs: 100, retries: 2 }).read([
      "acPowerPhase",
    ]);
    assert.deepEqual([r.values.acPowerL1, r.values.acPowerL2, r.values.acPowerL3], [1000, 1001, 1002]);
  });

  it(
    "endless non-final fragments: the read and the one queued behind it end with ETIMEDOUT within timeout x (retries + 1)",
    { timeout: 10_000 },
    async () => {
      const dev = await fakeInverter((h, reply) => {
        const [first, middle] = phaseFragments(h);
        reply(first);
        const t = setInterval(() => reply(middle), 20);
        setTimeout(() => clearInterval(t), 1500);
      });
      const inv = session(client(), { port: dev.port } as SimulatedInverter, { timeoutMs: 100, retries: 2 });
      const lag = watchLag();
      const t0 = Date.now();
      const [a, b] = await Promise.all(
        [inv.read(["acPowerPhase"]), inv.read(["acPowerPhase", "energy"])].map((p) => p.catch((e: SmaError) => e)),
      );
      const took = Date.now() - t0;
      lag.stop();
      assert.ok(a instanceof SmaError && a.code === "ETIMEDOUT", String(a));
      assert.match(a.message, /incomplete answer \(2 of 3 datagrams\)/);
      assert.ok(b instanceof SmaError && b.code === "ETIMEDOUT", String(b));
      // Two reads (and a login) of at most 3 waits each; the fragments arriving every 20 ms do not extend one.
      assert.ok(
        took < 3 * 100 * 3 + lag.margin(9),
        `both ended after ${took} ms (timers up to ${Math.round(lag.maxMs)} ms late)`,
      );
    },
  );

  it(`a fragment counter of ${64} or more is EPROTOCOL at once`, async () => {
    const dev = await fakeInverter((h, reply) => {
      const [first] = phaseFragments(h);
      first.writeUInt16LE(64, 38);
      reply(first);
    });
    const inv = session(client(), { port: dev.port } as SimulatedInverter, { timeoutMs: 300, retries: 2 });
    const e = await inv.read(["acPowerPhase"]).catch((x: SmaError) => x);
    assert.ok(e instanceof SmaError && e.code === "EPROTOCOL", String(e));
    assert.equal(inv.stats.timeouts, 0, "without waiting for the timeout");
  });
});

describe("hostile networks", () => {
  it("30 % loss each way and 0-10 ms jittered latency: 1000 reads all complete with correct values", async () => {
    const c = client();
    const plant = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sim({
          lossRequests: 0.3,
          lossAnswers: 0.3,
          latencyMs: { min: 0, max: 10 },
          seed: i + 1,
          serial: 3100000000 + i,
        }),
      ),
    );
    const results = await Promise.all(
      plant.map(async (s) => {
        const inv = session(c, s, { timeoutMs: 25, retries: 30 });
        let ok = 0;
        for (let i = 0; i < 100; i++) {
          const r = await inv.read(["acPowerPhase"]);
          assert.equal(r.values.acPowerL1, s.currentValues().acPowerL1);
          assert.equal(r.device.serial, s.serial);
          ok++;
        }
        return ok;
      }),
    );
    assert.equal(
      results.reduce((a, b) => a + b, 0),
      1000,
    );
  });

  it("20 inverters through one socket: every value lands with its inverter; a sleeping one does not hold up the others", async () => {
    const c = client();
    const plant = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sim({
          serial: 3200000000 + i,
          values: { acPowerL1: 1000 + i },
          latencyMs: 20,
          sleeping: i === 7,
        }),
      ),
    );
    // The order reads end in, not ms: each answered read ends before the sleeping one's (timeout 200 ms x 2).
    let ended = 0;
    let sleeperEndedAs = -1;
    const settled = await Promise.allSettled(
      plant.map(async (s, i) => {
        const r = await session(c, s, { timeoutMs: 200, retries: 1 })
          .read(["acPowerPhase"])
          .finally(() => {
            if (i === 7) sleeperEndedAs = ended;
            ended++;
          });
        return { serial: r.device.serial, p: r.values.acPowerL1 };
      }),
    );
    assert.equal(sleeperEndedAs, 19, "the sleeping inverter's read ends last");
    settled.forEach((x, i) => {
      if (i === 7) {
        assert.equal(x.status, "rejected");
        return;
      }
      assert.equal(x.status, "fulfilled");
      if (x.status === "fulfilled") {
        assert.equal(x.value.serial, 3200000000 + i);
        assert.equal(x.value.p, 1000 + i);
      }
    });
    assert.equal(c.transport.port !== undefined, true);
  });

  it("garbage and spoofed datagrams at the client's socket change nothing", async () => {
    const c = client();
    const s = await sim({ latencyMs: 5 });
    const inv = session(c, s);
    await inv.read(["acPowerPhase"]);
    const attacker = dgram.createSocket("udp4");
    const port = c.transport.port as number;
    let stop = false;
    const flood = (async () => {
      let n = 0;
      while (!stop) {
        const junk = Buffer.alloc(20 + (n % 200), n & 0xff);
        if (n % 3 === 0) Buffer.from("534d4100000402a0000000010026001060650990", "hex").copy(junk);
        attacker.send(junk, port, "127.0.0.1");
        n++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 50; i++) {
      const r = await inv.read(["acPowerPhase"]);
      assert.equal(r.values.acPowerL1, s.currentValues().acPowerL1);
    }
    stop = true;
    await flood;
    attacker.close();
    assert.ok(c.transport.stats.malformed + c.transport.stats.unmatched + c.transport.stats.rejected > 0);
  });
});

describe("login and device errors that say what happened", () => {
  /** The captured answer, re-addressed to this client and request (bytes 20-25 destination, 40-41 packet id). */
  function readdressed(hexAnswer: string, h: Net2Header): Buffer {
    const b = Buffer.from(hexAnswer, "hex");
    b.writeUInt16LE(h.source.susyId, 20);
    b.writeUInt32LE(h.source.serial, 22);
    b.writeUInt16LE(h.packetId | 0x8000, 40);
    return b;
  }

  it("0x0102 from a real Sunny Boy (captured answer): EREFUSED 'login refused (busy)', not EPROTOCOL, no wrong-password back-off", async () => {
    const refused = loadCaptures().find((c) => c.id === "plant-sb3-login-refused-0102");
    assert.ok(refused, "capture plant-sb3-login-refused-0102");
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    after(() => sock.close());
    let logins = 0;
    sock.on("message", (m, rinfo) => {
      const { header: h } = decodeInverterDatagram(m);
      if (h.command !== Command.LOGIN) return;
      logins++;
      sock.send(readdressed(refused.hex, h), rinfo.port, rinfo.address);
    });
    const inv = client().inverter({
      host: "127.0.0.1",
      port: sock.address().port,
      password: "0000",
      timeoutMs: 300,
      retries: 2,
      loginBusyRetryMs: 100,
    });
    const states: string[] = [];
    inv.on("state", (st: string) => states.push(st));
    const err = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(err instanceof SmaError);
    assert.equal(err.code, "EREFUSED");
    assert.equal(err.deviceCode, 0x0102);
    assert.match(err.message, /login refused \(busy\)/);
    assert.match(err.message, /0x0102/);
    // Tried again inside the read's time (3 x 300 ms, a login every 100 ms): more than one login, at most ten.
    assert.ok(logins >= 2 && logins <= 10, `${logins} logins in one read`);
    assert.ok(!states.includes("auth"), states.join(","));
    // No back-off: the next read logs in again at once.
    const before = logins;
    const again = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(again instanceof SmaError && again.code === "EREFUSED" && !again.paused);
    assert.ok(logins > before, "the next read tried a login");
  });

  it("logins refused (0x0102) for a while: the read retries inside its time and gets the values", async () => {
    const s = await sim({ refuseLoginsMs: 300 });
    const inv = session(client(), s, { timeoutMs: 300, retries: 2, loginBusyRetryMs: 100 });
    const r = await inv.read(["acPowerPhase", "energy"]);
    assert.equal(r.values.totalYield, s.currentValues().totalYield);
    assert.ok(s.stats.busyLogins >= 1, `${s.stats.busyLogins} refused logins`);
    assert.equal(s.stats.loginFailures, 0);
  });

  it("logins refused longer than a read: EREFUSED each read (no back-off), then values as soon as the device takes a login", async () => {
    const s = await sim({ refuseLoginsMs: 60_000 });
    const inv = session(client(), s, { timeoutMs: 100, retries: 1, loginBusyRetryMs: 50 });
    for (let i = 0; i < 3; i++) {
      const err = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
      assert.ok(err instanceof SmaError && err.code === "EREFUSED", String(err));
      assert.equal(err.paused, false);
    }
    assert.ok(s.stats.busyLogins >= 3);
    s.refuseLogins(0);
    const r = await inv.read(["acPowerPhase"]);
    assert.equal(r.values.acPowerL1, s.currentValues().acPowerL1);
  });

  it("a wrong password says 0x0100 and where newer devices print their initial password", async () => {
    const s = await sim({ userPassword: "1234" });
    const err = await session(client(), s, { password: "9999" })
      .read(["acPowerPhase"])
      .catch((e: SmaError) => e);
    assert.ok(err instanceof SmaError && err.code === "EAUTH");
    assert.match(err.message, /0x0100/);
    assert.match(err.message, /RID \/ WPA2 key/);
  });

  it("a serial typed one digit wrong: EOTHERDEVICE 'device at HOST is SN X, not Y' (not 'no answer'), once", async () => {
    const s = await sim({ serial: 3000000017 });
    const inv = session(client(), s, { serial: 3000000018, timeoutMs: 100, retries: 1 });
    const err = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(err instanceof SmaError);
    assert.equal(err.code, "EOTHERDEVICE");
    assert.equal(err.foundSerial, 3000000017);
    assert.equal(err.foundSusyId, s.susyId);
    assert.match(err.message, /device at 127\.0\.0\.1 is SN 3000000017, not 3000000018/);
    assert.equal(err.quiet, false);
    const again = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(again instanceof SmaError && again.code === "EOTHERDEVICE");
    assert.equal(again.quiet, true, "said once, as an outage is");
    assert.equal(s.stats.logins, 0, "the login addressed to the other serial was not for this device");
    const right = await session(client(), s, { serial: 3000000017 }).read(["acPowerPhase"]);
    assert.equal(right.device.serial, 3000000017);
  });

  it("a device that does not answer at all stays ETIMEDOUT with a serial set (no device to name)", async () => {
    const s = await sim({ sleeping: true });
    const err = await session(client(), s, { serial: 3000000018, timeoutMs: 100, retries: 1 })
      .read(["acPowerPhase"])
      .catch((e: SmaError) => e);
    assert.ok(err instanceof SmaError && err.code === "ETIMEDOUT", String(err));
  });

  it("Speedwire encryption on (the plant answers with a 0x6075 key exchange): EENCRYPTED, not 'no answer'", async () => {
    const s = await sim({ encrypted: true });
    const c = client();
    const inv = session(c, s, { serial: s.serial, timeoutMs: 100, retries: 1 });
    const err = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(err instanceof SmaError);
    assert.equal(err.code, "EENCRYPTED");
    assert.match(err.message, /Speedwire encryption is on/);
    assert.ok(s.stats.keyExchanges >= 1);
    assert.ok(c.transport.stats.keyExchanges >= 1);
    assert.equal(s.stats.logins, 0, "the plain login was ignored");
    const again = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(again instanceof SmaError && again.code === "EENCRYPTED" && again.quiet);
  });

  it("a key exchange heard on the group (meter listener) from the host, whose plain login gets no answer: EENCRYPTED", async () => {
    // A device on 127.0.0.1 that ignores plain Speedwire, and a meter listener standing in for the multicast group.
    const device = dgram.createSocket("udp4");
    await new Promise<void>((r) => device.bind(0, "127.0.0.1", () => r()));
    after(() => device.close());
    const listener = MeterListener.acquire({ port: 0, group: null, bindAddress: "127.0.0.1" });
    after(() => listener.close());
    const { port: groupPort } = await listener.ready();
    const inv = client().inverter({
      host: "127.0.0.1",
      port: device.address().port,
      password: "0000",
      timeoutMs: 100,
      retries: 1,
    });
    const exchange = buildKeyExchange({
      type: 1,
      source: { susyId: 342, serial: 1992064811 },
      destination: { susyId: 0xffff, serial: 0xffffffff },
    });
    await new Promise<void>((r) => device.send(exchange, groupPort, "127.0.0.1", () => r()));
    for (let i = 0; i < 50 && listener.stats.keyExchanges === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(listener.stats.keyExchanges, 1);
    const err = await inv.read(["acPowerPhase"]).catch((e: SmaError) => e);
    assert.ok(err instanceof SmaError && err.code === "EENCRYPTED", String(err));
  });

  it("0x0014 (object unknown to the device) and 0x0015 (known, no value) are told apart; both give null, not an error", async () => {
    const s = await sim({ profile: "pv", unknown: ["gridPower"] });
    const inv = session(client(), s);
    const r = await inv.read(["batterySoc", "gridPower", "acPowerPhase"]);
    assert.deepEqual(r.unsupported, ["batterySoc"]);
    assert.deepEqual(r.unknown, ["gridPower"]);
    assert.equal(r.nothingSupported, false);
    const again = await inv.read(["batterySoc", "gridPower"]);
    assert.deepEqual(
      [again.unsupported, again.unknown, again.nothingSupported],
      [["batterySoc"], ["gridPower"], true],
      "remembered with its code",
    );
    assert.equal(s.stats.queries.gridPower, 1);
  });

  it("an error code the client cannot act on is printed in hex", async () => {
    const fake = await fakeInverter((h, reply) =>
      reply(
        buildErrorAnswer({
          source: FAKE,
          destination: h.source,
          packetId: h.packetId,
          command: h.command,
          first: h.first,
          last: h.last,
          errorCode: 0x0123,
        }),
      ),
    );
    const err = await client()
      .inverter({ host: "127.0.0.1", port: fake.port, password: "0000", timeoutMs: 300 })
      .read(["energy"])
      .catch((e: SmaError) => e);
    assert.ok(err instanceof SmaError && err.code === "EPROTOCOL");
    assert.equal(err.deviceCode, 0x0123);
    assert.match(err.message, /error 0x0123/);
  });
});
