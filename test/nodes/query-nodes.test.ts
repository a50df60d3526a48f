/** Every query node in a Node-RED runtime (test helper) against a simulated inverter on 127.0.0.1. */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { helper, load, nextMessage, settings, type TestNode } from "../harness/red-helper";
import { SimulatedInverter, type SimulatedInverterOptions } from "../../src/simulator";
import { SpeedwireClient } from "../../src/client";
import inverterNode = require("../../nodes/sma-inverter/sma-inverter");
import queryNodes = require("../../nodes/sma-query/sma-query");
import readNode = require("../../nodes/sma-read/sma-read");
import archiveNode = require("../../nodes/sma-archive/sma-archive");
import type { InverterConfigNode } from "../../nodes/shared/query-node";
import { watchLag } from "../harness/lag";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require("@node-red/nodes/core/common/25-catch.js");

const NODES = [inverterNode, queryNodes, readNode, catchNode];
const sims: SimulatedInverter[] = [];

async function sim(opts: Partial<SimulatedInverterOptions> = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, ...opts });
  sims.push(s);
  await s.start();
  return s;
}

function flow(
  s: SimulatedInverter,
  type: string,
  extra: Record<string, unknown> = {},
  inv: Record<string, unknown> = {},
) {
  return [
    {
      id: "inv",
      type: "sma-inverter",
      host: "127.0.0.1",
      port: String(s.port),
      serial: "",
      group: "user",
      timeout: "200",
      retries: "1",
      ...inv,
    },
    { id: "q", type, inverter: "inv", topic: "", wires: [["out"]], ...extra },
    { id: "out", type: "helper" },
    { id: "c", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper" },
  ];
}

async function readOnce(s: SimulatedInverter, type: string, extra: Record<string, unknown> = {}, password = "0000") {
  await load(NODES, flow(s, type, extra), { inv: { password } });
  const out = helper.getNode("out");
  const got = nextMessage(out);
  helper.getNode("q").receive({ payload: "go" });
  return got;
}

before(() => undefined);
afterEach(async () => {
  await helper.unload();
});
after(async () => {
  await Promise.all(sims.map((x) => x.stop()));
});

/**
 * Resolves once the next read a query node starts on the session of config node `inv` has ended and what the node
 * does then (status, send, done) has run, and Node-RED has delivered it (a few turns of the event loop): on a busy
 * machine a fixed sleep ends before a read of timeout x (retries + 1) does.
 */
function nextReadEnd(inv = "inv"): Promise<void> {
  const session = (helper.getNode(inv) as InverterConfigNode).session;
  assert.ok(session, "the config node has a session");
  const read = session.read;
  return new Promise((resolve) => {
    session.read = (queries) => {
      session.read = read;
      const p = read.call(session, queries);
      const settle = (turns: number): void => void (turns === 0 ? resolve() : setImmediate(() => settle(turns - 1)));
      p.then(
        () => settle(5),
        () => settle(5),
      );
      return p;
    };
  });
}

/** Sends one input to node `q` and resolves when the read it started has ended (see nextReadEnd). */
async function poll(q: TestNode, msg: Record<string, unknown> = {}): Promise<void> {
  const ended = nextReadEnd();
  q.receive(msg);
  await ended;
}

/** Resolves with the next request of `kind` (login, logoff, query, ...) the simulator receives. */
function nextRequest(s: SimulatedInverter, kind: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (r: { kind: string }): void => {
      if (r.kind !== kind) return;
      s.off("request", on);
      resolve();
    };
    s.on("request", on);
  });
}

const expectKeys = (p: Record<string, unknown>, keys: string[]) =>
  assert.deepEqual(Object.keys(p).sort(), [...keys].sort());

describe("query nodes send flat payloads in stated units", () => {
  it("sma-energy: totalYield, dayYield (Wh), operatingTime, feedInTime (s)", async () => {
    const s = await sim();
    const msg = await readOnce(s, "sma-energy");
    const v = s.currentValues();
    assert.deepEqual(msg.payload, {
      totalYield: v.totalYield,
      dayYield: v.dayYield,
      operatingTime: v.operatingTime,
      feedInTime: v.feedInTime,
    });
    assert.equal(msg.topic, `sma/${s.serial}/energy`);
    const sma = msg.sma as Record<string, number>;
    assert.equal(sma.serial, s.serial);
    assert.equal(typeof sma.timestamp, "number");
  });

  it("sma-spot-ac: power, per-phase power, voltage, current and frequency", async () => {
    const s = await sim({ phases: 3 });
    const msg = await readOnce(s, "sma-spot-ac", { topic: "house/ac" });
    const p = msg.payload as Record<string, unknown>;
    const v = s.currentValues();
    expectKeys(p, [
      "power",
      "powerL1",
      "powerL2",
      "powerL3",
      "voltageL1",
      "voltageL2",
      "voltageL3",
      "currentL1",
      "currentL2",
      "currentL3",
      "frequency",
    ]);
    assert.equal(p.powerL2, v.acPowerL2);
    assert.equal(p.voltageL3, v.acVoltageL3);
    assert.equal(p.currentL1, v.acCurrentL1);
    assert.equal(p.frequency, v.gridFrequency);
    assert.equal(p.power, v.acPower);
    assert.equal(msg.topic, "house/ac");
  });

  it("sma-spot-dc: power is the sum of the strings, with power/voltage/current per string", async () => {
    const s = await sim({ strings: 3 });
    const msg = await readOnce(s, "sma-spot-dc");
    const p = msg.payload as Record<string, number>;
    const v = s.currentValues() as Record<string, number>;
    expectKeys(p, [
      "power",
      "power1",
      "power2",
      "power3",
      "voltage1",
      "voltage2",
      "voltage3",
      "current1",
      "current2",
      "current3",
    ]);
    assert.equal(p.power, Number((v.dcPower1 + v.dcPower2 + v.dcPower3).toFixed(6)));
    assert.equal(p.voltage2, v.dcVoltage2);
  });

  it("at night the spot values are null, not 0", async () => {
    const s = await sim({ night: true });
    const msg = await readOnce(s, "sma-spot-ac");
    const p = msg.payload as Record<string, unknown>;
    for (const k of ["power", "powerL1", "currentL1"]) assert.equal(p[k], null, k);
  });

  it("sma-status names status and relay and keeps their codes", async () => {
    const s = await sim();
    const p = (await readOnce(s, "sma-status")).payload as Record<string, unknown>;
    expectKeys(p, ["status", "statusCode", "gridRelay", "gridRelayCode", "temperature", "operatingTime", "feedInTime"]);
    assert.equal(p.status, "Ok");
    assert.equal(p.statusCode, 307);
    assert.equal(p.gridRelay, "Closed");
    assert.equal(typeof p.temperature, "number");
  });

  it("sma-device-info gives model, class, firmware, serial", async () => {
    const s = await sim();
    const p = (await readOnce(s, "sma-device-info")).payload as Record<string, unknown>;
    assert.equal(p.serial, s.serial);
    assert.equal(typeof p.firmware, "string");
    assert.match(String(p.firmware), /^\d+\.\d{2}\.\d{2}\.[A-Z]$/);
    assert.equal(p.deviceClass, "Solar inverter");
    assert.equal(typeof p.model, "string");
  });

  it("sma-device-info: device clock fields null until the device pushes its time, then time, drift, zone, DST, last setting", async () => {
    const s = await sim({ clockOffsetS: -90, timeZoneOffsetS: 3600, dst: true });
    const first = (await readOnce(s, "sma-device-info")).payload as Record<string, unknown>;
    for (const k of ["deviceTime", "clockDrift", "timeZoneOffset", "dst", "clockSetAt"])
      assert.equal(first[k], null, k);
    const session = (helper.getNode("inv") as unknown as InverterConfigNode).session;
    assert.ok(session);
    assert.equal(await s.pushTime(), 1);
    const end = Date.now() + 3000;
    while (!session.deviceClock && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    const got = nextMessage(helper.getNode("out"));
    helper.getNode("q").receive({ payload: "go" });
    const p = (await got).payload as Record<string, number>;
    assert.ok(Math.abs(p.clockDrift + 90) <= 1, `clockDrift ${p.clockDrift}`);
    assert.ok(Math.abs(p.deviceTime - (Date.now() - 90_000)) < 10_000, `deviceTime ${p.deviceTime}`);
    assert.equal(p.timeZoneOffset, 3600);
    assert.equal(p.dst, 1);
    assert.ok(p.clockSetAt < p.deviceTime);
    assert.equal(p.serial, s.serial, "the other fields stay");
  });

  it("sma-battery with 2 of 3 batteries fitted reports each one under its number, never combined", async () => {
    // Battery records as a Sunny Boy Storage sends them: all class 7, A first, battery C "no value" (simulator).
    const s = await sim({
      profile: "battery",
      batteries: 2,
      values: { batteryTemperature1: 24.5, batteryTemperature2: 31 },
    });
    const p = (await readOnce(s, "sma-battery")).payload as Record<string, unknown>;
    const v = s.currentValues();
    expectKeys(p, [
      "soc",
      "temperature",
      "voltage",
      "current",
      "chargePower",
      "dischargePower",
      "chargeTotal",
      "dischargeTotal",
      "batteries",
      "soc1",
      "temperature1",
      "voltage1",
      "current1",
      "soc2",
      "temperature2",
      "voltage2",
      "current2",
    ]);
    assert.deepEqual([p.temperature1, p.temperature2], [24.5, 31]);
    assert.deepEqual(
      [p.voltage1, p.voltage2, p.current1, p.current2],
      [v.batteryVoltage1, v.batteryVoltage2, v.batteryCurrent1, v.batteryCurrent2],
    );
    assert.deepEqual([p.soc1, p.soc2], [v.batteryPackSoc1, v.batteryPackSoc2]);
    assert.notEqual(p.soc1, p.soc2);
    // Two batteries: no "hottest", no mean, no sum.
    assert.deepEqual([p.temperature, p.voltage, p.current], [null, null, null]);
    assert.equal(p.batteries, 2);
    assert.equal(p.soc, v.batterySoc);
  });

  it("sma-battery with one battery: the unnumbered fields are that battery's", async () => {
    const s = await sim({ profile: "hybrid", values: { batteryTemperature1: 27.5 } });
    const p = (await readOnce(s, "sma-battery")).payload as Record<string, unknown>;
    const v = s.currentValues();
    assert.deepEqual(
      [p.temperature, p.temperature1, p.voltage, p.current, p.batteries],
      [27.5, 27.5, v.batteryVoltage1, v.batteryCurrent1, 1],
    );
    assert.ok(!("temperature2" in p) && !("temperature3" in p));
  });

  it("sma-battery: charge and discharge power and totals each come from their own value", async () => {
    // Four different numbers: a field fed from its twin (charge <-> discharge) shows as a wrong number, not an error.
    const values = {
      batteryChargePower: 1234,
      batteryDischargePower: 567,
      batteryChargeTotal: 111_111,
      batteryDischargeTotal: 99_999,
    };
    const s = await sim({ profile: "hybrid", values });
    const p = (await readOnce(s, "sma-battery")).payload as Record<string, unknown>;
    assert.deepEqual([p.chargePower, p.dischargePower, p.chargeTotal, p.dischargeTotal], [1234, 567, 111_111, 99_999]);
  });

  it("sma-battery on a PV-only inverter gives nulls and no error, poll after poll", async () => {
    const s = await sim({ profile: "pv" });
    await load(NODES, flow(s, "sma-battery"), { inv: { password: "0000" } });
    const caught: unknown[] = [];
    helper.getNode("caught").on("input", () => caught.push(1));
    const seen = recordStatuses(helper.getNode("q"));
    for (let i = 0; i < 3; i++) {
      const got = nextMessage(helper.getNode("out"));
      helper.getNode("q").receive({});
      const p = (await got).payload as Record<string, unknown>;
      assert.ok(Object.values(p).every((x) => x === null));
      // The session says nothing asked for is supported; the node shows it (grey ring), not "ok".
      assert.deepEqual(
        seen.at(-1),
        { fill: "grey", shape: "ring", text: "@speedwire/node-red-sma/sma-inverter:status.notSupported" },
        `poll ${i}`,
      );
    }
    assert.equal(caught.length, 0);
    assert.equal(s.stats.queries.batterySoc ?? 0, 1);
  });

  it("sma-grid: import/export power and energy, signed power", async () => {
    const s = await sim({ profile: "hybrid" });
    const p = (await readOnce(s, "sma-grid")).payload as Record<string, number>;
    expectKeys(p, ["powerImport", "powerExport", "power", "energyImport", "energyExport"]);
    assert.equal(p.power, p.powerImport - p.powerExport);
  });

  it("4 DC strings (A-D) end to end: sma-spot-dc and sma-read give all four", async () => {
    const s = await sim({ strings: 4 });
    const v = s.currentValues() as Record<string, number>;
    const dc = (await readOnce(s, "sma-spot-dc")).payload as Record<string, number>;
    expectKeys(dc, ["power", ...[1, 2, 3, 4].flatMap((n) => [`power${n}`, `voltage${n}`, `current${n}`])]);
    for (const n of [1, 2, 3, 4])
      assert.deepEqual(
        [dc[`power${n}`], dc[`voltage${n}`], dc[`current${n}`]],
        [v[`dcPower${n}`], v[`dcVoltage${n}`], v[`dcCurrent${n}`]],
      );
    assert.equal(dc.power, Number((v.dcPower1 + v.dcPower2 + v.dcPower3 + v.dcPower4).toFixed(6)));
    await helper.unload();
    const read = (await readOnce(s, "sma-read", { values: ["dcPower", "dcCurrent"] })).payload as Record<
      string,
      unknown
    >;
    expectKeys(
      read,
      [1, 2, 3, 4].flatMap((n) => [`dcPower${n}`, `dcCurrent${n}`]),
    );
    assert.equal(read.dcPower4, v.dcPower4);
  });

  it("sma-read of battery values: numbered by position, a battery not fitted is null", async () => {
    const s = await sim({ profile: "battery", batteries: 2 });
    const v = s.currentValues();
    const p = (await readOnce(s, "sma-read", { values: ["batterySoc", "batteryTemperature", "batteryPackSoc"] }))
      .payload as Record<string, unknown>;
    expectKeys(p, [
      "batterySoc",
      "batteryTemperature1",
      "batteryTemperature2",
      "batteryTemperature3",
      "batteryPackSoc1",
      "batteryPackSoc2",
      "batteryPackSoc3",
    ]);
    assert.deepEqual(
      [p.batteryTemperature1, p.batteryTemperature2, p.batteryTemperature3],
      [v.batteryTemperature1, v.batteryTemperature2, null],
    );
    assert.deepEqual([p.batterySoc, p.batteryPackSoc3], [v.batterySoc, null]);
  });

  it("sma-read gives exactly the ticked values under the table's names", async () => {
    const s = await sim({ strings: 2 });
    const p = (await readOnce(s, "sma-read", { values: ["totalYield", "gridFrequency", "dcPower"] })).payload as Record<
      string,
      unknown
    >;
    expectKeys(p, ["totalYield", "gridFrequency", "dcPower1", "dcPower2"]);
    assert.equal(p.gridFrequency, s.currentValues().gridFrequency);
  });
});

describe("errors reach Catch nodes with a code", () => {
  async function caughtError(s: SimulatedInverter, password: string): Promise<Record<string, unknown>> {
    await load(NODES, flow(s, "sma-spot-ac"), { inv: { password } });
    const got = nextMessage(helper.getNode("caught"));
    helper.getNode("q").receive({ payload: 1 });
    return got;
  }

  it("a wrong password gives EAUTH", async () => {
    const s = await sim({ userPassword: "1234" });
    const msg = await caughtError(s, "0000");
    const error = msg.error as Record<string, unknown>;
    assert.equal(error.code, "EAUTH");
    assert.ok(!JSON.stringify(msg).includes("1234"));
  });

  it("no answer gives ETIMEDOUT once; while the inverter sleeps later polls stay quiet", async () => {
    const s = await sim();
    await readOnce(s, "sma-spot-ac");
    s.setSleeping(true);
    const caught: unknown[] = [];
    helper.getNode("caught").on("input", (m) => caught.push(m));
    for (let i = 0; i < 3; i++) await poll(helper.getNode("q"), { payload: i });
    assert.equal(caught.length, 1);
    assert.equal(((caught[0] as Record<string, unknown>).error as Record<string, unknown>).code, "ETIMEDOUT");
  });

  it("a query node without a config node fails with EINVAL", async () => {
    await load(NODES, [
      { id: "q", type: "sma-energy", inverter: "", wires: [] },
      { id: "c", type: "catch", scope: null, wires: [["caught"]] },
      { id: "caught", type: "helper" },
    ]);
    const got = nextMessage(helper.getNode("caught"));
    helper.getNode("q").receive({});
    assert.equal(((await got).error as Record<string, unknown>).code, "EINVAL");
  });
});

/** Every status the node sets from now on, in order. */
function recordStatuses(node: TestNode): Record<string, string>[] {
  const seen: Record<string, string>[] = [];
  const n = node as TestNode & { status: (st: Record<string, string>) => void };
  const original = n.status.bind(n);
  n.status = (st: Record<string, string>) => {
    seen.push(st);
    original(st);
  };
  return seen;
}

describe("status dots", () => {
  async function statusesOf(s: SimulatedInverter, password: string): Promise<Record<string, string>[]> {
    await load(NODES, flow(s, "sma-spot-ac"), { inv: { password } });
    const q = helper.getNode("q");
    const seen = recordStatuses(q);
    await poll(q);
    return seen;
  }

  it("a good read goes connecting (yellow) and ends as a green dot", async () => {
    const seen = await statusesOf(await sim(), "0000");
    assert.equal(seen[0].fill, "yellow");
    const last = seen[seen.length - 1];
    assert.deepEqual([last.fill, last.shape], ["green", "dot"]);
    assert.match(last.text, /status\.ok$/);
  });

  it("a wrong password ends in a red ring", async () => {
    const seen = await statusesOf(await sim({ userPassword: "1234" }), "0000");
    const last = seen[seen.length - 1];
    assert.deepEqual([last.fill, last.shape], ["red", "ring"]);
  });
});

describe("an inverter asleep for the night as the user meets it", () => {
  const statusKey = (st: Record<string, string>): string => `${st.fill}:${st.text.replace(/^.*status\./, "")}`;

  it("answered, then sleeps: one ETIMEDOUT at Catch, red 'no answer' until the silence rule, then a grey 'asleep' that stays, one datagram per poll, green again at dawn", async (t) => {
    const s = await sim();
    // asleepAfter 0: asleep by the count of unanswered attempts alone (by default also a minute of silence).
    settings({ smaSpeedwire: { asleepAfter: 0 } });
    t.after(() => settings({ smaSpeedwire: undefined }));
    await load(NODES, flow(s, "sma-spot-ac"), { inv: { password: "0000" } });
    const q = helper.getNode("q");
    const caught: unknown[] = [];
    const out: unknown[] = [];
    helper.getNode("caught").on("input", (m) => caught.push(m.error));
    helper.getNode("out").on("input", (m) => out.push(m.payload));
    await poll(q);
    assert.equal(out.length, 1);
    s.setSleeping(true);
    const seen = recordStatuses(q);
    await poll(q);
    assert.equal(statusKey(seen[seen.length - 1]), "red:timeout", "one read without an answer is not asleep");
    for (let i = 0; i < 8 && statusKey(seen[seen.length - 1]) !== "grey:asleep"; i++) await poll(q);
    const before = s.stats.received;
    await poll(q);
    await poll(q);
    assert.equal(s.stats.received - before, 2, "two night polls: one datagram each, no retries");
    assert.equal(caught.length, 1, "one error for the whole night");
    assert.equal((caught[0] as { code: string }).code, "ETIMEDOUT");
    assert.equal(statusKey(seen[seen.length - 1]), "grey:asleep");
    assert.ok(
      !seen
        .slice(seen.findIndex((st) => statusKey(st) === "grey:asleep"))
        .some((st) => st.fill === "yellow" || st.fill === "blue"),
      "no connecting/reading flicker on night polls: " + seen.map(statusKey).join(" "),
    );
    s.setSleeping(false);
    await poll(q);
    assert.equal(out.length, 2, "readings resume by themselves");
    assert.equal(seen[seen.length - 1].fill, "green");
  });

  it("asleep since deploy (restart at night): one ETIMEDOUT, then quiet polls with a red 'no answer'", async () => {
    const s = await sim({ sleeping: true });
    await load(NODES, flow(s, "sma-spot-ac"), { inv: { password: "0000" } });
    const q = helper.getNode("q");
    const caught: unknown[] = [];
    helper.getNode("caught").on("input", (m) => caught.push(m.error));
    const seen = recordStatuses(q);
    for (let i = 0; i < 4; i++) await poll(q);
    assert.equal(caught.length, 1, "not one error per poll");
    assert.equal(statusKey(seen[seen.length - 1]), "red:timeout");
  });
});

describe("link quality", () => {
  it("msg.sma.link: round-trip time, share of requests resent, last answer; the status hints at a lossy link", async () => {
    const s = await sim({ latencyMs: 10 });
    const lag = watchLag();
    const msg = await readOnce(s, "sma-spot-ac");
    lag.stop();
    const link = (msg.sma as { link: { rttMs: number; resentPct: number; lastAnswer: number } }).link;
    assert.deepEqual(Object.keys(link).sort(), ["lastAnswer", "resentPct", "rttMs"]);
    // A round trip is timed only for a request answered before its resend (RTO, at most the 200 ms timeout).
    assert.ok(
      link.rttMs >= 10 && link.rttMs < 200 + lag.margin(1),
      `rtt ${link.rttMs} (timers up to ${Math.round(lag.maxMs)} ms late)`,
    );
    // Nothing resent on this clean link unless an answer took longer than the RTO (a loaded machine): then it says so.
    const session = (helper.getNode("inv") as InverterConfigNode).session as NonNullable<InverterConfigNode["session"]>;
    assert.equal(
      link.resentPct === 0,
      s.stats.received === session.stats.requests,
      `${link.resentPct} % resent; ` + `${s.stats.received} datagrams for ${session.stats.requests} requests`,
    );
    assert.ok(Math.abs(Date.now() - link.lastAnswer) < 2000);

    await helper.unload();
    const lossy = await sim({ lossRequests: 0.3, lossAnswers: 0.3, seed: 3 });
    await load(NODES, flow(lossy, "sma-spot-ac", {}, { timeout: "1500", retries: "2" }), { inv: { password: "0000" } });
    const q = helper.getNode("q");
    const seen = recordStatuses(q);
    let last: Record<string, unknown> | undefined;
    for (let i = 0; i < 15; i++) {
      const got = nextMessage(helper.getNode("out"), 20_000).catch(() => undefined);
      q.receive({});
      last = (await got) ?? last;
    }
    const l = (last?.sma as { link: { resentPct: number } }).link;
    assert.ok(l.resentPct >= 20, `resent ${l.resentPct} %`);
    assert.match(seen[seen.length - 1].text, /status\.okPoor$/);
  });
});

describe("a wrong password as the user meets it", () => {
  it("each read reaches Catch with EAUTH; the status says wrong password, then login paused; one login at the inverter", async () => {
    const s = await sim({ userPassword: "1234" });
    await load(NODES, flow(s, "sma-energy"), { inv: { password: "0000" } });
    const q = helper.getNode("q");
    const seen = recordStatuses(q);
    const caught = helper.getNode("caught");
    for (let i = 0; i < 3; i++) {
      const got = nextMessage(caught);
      q.receive({});
      const msg = await got;
      assert.equal((msg.error as { code?: string }).code, "EAUTH");
    }
    const texts = seen.filter((st) => st.fill === "red").map((st) => st.text.replace(/^.*status\./, ""));
    assert.deepEqual(texts, ["auth", "auth", "backoff", "backoff"]);
    assert.equal(s.stats.logins, 1, "no login while the back-off lasts");
  });
});

describe("each node's own status (two nodes on one inverter)", () => {
  const key = (st: Record<string, string>): string => (st.text ?? "").replace(/^.*status\./, "");
  // The other node: a plain query node, sma-read and sma-archive all bind to the session alike (bindSession).
  const OTHERS: Record<string, Record<string, unknown>> = {
    "sma-spot-ac": {},
    "sma-read": { values: ["acPower"] },
    "sma-archive": { archive: "day", span: "1" },
  };

  async function deployTwo(
    s: SimulatedInverter,
    other: string,
    password = "0000",
  ): Promise<{ q1: TestNode; q2: TestNode }> {
    await load(
      [...NODES, archiveNode],
      [
        ...flow(s, "sma-energy"),
        { id: "q2", type: other, inverter: "inv", topic: "", wires: [["out2"]], ...OTHERS[other] },
        { id: "out2", type: "helper" },
      ],
      { inv: { password } },
    );
    return { q1: helper.getNode("q"), q2: helper.getNode("q2") };
  }
  const settle = (ms = 400) => new Promise((r) => setTimeout(r, ms));

  for (const other of Object.keys(OTHERS)) {
    it(`${other} never triggered shows nothing while sma-energy reads: no "reading", no "ok", none left after deploy`, async () => {
      const s = await sim();
      const { q1, q2 } = await deployTwo(s, other);
      const seen1 = recordStatuses(q1);
      const seen2 = recordStatuses(q2);
      for (let i = 0; i < 3; i++) {
        const got = nextMessage(helper.getNode("out"));
        q1.receive({});
        await got;
      }
      await settle(100);
      assert.deepEqual(seen2.map(key), [], "the untriggered node's dot stays as deployed");
      assert.deepEqual(key(seen1.at(-1) ?? {}), "ok");
      assert.ok(
        seen1.some((st) => key(st) === "reading"),
        "the triggered node says reading while it reads",
      );
    });

    it(`${other} reads once: its own "ok", and it does not say "reading" while sma-energy reads later`, async () => {
      const s = await sim();
      const { q1, q2 } = await deployTwo(s, other);
      const got2 = nextMessage(helper.getNode("out2"));
      q2.receive({});
      await got2;
      const seen2 = recordStatuses(q2);
      const got1 = nextMessage(helper.getNode("out"));
      q1.receive({});
      await got1;
      await settle(100);
      assert.deepEqual(seen2.map(key), [], "the other node keeps its own ok");
    });

    it(`an error of sma-energy's own read does not show on ${other}`, async () => {
      const s = await sim();
      const { q1, q2 } = await deployTwo(s, other);
      const got2 = nextMessage(helper.getNode("out2"));
      q2.receive({});
      await got2;
      const seen2 = recordStatuses(q2);
      const seen1 = recordStatuses(q1);
      // The inverter refuses sma-energy's query with an error code the client cannot act on: EPROTOCOL for that read.
      const session = (helper.getNode("inv") as InverterConfigNode).session as unknown as {
        query: (name: string) => Promise<unknown>;
      };
      const query = session.query.bind(session);
      session.query = (name) => (name === "energy" ? Promise.resolve({ errorCode: 0x0042, records: [] }) : query(name));
      const caught = nextMessage(helper.getNode("caught"));
      q1.receive({});
      assert.equal(((await caught).error as { code: string }).code, "EPROTOCOL");
      await settle(100);
      assert.equal(key(seen1.at(-1) ?? {}), "deviceError", "the device's code shows: device error 0x0042");
      assert.deepEqual(seen2.map(key), [], "the other node's dot is untouched");
    });

    it(`a wrong password shows on sma-energy and on ${other}`, async () => {
      const s = await sim({ userPassword: "1234" });
      const { q1, q2 } = await deployTwo(s, other);
      const seen2 = recordStatuses(q2);
      const seen1 = recordStatuses(q1);
      const caught = nextMessage(helper.getNode("caught"));
      q1.receive({});
      assert.equal(((await caught).error as { code: string }).code, "EAUTH");
      assert.equal(key(seen1.at(-1) ?? {}), "auth");
      assert.equal(key(seen2.at(-1) ?? {}), "auth");
    });
  }

  it("the inverter answers again: a node back from a session-wide state shows its own last outcome", async () => {
    const s = await sim();
    const { q1, q2 } = await deployTwo(s, "sma-spot-ac");
    const got2 = nextMessage(helper.getNode("out2"));
    q2.receive({});
    await got2;
    s.setSleeping(true);
    await poll(q1);
    const seen2 = recordStatuses(q2);
    s.setSleeping(false);
    const got1 = nextMessage(helper.getNode("out"));
    q1.receive({});
    await got1;
    await settle(100);
    assert.equal(key(seen2.at(-1) ?? {}), "ok", "sma-spot-ac's own ok again, not asleep");
  });

  it("no password set: EINVAL at Catch, the status says so, no login is sent", async () => {
    const s = await sim();
    const { q1 } = await deployTwo(s, "sma-spot-ac", "");
    const seen1 = recordStatuses(q1);
    const caught = nextMessage(helper.getNode("caught"));
    q1.receive({});
    assert.equal(((await caught).error as { code: string }).code, "EINVAL");
    assert.equal(key(seen1.at(-1) ?? {}), "noPassword");
    assert.equal(s.stats.logins, 0);
  });
});

describe("an inverter addressed by its serial (empty host)", () => {
  it("is found by the search set in settings.js, read, and its status says where it was found", async (t) => {
    const first = await sim({ address: "127.0.0.91", serial: 3000000911 });
    const second = await sim({ address: "127.0.0.92", port: first.port, serial: 3000000912 });
    settings({
      smaSpeedwire: {
        discoveryTargets: [`127.0.0.91:${first.port}`, `127.0.0.92:${first.port}`],
        discoveryTimeout: 500,
      },
    });
    t.after(() => settings({ smaSpeedwire: undefined }));
    await load(NODES, flow(second, "sma-spot-ac", {}, { host: "", serial: "3000000912" }), {
      inv: { password: "0000" },
    });
    const q = helper.getNode("q");
    const seen = recordStatuses(q);
    const got = nextMessage(helper.getNode("out"));
    q.receive({});
    const msg = await got;
    assert.equal((msg.sma as Record<string, number>).serial, 3000000912);
    assert.equal((msg.sma as Record<string, unknown>).address, "127.0.0.92");
    assert.equal((msg.payload as Record<string, unknown>).power, second.currentValues().acPower);
    assert.equal(first.stats.logins, 0);
    assert.match(seen[0].text, /status\.searching$/);
    assert.match(seen[seen.length - 1].text, /status\.okFound$/);
  });
});

describe("redeploy", () => {
  it("closing the flow logs off from the inverter", async () => {
    const s = await sim();
    await readOnce(s, "sma-energy");
    const logoff = nextRequest(s, "logoff");
    await helper.unload();
    await logoff;
    await new Promise((r) => setImmediate(r));
    assert.equal(s.stats.logoffs, 1);
  });

  it("the device forgets the port of a closed flow: redeploys leave no stale partners behind", async () => {
    // A Sunny Boy Storage sends its 0x51800200 requests to every (address, port) that logged in and did not log off.
    const s = await sim();
    for (let deploy = 1; deploy <= 3; deploy++) {
      await readOnce(s, "sma-energy");
      assert.equal(s.partners.length, 1, `deploy ${deploy}: one partner, this flow's`);
      const logoff = nextRequest(s, "logoff");
      await helper.unload();
      await logoff;
      assert.deepEqual(s.partners, [], `deploy ${deploy}: forgotten after the close`);
    }
    assert.equal(s.stats.logoffs, 3);
  });
});

describe("transport errors", () => {
  it("reach the log through the config node, once a minute per kind however often they repeat", async () => {
    const s = await sim();
    await load(NODES, [...flow(s, "sma-energy"), { ...flow(s, "sma-energy")[0], id: "inv2" }], {
      inv: { password: "0000" },
      inv2: { password: "0000" },
    });
    const warned: string[] = [];
    for (const id of ["inv", "inv2"]) {
      const n = helper.getNode(id) as TestNode & { warn: (m: unknown) => void };
      n.warn = (m: unknown) => void warned.push(String(m));
    }
    const transport = SpeedwireClient.acquire().transport;
    try {
      for (let i = 0; i < 5; i++) transport.emit("socketError", new Error("EHOSTDOWN boom"));
      transport.emit("handlerError", new Error("bad handler"));
      transport.emit("handlerError", new Error("bad handler"));
    } finally {
      await SpeedwireClient.release();
    }
    // Two config nodes share the transport: still one line per kind.
    assert.equal(warned.length, 2, warned.join(" | "));
    assert.match(warned[0], /log\.socketError/);
    assert.match(warned[1], /log\.handlerError/);
  });
});

export type { TestNode };

describe("login and device errors as the user meets them", () => {
  const key = (st: Record<string, string>): string => `${st.fill}:${(st.text ?? "").replace(/^.*status\./, "")}`;

  /** Deploys sma-spot-ac on s, polls `polls` times, and gives what reached Catch and every status of the node. */
  async function pollErrors(s: SimulatedInverter, polls: number, inv: Record<string, unknown> = {}) {
    await load(NODES, flow(s, "sma-spot-ac", {}, inv), { inv: { password: "0000" } });
    const q = helper.getNode("q");
    const seen = recordStatuses(q);
    const caught: Record<string, unknown>[] = [];
    helper
      .getNode("caught")
      .on("input", (m: Record<string, unknown>) => caught.push(m.error as Record<string, unknown>));
    for (let i = 0; i < polls; i++) {
      const got = nextMessage(helper.getNode("caught"));
      q.receive({});
      await got;
    }
    return { q, seen, caught };
  }

  it("logins refused although the password is right (0x0102): EREFUSED at Catch, 'login refused, busy', a login on every poll (no back-off), values once it takes one", async () => {
    const s = await sim({ refuseLoginsMs: 60_000 });
    const { q, seen, caught } = await pollErrors(s, 3);
    assert.deepEqual(
      caught.map((e) => e.code),
      ["EREFUSED", "EREFUSED", "EREFUSED"],
    );
    assert.match(String(caught[0].message), /login refused \(busy\).*0x0102/);
    const reds = seen.filter((st) => st.fill === "red").map(key);
    assert.ok(reds.length >= 3 && reds.every((k) => k === "red:refused"), reds.join(" "));
    assert.ok(!seen.map(key).some((k) => /backoff|auth/.test(k)), "no wrong password, no login paused");
    assert.equal(s.stats.busyLogins, 3, "each poll logged in (no back-off)");
    s.refuseLogins(0);
    const got = nextMessage(helper.getNode("out"));
    q.receive({});
    await got;
    assert.equal(seen.at(-1)?.fill, "green");
  });

  it("a serial typed one digit wrong: EOTHERDEVICE at Catch with the serial found, status 'other serial'", async () => {
    const s = await sim({ serial: 3000000017 });
    const { seen, caught } = await pollErrors(s, 1, { serial: "3000000018" });
    assert.equal(caught[0].code, "EOTHERDEVICE");
    assert.match(String(caught[0].message), /device at 127\.0\.0\.1 is SN 3000000017, not 3000000018/);
    assert.equal(key(seen.at(-1) ?? {}), "red:otherDevice");
  });

  it("Speedwire encryption on: EENCRYPTED at Catch, status 'encryption is on', not 'no answer'", async () => {
    const s = await sim({ encrypted: true });
    const { seen, caught } = await pollErrors(s, 1);
    assert.equal(caught[0].code, "EENCRYPTED");
    assert.match(String(caught[0].message), /Speedwire encryption is on/);
    assert.equal(key(seen.at(-1) ?? {}), "red:encrypted");
  });

  it("objects the device does not know (0x0014) read as null with 'unknown to device'; known ones it lacks (0x0015) 'not supported'", async () => {
    const s = await sim({ profile: "pv", unknown: ["gridPower", "gridEnergy"] });
    await load(NODES, flow(s, "sma-grid"), { inv: { password: "0000" } });
    const seen = recordStatuses(helper.getNode("q"));
    const caught: unknown[] = [];
    helper.getNode("caught").on("input", () => caught.push(1));
    const got = nextMessage(helper.getNode("out"));
    helper.getNode("q").receive({});
    const p = (await got).payload as Record<string, unknown>;
    assert.ok(Object.values(p).every((x) => x === null));
    assert.equal(key(seen.at(-1) ?? {}), "grey:unknownObject");
    assert.equal(caught.length, 0);
  });
});
