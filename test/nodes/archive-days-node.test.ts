/**
 * sma-archive in a Node-RED runtime that runs in Europe/Berlin: gap-fills just after local midnight, date-only
 * strings as local days, DST days, and odd archive records (spikes, counter resets) told in msg.sma.dropped.
 * node:test runs every test file in its own process, and Node applies a TZ set on process.env at once: this file
 * sets it before any Date is made (run alone: `node --test build/test/nodes/archive-days-node.test.js`).
 */
process.env.TZ = "Europe/Berlin";

import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { helper, load, nextMessage } from "../harness/red-helper";
import { SimulatedInverter, type SimulatedInverterOptions } from "../../src/simulator";
import { timeOf } from "../../nodes/shared/archive";
import inverterNode = require("../../nodes/sma-inverter/sma-inverter");
import archiveNode = require("../../nodes/sma-archive/sma-archive");

const sims: SimulatedInverter[] = [];
type Point = { time: number; totalYield: number; yield: number; power: number | null };
const local = (y: number, m: number, d: number, h = 0, min = 0): number => new Date(y, m - 1, d, h, min).getTime();

async function sim(now: Date, o: Partial<SimulatedInverterOptions> = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: true, clock: () => now, ...o });
  sims.push(s);
  await s.start();
  return s;
}

/** Deploys an inverter and an archive node, sends one message, returns what comes out. */
async function run(
  s: SimulatedInverter,
  node: Record<string, unknown>,
  payload: unknown,
): Promise<{ payload: Point[]; sma: Record<string, unknown> }> {
  await load(
    [inverterNode, archiveNode],
    [
      {
        id: "inv",
        type: "sma-inverter",
        host: "127.0.0.1",
        port: String(s.port),
        serial: "",
        group: "user",
        timeout: "300",
        retries: "2",
      },
      { id: "a", type: "sma-archive", inverter: "inv", wires: [["out"]], ...node },
      { id: "out", type: "helper" },
    ],
    { inv: { password: "0000" } },
  );
  const got = nextMessage(helper.getNode("out"));
  helper.getNode("a").receive({ payload });
  const msg = await got;
  return { payload: msg.payload as Point[], sma: msg.sma as Record<string, unknown> };
}

afterEach(async () => {
  await helper.unload();
});
after(async () => {
  await Promise.all(sims.map((x) => x.stop()));
});

describe("sma-archive in local days (TZ=Europe/Berlin)", () => {
  it("date-only strings are local midnights of the zone Node-RED runs in", () => {
    assert.equal(timeOf("2025-03-31"), Date.UTC(2025, 2, 30, 22));
    assert.equal(timeOf("2025-01-15"), Date.UTC(2025, 0, 14, 23));
    assert.equal(
      timeOf("2025-03-31T00:00:00Z"),
      Date.UTC(2025, 2, 31),
      "an ISO string with an offset stays what it says",
    );
    assert.equal(timeOf("2025-02-30"), undefined);
  });

  for (const next of [false, true]) {
    const how = next ? "following" : "own";
    it(`a gap-fill at 00:30 local (the last 24 hours) gets yesterday's total (stamped at the ${how} midnight)`, async () => {
      const now = new Date(2025, 5, 21, 0, 30);
      const s = await sim(now, { dailyTotalAtNextMidnight: next });
      const { payload, sma } = await run(
        s,
        { archive: "month", nextMidnight: next },
        { from: now.getTime() - 86_400_000, to: now },
      );
      assert.deepEqual(
        payload.map((p) => p.time),
        [local(2025, 6, 20)],
        "June 20, dated at its local midnight",
      );
      assert.ok(payload[0].yield > 0);
      assert.equal(
        payload[0].totalYield,
        (s.currentValues() as Record<string, number>).totalYield -
          (s.currentValues() as Record<string, number>).dayYield,
      );
      assert.deepEqual(sma.dropped, { spike: 0, reset: 0, noValue: 0 });
    });

    it(`from "2025-03-31" (a date only, CEST) the daily yields start on March 31 (${how} midnight)`, async () => {
      const s = await sim(new Date(2025, 3, 5, 12), { dailyTotalAtNextMidnight: next });
      const { payload, sma } = await run(
        s,
        { archive: "month", nextMidnight: next },
        { from: "2025-03-31", to: "2025-04-02" },
      );
      assert.deepEqual(
        payload.map((p) => new Date(p.time).toISOString()),
        ["2025-03-30T22:00:00.000Z", "2025-03-31T22:00:00.000Z", "2025-04-01T22:00:00.000Z"],
      );
      assert.deepEqual([sma.from, sma.to], [local(2025, 3, 31), local(2025, 4, 2)]);
    });
  }

  it("without the setting, the node finds out from the device which midnight it stamps daily totals at", async () => {
    const s = await sim(new Date(2025, 5, 21, 0, 30), { dailyTotalAtNextMidnight: true });
    const { payload, sma } = await run(
      s,
      { archive: "month" },
      { from: "2025-06-18", to: new Date(2025, 5, 21, 0, 30) },
    );
    assert.deepEqual(
      payload.map((p) => new Date(p.time).getDate()),
      [18, 19, 20],
    );
    assert.deepEqual(sma.dailyStamp, { stamp: "next", by: "device" });
  });

  it("5-minute yields of the DST days: 276 slots on March 30, 300 on October 26, from date strings in local time", async () => {
    for (const [day, nextDay, slots] of [
      ["2025-03-30", "2025-03-31", 276],
      ["2025-10-26", "2025-10-27", 300],
    ] as const) {
      const s = await sim(new Date(`${nextDay}T12:00`));
      const { payload } = await run(s, { archive: "day" }, { from: `${day}T00:05`, to: nextDay });
      assert.equal(payload.length, slots, day);
      assert.equal(payload[payload.length - 1].time, timeOf(nextDay));
      await helper.unload();
    }
  });

  it("a bogus slot costs that slot only and emits no absurd yield; a counter reset starts a new baseline; msg.sma.dropped tells", async () => {
    const noon = new Date(2025, 5, 21, 13);
    const slot = (h: number, m: number): number => local(2025, 6, 21, h, m) / 1000;
    const s = await sim(noon, { archiveSpikes: [slot(6, 0)], counterResets: [slot(9, 0)] });
    const { payload, sma } = await run(s, { archive: "day" }, { from: "2025-06-21", to: noon });
    assert.equal(payload.length, 157 - 2, "00:00 .. 13:00 is 157 slots: one spike and one reset left out");
    assert.ok(
      payload.every((p) => p.yield >= 0 && p.power !== null && p.power < 100_000),
      "no 9·10^15 Wh",
    );
    assert.ok(!payload.some((p) => p.time === slot(6, 0) * 1000 || p.time === slot(9, 0) * 1000));
    assert.ok(
      payload.some((p) => p.time === slot(6, 5) * 1000),
      "the slot after the spike is there",
    );
    assert.deepEqual(sma.dropped, { spike: 1, reset: 1, noValue: 0 });
    assert.ok(
      payload[payload.length - 1].totalYield < (s.currentValues() as Record<string, number>).dayYield,
      "counted anew from 09:00",
    );
  });
});
