/** The demo's compressed day: a whole day in a few minutes, from a morning, with counters that keep growing. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SimulatedInverter, compressedDay, houseProfile } from "../../src/simulator";

const DAY_S = 360;
// A start at 23:00 real time: the demo must show the sun anyway.
const T0 = new Date(2025, 11, 21, 23, 0, 0).getTime();

describe("compressedDay", () => {
  it("maps the real time onto a day of dayLengthS seconds starting at startHour", () => {
    const day = compressedDay(DAY_S, 8, T0);
    assert.equal(day(new Date(T0)).getHours(), 8);
    assert.equal(day(new Date(T0 + 15_000)).getHours(), 9, "an hour every 15 s");
    assert.equal(day(new Date(T0 + DAY_S * 1000)).getHours(), 8, "a day later it is morning again");
    assert.equal(day(new Date(T0 + DAY_S * 1000)).getDate(), day(new Date(T0)).getDate() + 1);
  });

  it("an inverter on it: power at once, a peak, nothing at night; the day's yield resets, the total never falls", () => {
    let now = T0;
    const sim = new SimulatedInverter({ profile: "pv", timeVarying: true, dayClock: compressedDay(DAY_S, 8, T0), clock: () => new Date(now) });
    const samples: { ac: number; day: number; total: number }[] = [];
    for (let s = 0; s <= 2 * DAY_S; s += 10) {
      now = T0 + s * 1000;
      const v = sim.currentValues();
      samples.push({ ac: Number(v.acPower), day: Number(v.dayYield), total: Number(v.totalYield) });
    }
    const perDay = DAY_S / 10;
    const first = samples.slice(0, perDay);
    assert.ok(first[0].ac > 0, `power right after the start: ${first[0].ac} W`);
    const peak = Math.max(...first.map((x) => x.ac));
    assert.ok(peak > 4000, `a sunny peak of a 5 kW inverter: ${peak} W`);
    assert.ok(first.some((x) => x.ac === 0), "night comes within the day");
    assert.ok(new Set(first.map((x) => x.ac)).size > 10, "the power moves");
    assert.ok(samples.slice(perDay).some((x) => x.day < first[perDay - 1].day), "the day's yield starts again the next day");
    for (let i = 1; i < samples.length; i++) assert.ok(samples[i].total >= samples[i - 1].total, `total yield at sample ${i}`);
    assert.ok(samples.at(-1)!.total > samples[0].total);
  });

  it("the meter's house follows the same day: it feeds in at noon, draws at night", () => {
    const day = compressedDay(DAY_S, 8, T0);
    const at = (h: number): Date => day(new Date(T0 + (h - 8) * 15_000));
    assert.ok(houseProfile(at(13)).powerExport > 0, "feeding in at 13:00");
    assert.ok(houseProfile(at(23)).powerImport > 0, "drawing at 23:00");
  });

  it("without a day clock the static values stay as the tests expect them", () => {
    const a = new SimulatedInverter({ clock: () => new Date(T0) }).currentValues();
    const b = new SimulatedInverter({ clock: () => new Date(T0 + 3_600_000) }).currentValues();
    assert.deepEqual(a, b);
  });
});
