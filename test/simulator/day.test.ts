/** The demo's compressed day: a whole day in a few minutes, from a morning, with counters that keep growing. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  PlantModel,
  SimulatedInverter,
  SimulatedMeter,
  compressedDay,
  houseProfile,
  plantMeterValues,
} from "../../src/simulator";

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
    const sim = new SimulatedInverter({
      profile: "pv",
      timeVarying: true,
      dayClock: compressedDay(DAY_S, 8, T0),
      clock: () => new Date(now),
    });
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
    assert.ok(
      first.some((x) => x.ac === 0),
      "night comes within the day",
    );
    assert.ok(new Set(first.map((x) => x.ac)).size > 10, "the power moves");
    assert.ok(
      samples.slice(perDay).some((x) => x.day < first[perDay - 1].day),
      "the day's yield starts again the next day",
    );
    for (let i = 1; i < samples.length; i++)
      assert.ok(samples[i].total >= samples[i - 1].total, `total yield at sample ${i}`);
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

describe("the demo's plant: one energy balance for inverter, battery, house and meter", () => {
  const STEP_MS = (DAY_S * 1000) / 1440; // one simulated minute
  const plant = new PlantModel({ pvPeakW: 5000, batteryWh: 5_000, maxChargeW: 2500, maxDischargeW: 2500 });
  const day = compressedDay(DAY_S, 8, T0);
  let now = T0;
  const inverter = new SimulatedInverter({
    profile: "hybrid",
    phases: 3,
    strings: 2,
    batteries: 1,
    timeVarying: true,
    dayClock: day,
    plant,
    clock: () => new Date(now),
  });
  const meter = new SimulatedMeter({ clock: () => now, values: (at) => plantMeterValues(plant, day(at)) });
  interface Sample {
    inv: Record<string, number>;
    met: Record<string, number>;
    houseW: number;
    at: Date;
  }
  const samples: Sample[] = [];
  // Two whole simulated days (and the step after), sampled in the middle of every simulated minute.
  for (let k = 0; k <= 2 * 1440; k++) {
    now = T0 + k * STEP_MS + STEP_MS / 2;
    const inv = inverter.currentValues() as Record<string, number>;
    const met = meter.buildFrame().datagram.values as Record<string, number>;
    samples.push({ inv, met, houseW: plant.at(day(new Date(now))).houseW, at: day(new Date(now)) });
  }
  const pvOf = (s: Sample): number => s.inv.acPower + s.inv.batteryChargePower - s.inv.batteryDischargePower;

  it("at every instant: grid = house - PV + battery charge - discharge; the meter and the inverter agree", () => {
    for (const s of samples) {
      const grid = s.met.powerImport - s.met.powerExport;
      const want = s.houseW - pvOf(s) + s.inv.batteryChargePower - s.inv.batteryDischargePower;
      assert.ok(
        Math.abs(grid - want) <= 0.2,
        `${s.at.toTimeString()}: meter ${grid} W, house ${s.houseW} - PV ${pvOf(s)} + battery = ${want} W`,
      );
      assert.equal(s.inv.gridPowerImport - s.inv.gridPowerExport, Math.round(want));
      assert.ok(
        s.met.powerExport <= pvOf(s) + s.inv.batteryDischargePower,
        `export ${s.met.powerExport} W beyond what the plant makes`,
      );
      assert.ok(
        Math.abs(s.inv.gridEnergyImport - s.met.energyImport) <= 1,
        `import counters ${s.inv.gridEnergyImport} / ${s.met.energyImport} Wh`,
      );
      assert.ok(
        Math.abs(s.inv.gridEnergyExport - s.met.energyExport) <= 1,
        `export counters ${s.inv.gridEnergyExport} / ${s.met.energyExport} Wh`,
      );
      const dc = s.inv.dcPower1 + s.inv.dcPower2;
      assert.ok(pvOf(s) <= dc && pvOf(s) >= dc * 0.95 - 2, `PV ${pvOf(s)} W on AC from ${dc} W DC`);
    }
  });

  it("over a whole day: PV + import + discharge = house + export + charge, each counter grows by its power's integral", () => {
    const day1 = samples.slice(0, 1441);
    const h = ((STEP_MS / 1000) * (86_400 / DAY_S)) / 3600; // simulated hours per sample
    const sum = (f: (s: Sample) => number): number => day1.slice(0, -1).reduce((a, s) => a + f(s) * h, 0);
    const pv = sum(pvOf);
    const imp = sum((s) => s.met.powerImport);
    const exp = sum((s) => s.met.powerExport);
    const charge = sum((s) => s.inv.batteryChargePower);
    const discharge = sum((s) => s.inv.batteryDischargePower);
    const house = sum((s) => s.houseW);
    assert.ok(
      pv > 30_000 && house > 8_000 && charge > 3_000 && discharge > 3_000 && imp > 500 && exp > 10_000 && imp > 0,
      `a sunny day with a battery: PV ${pv}, house ${house}, charge ${charge}, discharge ${discharge}, export ${exp}, import ${imp} Wh`,
    );
    assert.ok(
      Math.abs(pv + imp + discharge - (house + exp + charge)) < 1,
      `balance: ${pv + imp + discharge} vs ${house + exp + charge} Wh`,
    );
    const grew = (f: (s: Sample) => number): number => f(day1[day1.length - 1]) - f(day1[0]);
    const close = (got: number, want: number, what: string): void =>
      assert.ok(Math.abs(got - want) <= 2, `${what}: counter +${got} Wh, power integral ${want} Wh`);
    close(
      grew((s) => s.inv.totalYield),
      pv,
      "total yield",
    );
    close(
      grew((s) => s.met.energyImport),
      imp,
      "meter import",
    );
    close(
      grew((s) => s.met.energyExport),
      exp,
      "meter export",
    );
    close(
      grew((s) => s.inv.gridEnergyExport),
      exp,
      "inverter grid export",
    );
    close(
      grew((s) => s.inv.batteryChargeTotal),
      charge,
      "battery charged",
    );
    close(
      grew((s) => s.inv.batteryDischargeTotal),
      discharge,
      "battery discharged",
    );
    // The counters hold the years since commissioning, not a start at 0.
    assert.ok(day1[0].met.energyImport > 100_000 && day1[0].inv.totalYield > 1_000_000);
  });

  it("counters never fall; the day's yield is the total's growth since midnight; the state of charge moves smoothly within limits", () => {
    const counters = [
      "totalYield",
      "gridEnergyImport",
      "gridEnergyExport",
      "batteryChargeTotal",
      "batteryDischargeTotal",
    ];
    for (let i = 1; i < samples.length; i++) {
      const [a, b] = [samples[i - 1], samples[i]];
      for (const c of counters) assert.ok(b.inv[c] >= a.inv[c], `${c} fell at ${b.at.toString()}`);
      for (const c of [
        "energyImport",
        "energyExport",
        "energyImportL1",
        "energyExportL3",
        "reactiveEnergyImport",
        "apparentEnergyImport",
      ]) {
        assert.ok(
          b.met[c] >= a.met[c] && b.met[c] > 100_000,
          `meter ${c} fell or started near 0: ${a.met[c]} -> ${b.met[c]}`,
        );
      }
      assert.ok(b.inv.batterySoc >= 10 && b.inv.batterySoc <= 100, `SoC ${b.inv.batterySoc} %`);
      // 2500 W for one simulated minute is 0.83 % of 5 kWh; whole percent on the wire.
      assert.ok(
        Math.abs(b.inv.batterySoc - a.inv.batterySoc) <= 1,
        `SoC jumps ${a.inv.batterySoc} -> ${b.inv.batterySoc} % at ${b.at.toString()}`,
      );
      if (b.at.getDate() === a.at.getDate()) assert.ok(b.inv.dayYield >= a.inv.dayYield);
      else assert.ok(b.inv.dayYield < a.inv.dayYield, "the day's yield starts again at midnight");
    }
    const midnight = samples.findIndex((s, i) => i > 0 && s.at.getDate() !== samples[i - 1].at.getDate());
    const s = samples[midnight];
    assert.ok(
      s.inv.batteryDischargePower > 0 && s.inv.batterySoc > 10,
      `at midnight the battery still covers the house: ${s.inv.batterySoc} %`,
    );
    assert.ok(Math.abs(s.inv.dayYield) <= 1);
    const evening = samples.find((x) => x.at.getHours() === 21)!;
    const morning = samples.find((x) => x.at.getHours() === 9)!;
    assert.ok(
      morning.inv.batteryChargePower > 0 && evening.inv.batteryDischargePower > 0,
      "charges by day, discharges at night",
    );
    assert.ok(
      samples.some((x) => x.inv.batterySoc === 100) && samples.some((x) => x.inv.batterySoc <= 11),
      "full by day, empty by dawn",
    );
  });
});
