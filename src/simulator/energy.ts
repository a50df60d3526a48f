/**
 * One physical plant: PV, battery, house load and grid connection point from a single energy balance, so that the
 * inverter's readings, its grid counters and the energy meter's readings agree at every instant.
 *
 * On the AC bus, at every step:  pv + discharge + import = house + charge + export,
 * i.e. grid (import positive) = house - pv + charge - discharge. pv is the PV power after the inverter's conversion
 * (the yield counters integrate it); the DC power the inverter reports is pv / efficiency.
 *
 * Every day is the same sunny day (a half sine from 06:00 to 20:00), computed once in steps of one minute with
 * powers constant over a step; counters are the exact integrals of those powers (so they never fall and never
 * jump), grown by the same amount each day since 2020-01-01. The battery charges from the surplus and covers the
 * house at night within its power and state-of-charge limits; its day is the periodic one (the state of charge at
 * 24:00 equals that at 00:00), so it is continuous across midnight.
 */

export interface PlantSpec {
  /** PV peak power (DC, W) at noon; 0 for none. */ pvPeakW: number;
  /** DC to AC efficiency of the PV path; default 0.97. */ efficiency?: number;
  /** Usable battery capacity (Wh); 0 for none. */ batteryWh?: number;
  /** Default 2500 W. */ maxChargeW?: number;
  /** Default 2500 W. */ maxDischargeW?: number;
  /** State of charge limits (%); default 10 and 100. */ minSoc?: number;
  maxSoc?: number;
  /** Mean house load scale (1 = about 11 kWh a day). */ houseScale?: number;
}

/** Energies (Wh) since the plant's first day. */
export interface PlantCounters {
  pv: number;
  house: number;
  import: number;
  export: number;
  charge: number;
  discharge: number;
  /** Per phase L1..L3: import and export at the connection point. */
  importL: [number, number, number];
  exportL: [number, number, number];
}

export interface PlantState {
  /** PV power after conversion (W). */ pvW: number;
  /** PV power on the DC side (W). */ pvDcW: number;
  houseW: number;
  chargeW: number;
  dischargeW: number;
  /** Grid power at the connection point, import positive (W). */ gridW: number;
  /** Per phase L1..L3, import positive (W). */ gridL: [number, number, number];
  /** Household load per phase (W). */ houseL: [number, number, number];
  /** Battery state of charge (%, unrounded); null without a battery. */ soc: number | null;
  /** 0..1: the sun. */ sun: number;
  counters: PlantCounters;
  /** PV energy (Wh) since the local midnight of this day. */ dayPvWh: number;
  /** Whole days since 2020-01-01 (the plant's commissioning). */ days: number;
}

export const STEP_S = 60;
const STEPS = 86_400 / STEP_S;
const SUNRISE_H = 6;
const DAYLIGHT_H = 14;
/** Share of the house load per phase. */
export const LOAD_SHARE = [0.45, 0.3, 0.25] as const;
const EPOCH = new Date(2020, 0, 1).getTime();

/** 0..1: a half sine from 06:00 to 20:00 (hours of the day). */
export function sunAt(hours: number): number {
  const x = (hours - SUNRISE_H) / DAYLIGHT_H;
  return x > 0 && x < 1 ? Math.sin(Math.PI * x) : 0;
}

/** The household load (W) at an hour of the day: base load, breakfast, lunch and evening peaks, a fridge cycle. */
export function houseLoadAt(hours: number, scale = 1): number {
  const bell = (centre: number, width: number): number => Math.exp(-(((hours - centre) / width) ** 2));
  return (
    scale *
    (330 +
      600 * bell(7.5, 0.7) +
      450 * bell(12.5, 0.6) +
      1200 * bell(19.5, 1.5) +
      60 * Math.sin(hours * 2 * Math.PI * 3))
  );
}

/** Splits a whole number of watts into whole-watt parts by shares (the last part takes the rest). */
function split(w: number, shares: readonly number[]): [number, number, number] {
  const a = Math.round(w * shares[0]);
  const b = Math.round(w * shares[1]);
  return [a, b, w - a - b];
}

interface Step {
  pv: number;
  pvDc: number;
  house: number;
  charge: number;
  discharge: number;
  grid: number;
  gridL: [number, number, number];
  houseL: [number, number, number];
  socStart: number;
  sun: number;
}

/** Counter field order in the cumulative table. */
const FIELDS = ["pv", "house", "import", "export", "charge", "discharge", "i1", "i2", "i3", "e1", "e2", "e3"] as const;

export class PlantModel {
  readonly spec: Required<PlantSpec>;
  private readonly steps: Step[] = [];
  /** cum[f][k]: energy of field f from midnight to the start of step k (k = 0..STEPS). */
  private readonly cum: Float64Array[];

  constructor(spec: PlantSpec) {
    this.spec = {
      efficiency: 0.97,
      batteryWh: 0,
      maxChargeW: 2500,
      maxDischargeW: 2500,
      minSoc: 10,
      maxSoc: 100,
      houseScale: 1,
      ...spec,
    };
    this.cum = FIELDS.map(() => new Float64Array(STEPS + 1));
    // The periodic day: start empty, run days until the state of charge at midnight repeats.
    let soc = this.spec.minSoc;
    for (let i = 0; i < 20; i++) {
      const end = this.runDay(soc);
      if (Math.abs(end - soc) < 1e-9) break;
      soc = end;
    }
  }

  get hasBattery(): boolean {
    return this.spec.batteryWh > 0;
  }

  /** The state at a (local) time: powers of the step it falls in, counters integrated up to it. */
  at(time: Date): PlantState {
    const midnight = new Date(time);
    midnight.setHours(0, 0, 0, 0);
    const next = new Date(midnight);
    next.setDate(next.getDate() + 1);
    // The fraction of this local day (23 or 25 hours across DST changes): counters stay monotonic.
    const frac = Math.min(
      1,
      Math.max(0, (time.getTime() - midnight.getTime()) / (next.getTime() - midnight.getTime())),
    );
    const pos = frac * STEPS;
    const k = Math.min(STEPS - 1, Math.floor(pos));
    const within = pos - k;
    const s = this.steps[k];
    const days = Math.max(0, Math.round((midnight.getTime() - EPOCH) / 86_400_000));
    const energy = (f: number): number =>
      days * this.cum[f][STEPS] + this.cum[f][k] + (this.cum[f][k + 1] - this.cum[f][k]) * within;
    const dayPvWh = this.cum[0][k] + (this.cum[0][k + 1] - this.cum[0][k]) * within;
    const cap = this.spec.batteryWh;
    const soc = cap > 0 ? s.socStart + ((s.charge - s.discharge) * (STEP_S / 3600) * within * 100) / cap : null;
    return {
      pvW: s.pv,
      pvDcW: s.pvDc,
      houseW: s.house,
      chargeW: s.charge,
      dischargeW: s.discharge,
      gridW: s.grid,
      gridL: [...s.gridL],
      houseL: [...s.houseL],
      soc,
      sun: s.sun,
      dayPvWh,
      days,
      counters: {
        pv: energy(0),
        house: energy(1),
        import: energy(2),
        export: energy(3),
        charge: energy(4),
        discharge: energy(5),
        importL: [energy(6), energy(7), energy(8)],
        exportL: [energy(9), energy(10), energy(11)],
      },
    };
  }

  /** Computes one day from a state of charge at midnight; returns the state of charge at its end. */
  private runDay(socStart: number): number {
    const { pvPeakW, efficiency, batteryWh: cap, maxChargeW, maxDischargeW, minSoc, maxSoc, houseScale } = this.spec;
    const hStep = STEP_S / 3600;
    let e = (cap * socStart) / 100;
    this.steps.length = 0;
    for (let k = 0; k < STEPS; k++) {
      const hours = ((k + 0.5) * STEP_S) / 3600;
      const sun = sunAt(hours);
      const pvDc = Math.round(pvPeakW * sun);
      const pv = Math.round(pvDc * efficiency);
      const house = Math.round(houseLoadAt(hours, houseScale));
      let charge = 0;
      let discharge = 0;
      if (cap > 0) {
        // Whole watts, never past the limits within the step.
        if (pv > house)
          charge = Math.max(0, Math.min(pv - house, maxChargeW, Math.floor(((cap * maxSoc) / 100 - e) / hStep)));
        else
          discharge = Math.max(0, Math.min(house - pv, maxDischargeW, Math.floor((e - (cap * minSoc) / 100) / hStep)));
      }
      const grid = house - pv + charge - discharge;
      const houseL = split(house, LOAD_SHARE);
      // A three-phase inverter feeds its AC power evenly (what the inverter reports per phase: the rest on L1).
      const ac = pv - charge + discharge;
      const share = Math.trunc(ac / 3);
      const acL = [ac - 2 * share, share, share];
      const gridL: [number, number, number] = [houseL[0] - acL[0], houseL[1] - acL[1], houseL[2] - acL[2]];
      this.steps.push({
        pv,
        pvDc,
        house,
        charge,
        discharge,
        grid,
        gridL,
        houseL,
        socStart: cap > 0 ? (e * 100) / cap : 0,
        sun,
      });
      const values = [
        pv,
        house,
        Math.max(0, grid),
        Math.max(0, -grid),
        charge,
        discharge,
        ...gridL.map((g) => Math.max(0, g)),
        ...gridL.map((g) => Math.max(0, -g)),
      ];
      values.forEach((w, f) => (this.cum[f][k + 1] = this.cum[f][k] + w * hStep));
      e += (charge - discharge) * hStep;
    }
    return cap > 0 ? (e * 100) / cap : 0;
  }
}

/** The plant behind a device of nominal power W: PV of that peak (if it has PV) and, with batteries, 5 kWh of storage. */
export function plantFor(o: { nominalPowerW: number; hasPv: boolean; batteries: number }): PlantModel {
  const batteryWh = o.batteries > 0 ? 5_000 : 0;
  const limit = Math.min(o.nominalPowerW, 2500 * Math.max(1, o.batteries));
  // A battery inverter without PV of its own sits in a plant whose PV inverter it does not report.
  return new PlantModel({
    pvPeakW: o.hasPv ? o.nominalPowerW : 5000,
    batteryWh,
    maxChargeW: limit,
    maxDischargeW: limit,
  });
}
