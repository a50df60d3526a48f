/**
 * Archives in the device's local days (time zone as a parameter, here Europe/Berlin whatever TZ the test runs in):
 * local midnights and DST days, re-dating of totals stamped at the following midnight, the cut to the wanted range,
 * and yields in which a spike or a counter reset costs that record only.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  MAX_PLANT_POWER_W,
  archiveRequestRange,
  archiveYields,
  cutToWanted,
  detectDailyStamp,
  inWanted,
  isTimeZone,
  localMidnight,
  nextLocalMidnight,
  redateDaily,
  yieldPoints,
  yieldSeries,
  zoneOffsetS,
  type YieldRecord,
} from "../../src/protocol";

const BERLIN = "Europe/Berlin";
const H = 3600;
const utc = (y: number, m: number, d: number, h = 0, min = 0): number => Date.UTC(y, m - 1, d, h, min) / 1000;

/** One local day of 5-minute counters from `start` to `end` (both included), a bell of `peakW` around the middle. */
function day(start: number, end: number, total0 = 5_000_000, peakW = 6000): YieldRecord[] {
  const out: YieldRecord[] = [];
  let total = total0;
  for (let t = start; t <= end; t += 300) {
    if (t > start) {
      const x = (t - start) / (end - start);
      total += Math.round((peakW * Math.max(0, Math.sin(Math.PI * (x * 1.6 - 0.3))) * 300) / 3600);
    }
    out.push({ time: t, totalWh: total });
  }
  return out;
}

describe("local days", () => {
  it("local midnights are 22:00Z in summer, 23:00Z in winter; DST days have 23 and 25 hours (276 and 300 slots)", () => {
    assert.equal(localMidnight(utc(2025, 6, 21, 11), BERLIN), utc(2025, 6, 20, 22));
    assert.equal(localMidnight(utc(2025, 1, 15, 23, 30), BERLIN), utc(2025, 1, 15, 23), "00:30 local is the new day");
    assert.equal(localMidnight(utc(2025, 1, 15, 22, 59), BERLIN), utc(2025, 1, 14, 23));
    assert.deepEqual([zoneOffsetS(utc(2025, 6, 21), BERLIN), zoneOffsetS(utc(2025, 1, 21), BERLIN)], [2 * H, H]);
    for (const [d, hours] of [
      [utc(2025, 3, 30, 12), 23],
      [utc(2025, 10, 26, 12), 25],
      [utc(2025, 6, 1, 12), 24],
    ] as const) {
      const m = localMidnight(d, BERLIN);
      assert.equal(nextLocalMidnight(m, BERLIN) - m, hours * H, new Date(d * 1000).toISOString());
      assert.equal((nextLocalMidnight(m, BERLIN) - m) / 300, hours * 12);
      assert.equal(localMidnight(nextLocalMidnight(m, BERLIN) - 1, BERLIN), m);
    }
    // Santiago skips 00:00 at its DST start (2024-09-08): the day starts at the change, 01:00 local = 04:00Z.
    assert.equal(localMidnight(utc(2024, 9, 8, 16), "America/Santiago"), utc(2024, 9, 8, 4));
    assert.equal(localMidnight(utc(2025, 6, 21, 11), "UTC"), utc(2025, 6, 21));
    assert.ok(isTimeZone(BERLIN) && !isTimeZone("Mars/Olympus") && !isTimeZone(""));
  });

  it("any time's midnight is at or before it and less than 25 hours back; the next one follows 23 to 25 hours later", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: utc(2000, 1, 1), max: utc(2037, 1, 1) }),
        fc.constantFrom(BERLIN, "America/New_York", "Asia/Kolkata", "UTC"),
        (t, tz) => {
          const m = localMidnight(t, tz);
          assert.ok(m <= t && t - m < 25 * H, `${t} ${tz}`);
          const n = nextLocalMidnight(m, tz);
          assert.ok(n > t && n - m >= 23 * H && n - m <= 25 * H);
          assert.equal(localMidnight(m, tz), m);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a total stamped at the following midnight is dated by its own day, also across both DST changes", () => {
    const stamps = [utc(2025, 3, 29, 23), utc(2025, 3, 30, 22), utc(2025, 10, 26, 23), utc(2025, 10, 25, 22)];
    const dated = redateDaily(
      stamps.map((time) => ({ time, totalWh: 1 })),
      "next",
      BERLIN,
    ).map((r) => r.time);
    assert.deepEqual(dated, [utc(2025, 3, 28, 23), utc(2025, 3, 29, 23), utc(2025, 10, 25, 22), utc(2025, 10, 24, 22)]);
    assert.deepEqual(redateDaily([{ time: 7, totalWh: 1 }], "own", BERLIN), [{ time: 7, totalWh: 1 }]);
  });

  it("which midnight a device stamps at: its total against its 5-minute counters at the stamp and at the next midnight", () => {
    assert.equal(detectDailyStamp(1000, 1000, 1500), "next", "the counter at its stamp: the day before's total");
    assert.equal(detectDailyStamp(1500, 1000, 1500), "own", "the counter at the next midnight: its own day's total");
    assert.equal(
      detectDailyStamp(1000, 1000, null),
      undefined,
      "next midnight not reached: a growing total of its own day looks alike",
    );
    assert.equal(detectDailyStamp(1000, 1000, 1000), undefined, "no yield that day");
    assert.equal(detectDailyStamp(1200, 1000, 1500), undefined);
    assert.equal(detectDailyStamp(null, 1000, 1500), undefined);
  });

  it("a range ending at a local midnight holds that day's record; the request covers it; the record before is the baseline", () => {
    // Daily records of Berlin days June 10..20 (stamped at their own local midnight, 22:00Z the day before).
    const records = Array.from({ length: 11 }, (_, i) => ({
      time: utc(2025, 6, 9 + i, 22),
      totalWh: 1000 + 30_000 * i,
    }));
    const wanted = { from: utc(2025, 6, 14, 22), to: utc(2025, 6, 19, 22) }; // local 2025-06-15 00:00 .. 2025-06-20 00:00
    const asked = archiveRequestRange("month", wanted);
    assert.ok(
      asked.from <= wanted.from - 2 * 86_400 && asked.to >= wanted.to + 86_400 + 2 * H,
      "padded by days both sides",
    );
    const cut = cutToWanted(
      "month",
      records.filter((r) => r.time >= asked.from && r.time <= asked.to),
      wanted,
      BERLIN,
    );
    assert.deepEqual(
      cut.map((r) => r.time),
      [13, 14, 15, 16, 17, 18, 19].map((d) => utc(2025, 6, d, 22)),
      "baseline June 14, days 15..20",
    );
    const { points } = archiveYields(cut, "month", wanted, { timeZone: BERLIN });
    assert.deepEqual(
      points.map((p) => p.time / 1000),
      [14, 15, 16, 17, 18, 19].map((d) => utc(2025, 6, d, 22)),
    );
    assert.ok(points.every((p) => p.yield === 30_000 && p.power === null));
  });

  it("a gap-fill at 00:30 local gets yesterday's total: a daily record counts when its local day overlaps the range", () => {
    const now = utc(2025, 6, 20, 22, 30); // 2025-06-21 00:30 in Berlin
    const yesterday = utc(2025, 6, 19, 22); // the record of June 20, stamped at its own midnight
    assert.ok(inWanted("month", yesterday, { from: now - 86_400, to: now }, BERLIN), "the last 24 h touch June 20");
    assert.ok(!inWanted("month", utc(2025, 6, 18, 22), { from: now - 86_400, to: now }, BERLIN));
    assert.ok(
      inWanted("month", utc(2025, 6, 20, 22), { from: utc(2025, 6, 20, 22), to: utc(2025, 6, 20, 22) }, BERLIN),
    );
    assert.ok(
      !inWanted("month", utc(2025, 6, 19, 22), { from: utc(2025, 6, 20, 22), to: now }, BERLIN),
      "a day ending where the range starts is out",
    );
    assert.ok(inWanted("day", now, { from: now, to: now }) && !inWanted("day", now + 1, { from: now, to: now }));
  });
});

describe("yields where an odd record costs that record only", () => {
  const start = utc(2025, 6, 20, 22);
  const end = start + 288 * 300;
  const plain = day(start, end);

  it("a spike (a slot of 9·10^15 Wh) is left out: 287 of 288 yields remain, none absurd, the sum unchanged", () => {
    const spiked = plain.map((r, i) => (i === 72 ? { ...r, totalWh: 9_000_000_000_000_000 } : r));
    const points = yieldPoints(spiked, "day");
    assert.equal(points.length, 287, "one point lost, not 216");
    assert.ok(
      points.every((p) => p.yield <= (MAX_PLANT_POWER_W * 600) / 3600),
      "no absurd yield",
    );
    assert.equal(
      points.reduce((a, p) => a + p.yield, 0),
      (plain[288].totalWh as number) - (plain[0].totalWh as number),
    );
    const after = points.find((p) => p.time === plain[73].time * 1000);
    assert.equal(
      after?.yield,
      (plain[73].totalWh as number) - (plain[71].totalWh as number),
      "the next yield spans both slots",
    );
    const s = yieldSeries(spiked, "day");
    assert.deepEqual(s.drops, [{ time: plain[72].time, reason: "spike" }]);
    // A 22 MW slot (the bogus one real readers show) is out of bounds too.
    const mw22 = plain.map((r, i) => (i === 150 ? { ...r, totalWh: (r.totalWh as number) + (22e6 * 300) / 3600 } : r));
    assert.deepEqual(
      yieldSeries(mw22, "day").drops.map((d) => d.reason),
      ["spike"],
    );
  });

  it("a counter reset starts a new baseline: 287 of 288 yields remain, the reset is told", () => {
    const reset = plain.map((r, i) =>
      i >= 71 ? { ...r, totalWh: (r.totalWh as number) - (plain[70].totalWh as number) + 3 } : r,
    );
    const { points, drops } = yieldSeries(reset, "day");
    assert.equal(points.length, 287, "one point lost, not 217");
    assert.deepEqual(drops, [{ time: plain[71].time, reason: "reset" }]);
    assert.ok(points.every((p) => p.yield >= 0 && p.yield <= 1000));
    assert.equal(points[points.length - 1].totalYield, reset[288].totalWh);
  });

  it("a lone low record, a lasting jump and missing values cost one record each; a bound from the nominal power", () => {
    const t = start;
    const r = (i: number, totalWh: number | null): YieldRecord => ({ time: t + 300 * i, totalWh });
    const s = yieldSeries(
      [
        r(0, 1000),
        r(1, 1100),
        r(2, 5),
        r(3, 1300),
        r(4, null),
        r(5, 1500),
        r(6, 9e12),
        r(7, 9e12 + 100),
        r(8, 9e12 + 200),
      ],
      "day",
    );
    assert.deepEqual(
      s.points.map((p) => [p.time / 1000 - t, p.yield]),
      [
        [300, 100],
        [900, 200],
        [1500, 200],
        [2100, 100],
        [2400, 100],
      ],
    );
    assert.deepEqual(
      s.drops.map((d) => [(d.time - t) / 300, d.reason]),
      [
        [2, "spike"],
        [4, "noValue"],
        [6, "spike"],
      ],
    );
    // 2 kWh in 5 minutes is 24 kW: plausible for 1 MW, a spike for a 10 kW inverter.
    const small = [r(0, 0), r(1, 100), r(2, 2100), r(3, 2200)];
    assert.equal(yieldSeries(small, "day").drops.length, 0);
    assert.deepEqual(
      yieldSeries(small, "day", 10_000).drops.map((d) => d.reason),
      ["spike"],
    );
  });

  it("every record is a yield, a drop with its reason, or the first baseline; no yield beyond the bound, none negative", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            time: fc.integer({ min: 1, max: 400 }).map((i) => start + 300 * i),
            totalWh: fc.option(fc.oneof(fc.integer({ min: 0, max: 50_000 }), fc.constant(9e15)), { freq: 8 }),
          }),
          { maxLength: 80 },
        ),
        (records) => {
          const { points, drops } = yieldSeries(records, "day");
          const times = new Set(records.map((r) => r.time));
          const valid = new Set(records.filter((r) => r.totalWh !== null).map((r) => r.time));
          assert.equal(points.length + drops.length, times.size - (valid.size > 0 ? 1 : 0));
          let last = 0;
          for (const p of points) {
            assert.ok(
              p.time > last && p.yield >= 0 && (p.power as number) <= MAX_PLANT_POWER_W,
              `${p.yield} Wh, ${p.power} W`,
            );
            last = p.time;
          }
        },
      ),
    );
  });

  it("archiveYields counts what was left out inside the range only, and cuts the points to it", () => {
    const spiked = plain.map((r, i) => (i === 10 || i === 200 ? { ...r, totalWh: 9e15 } : r));
    const wanted = { from: plain[100].time, to: plain[288].time };
    const { points, dropped } = archiveYields(spiked, "day", wanted);
    assert.deepEqual(dropped, { spike: 1, reset: 0, noValue: 0 });
    assert.equal(points.length, 188);
    assert.equal(points[0].time, plain[100].time * 1000);
  });
});
