/**
 * Archive reads in the device's local days, in a process that runs in Europe/Berlin (as Node-RED does on a plant's
 * Raspberry Pi): node:test runs every test file in its own process, and Node applies a TZ set on process.env at
 * once, so this file sets it before any Date is made. The simulator's days follow the same zone.
 */
process.env.TZ = "Europe/Berlin";

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SpeedwireClient, SmaError } from "../../src/client";
import { SimulatedInverter, type SimulatedInverterOptions } from "../../src/simulator";
import { DAY_S, localMidnight, nextLocalMidnight, yieldPoints } from "../../src/protocol";

const clients: SpeedwireClient[] = [];
const sims: SimulatedInverter[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(sims.map((s) => s.stop()));
});

async function sim(now: Date, o: Partial<SimulatedInverterOptions> = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: true, clock: () => now, ...o });
  sims.push(s);
  await s.start();
  return s;
}

function session(s: SimulatedInverter) {
  const c = new SpeedwireClient();
  clients.push(c);
  return c.inverter({ host: "127.0.0.1", port: s.port, password: "0000", timeoutMs: 200, retries: 2 });
}

const local = (y: number, m: number, d: number, h = 0, min = 0): number =>
  new Date(y, m - 1, d, h, min).getTime() / 1000;

describe("archives in local days (TZ=Europe/Berlin)", () => {
  it("the test process runs in Europe/Berlin", () => {
    assert.equal(new Date(2025, 5, 21).toISOString(), "2025-06-20T22:00:00.000Z");
  });

  for (const next of [false, true]) {
    it(`a range that ends at a local midnight gets that day's record (totals stamped at the ${next ? "following" : "own"} midnight)`, async () => {
      const s = await sim(new Date(2025, 5, 21, 13), { dailyTotalAtNextMidnight: next });
      const wanted = { from: local(2025, 6, 15), to: local(2025, 6, 20) };
      const r = await session(s).readArchive("month", wanted, { dailyAtNextMidnight: next });
      assert.deepEqual(
        r.records.map((x) => new Date(x.time * 1000).getDate()),
        [14, 15, 16, 17, 18, 19, 20],
        "baseline June 14, days 15..20",
      );
      assert.ok(
        r.records.every((x) => x.time === localMidnight(x.time) && new Date(x.time * 1000).getHours() === 0),
        "local midnights (22:00Z)",
      );
      assert.equal(r.records[r.records.length - 1].time, Date.UTC(2025, 5, 19, 22) / 1000);
      // Every total is the counter at the end of its day: the day data's counter at the next local midnight.
      const day = await session(s).readArchive("day", { from: local(2025, 6, 20, 23, 55), to: local(2025, 6, 21) });
      assert.equal(r.records[r.records.length - 1].totalWh, day.records[day.records.length - 1].totalWh);
    });

    it(`DST: days of 23 and 25 hours are dated at their local midnights (${next ? "following" : "own"} midnight stamps)`, async () => {
      for (const [y, m, d] of [
        [2025, 3, 30],
        [2025, 10, 26],
      ] as const) {
        const s = await sim(new Date(y, m - 1, d + 4, 12), { dailyTotalAtNextMidnight: next });
        const r = await session(s).readArchive(
          "month",
          { from: local(y, m, d - 1), to: local(y, m, d + 1) },
          { dailyAtNextMidnight: next },
        );
        assert.deepEqual(
          r.records.map((x) => x.time),
          [d - 2, d - 1, d, d + 1].map((x) => local(y, m, x)),
        );
        const hours = (nextLocalMidnight(local(y, m, d)) - local(y, m, d)) / 3600;
        assert.equal(hours, m === 3 ? 23 : 25);
        const slots = await session(s).readArchive("day", { from: local(y, m, d, 0, 5), to: local(y, m, d + 1) });
        const points = yieldPoints(slots.records, "day");
        assert.equal(points.length, hours * 12, "276 or 300 five-minute slots");
        const daily = yieldPoints(r.records, "month").find((p) => p.time === local(y, m, d) * 1000);
        assert.equal(
          daily?.yield,
          points.reduce((a, p) => a + p.yield, 0),
          "the day's yield is the sum of its slots",
        );
      }
    });
  }

  for (const next of [false, true]) {
    it(`detects a device stamping its daily totals at the ${next ? "following" : "own"} midnight, once a session`, async () => {
      const s = await sim(new Date(2025, 5, 21, 0, 30), { dailyTotalAtNextMidnight: next });
      const inv = session(s);
      const wanted = { from: local(2025, 6, 15), to: local(2025, 6, 21, 0, 30) };
      const r = await inv.readArchive("month", wanted, { detectDailyStamp: true });
      assert.deepEqual(r.dailyStamp, { stamp: next ? "next" : "own", by: "device" });
      assert.deepEqual(
        r.records.map((x) => new Date(x.time * 1000).getDate()),
        [14, 15, 16, 17, 18, 19, 20],
      );
      // The day data at the newest record's stamp and at the next midnight; for a device that stamps at the following
      // midnight, that one lies ahead, and the record before decides.
      assert.equal(s.stats.queries.dayData, next ? 4 : 2);
      const again = await inv.readArchive("month", wanted, { detectDailyStamp: true });
      assert.deepEqual([again.dailyStamp, again.records], [r.dailyStamp, r.records]);
      assert.equal(s.stats.queries.dayData, next ? 4 : 2, "kept for the session");
    });
  }

  it("a range older than the device keeps 5-minute data for: its newest daily records tell which midnight it stamps at", async () => {
    // The device's clock is now: its day data reaches back 62 days, the range lies 200 days back.
    const now = new Date();
    const s = await sim(now, { dailyTotalAtNextMidnight: true });
    const from = localMidnight(now.getTime() / 1000 - 200 * DAY_S);
    const wanted = { from, to: nextLocalMidnight(nextLocalMidnight(nextLocalMidnight(from))) - 1 };
    const r = await session(s).readArchive("month", wanted, { detectDailyStamp: true });
    // Asked only about the range's own records, the device could not tell: each total was dated a day late.
    assert.deepEqual(r.dailyStamp, { stamp: "next", by: "device" });
    const set = await session(s).readArchive("month", wanted, { dailyAtNextMidnight: true });
    assert.deepEqual(r.records, set.records, "dated by the days they hold");
    assert.equal(r.records.length, 4, "the baseline and the three days");
  });

  it("where the counters cannot tell (no yield on the newest day) the totals count as stamped at their own midnight", async () => {
    const s = await sim(new Date(2025, 5, 21, 13), { values: { totalYield: 1_000_000 } });
    const inv = session(s);
    const r = await inv.readArchive(
      "month",
      { from: local(2025, 6, 15), to: local(2025, 6, 20) },
      { detectDailyStamp: true },
    );
    assert.deepEqual(r.dailyStamp, { stamp: "own", by: "default" });
    const asked = s.stats.queries.dayData;
    await inv.readArchive("month", { from: local(2025, 6, 15), to: local(2025, 6, 20) }, { detectDailyStamp: true });
    assert.equal(s.stats.queries.dayData, asked, "the same records are not asked about again");
    const set = await session(s).readArchive(
      "month",
      { from: local(2025, 6, 15), to: local(2025, 6, 20) },
      { dailyAtNextMidnight: true },
    );
    assert.deepEqual(set.dailyStamp, { stamp: "next", by: "setting" });
  });

  it("an unknown time zone is EINVAL before anything is sent", async () => {
    const s = await sim(new Date(2025, 5, 21, 13));
    await assert.rejects(
      session(s).readArchive("month", { from: local(2025, 6, 1), to: local(2025, 6, 2) }, { timeZone: "Mars/Olympus" }),
      (e: unknown) => e instanceof SmaError && e.code === "EINVAL",
    );
    assert.equal(s.stats.received, 0);
  });

  it("a device in another zone than Node-RED: both given the device's zone, its days are its own", async () => {
    const s = await sim(new Date(2025, 5, 21, 13), { timeZone: "America/New_York", dailyTotalAtNextMidnight: true });
    const wanted = { from: Date.UTC(2025, 5, 15, 4) / 1000, to: Date.UTC(2025, 5, 20, 4) / 1000 }; // New York midnights
    const r = await session(s).readArchive("month", wanted, {
      dailyAtNextMidnight: true,
      timeZone: "America/New_York",
    });
    assert.deepEqual(
      r.records.map((x) => x.time),
      [14, 15, 16, 17, 18, 19, 20].map((d) => Date.UTC(2025, 5, d, 4) / 1000),
    );
  });
});
