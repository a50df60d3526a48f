/**
 * Device profiles of the simulated inverter and the values it reports, by value-table name (dcPower2, ...).
 * Static by default (a sunny early afternoon that does not move, so reads compare equal with currentValues()),
 * or following a sun curve over the local day with growing counters (timeVarying), optionally on a compressed day
 * (dayClock: the demo's whole day in a few minutes).
 */
import { ErrorCode, type EnumValue, type QueryName, type ValueDef } from "../protocol";
import type { SimValue } from "./answer-builders";
import { plantFor, type PlantModel, type PlantState } from "./energy";

export type ProfileName = "pv" | "battery" | "hybrid";
export type ValueFn = (now: Date) => SimValue;
export type ValueSource = SimValue | ValueFn;
export type SimValues = Record<string, SimValue>;

export interface DeviceProfile {
  susyId: number;
  serial: number;
  /** Device class tag: 8001 solar, 8007 battery, 8009 hybrid inverter. */
  deviceClass: number;
  deviceType: number;
  /** Tags the 0x8220 attribute list offers (the model family), like real devices. */
  deviceTypeTags: readonly number[];
  nominalPowerW: number;
  phases: number;
  strings: number;
  batteries: number;
  /** 66-byte login answer without password echo (STP 5.0-3AV-40, SB 3.6 SE) or 78 bytes (STP 7000TL-20). */
  shortLoginAnswer: boolean;
  /** Queries this kind of device refuses, with the error code it answers. */
  refuses: Partial<Record<QueryName, number>>;
  hasPv: boolean;
}

const NO_BATTERY_OR_GRID: Partial<Record<QueryName, number>> = {
  batterySoc: ErrorCode.NOT_SUPPORTED,
  batteryInfo: ErrorCode.NOT_SUPPORTED,
  batteryPackSoc: ErrorCode.NOT_SUPPORTED,
  batteryPower: ErrorCode.NOT_SUPPORTED,
  batteryEnergy: ErrorCode.NOT_SUPPORTED,
  gridPower: ErrorCode.NOT_SUPPORTED,
  gridEnergy: ErrorCode.NOT_SUPPORTED,
};

/** Battery slots (A, B, C) a Sunny Boy Storage answers for, fitted or not. */
export const BATTERY_SLOTS = 3;
/** The class byte of every battery record of a Sunny Boy Storage: batteries are told apart by position only. */
export const BATTERY_CLASS = 7;

/** Defaults per profile; SUSyIDs and serials of the devices in the real captures (STP 5.0, SI 4.4M, SB 3.6 SE). */
export const PROFILES: Readonly<Record<ProfileName, DeviceProfile>> = {
  pv: {
    susyId: 378,
    serial: 3010538116,
    deviceClass: 8001,
    deviceType: 9345,
    deviceTypeTags: [9366, 9344, 9345, 9346],
    nominalPowerW: 5000,
    phases: 3,
    strings: 2,
    batteries: 0,
    shortLoginAnswer: true,
    refuses: NO_BATTERY_OR_GRID,
    hasPv: true,
  },
  battery: {
    susyId: 332,
    serial: 1261041708,
    deviceClass: 8007,
    deviceType: 9332,
    deviceTypeTags: [9331, 9332, 9333, 9334],
    nominalPowerW: 3300,
    phases: 1,
    strings: 0,
    batteries: 1,
    shortLoginAnswer: false,
    hasPv: false,
    // Like the Sunny Island in smasw14-energy-error23: error 0x0017 to yield and DC queries.
    refuses: {
      energy: ErrorCode.REFUSED,
      dcPower: ErrorCode.REFUSED,
      dcVoltageCurrent: ErrorCode.REFUSED,
      gridPower: ErrorCode.NOT_SUPPORTED,
      gridEnergy: ErrorCode.NOT_SUPPORTED,
    },
  },
  hybrid: {
    susyId: 461,
    serial: 3022930449,
    deviceClass: 8009,
    deviceType: 9225,
    deviceTypeTags: [9225, 9226],
    nominalPowerW: 5000,
    phases: 1,
    strings: 2,
    batteries: 1,
    shortLoginAnswer: true,
    refuses: {},
    hasPv: true,
  },
};

/**
 * First record index per query. Devices number records by their own value list: the STP 5.0-3AV-40 captures
 * start DC power at 0, DC U/I 2, AC power 9, AC U/I 12, type label 1, firmware 10, status 0, relay 7; the
 * SB 3000TL-21 energy at 0. The rest are made up, non-zero so that clients never rely on 0.
 */
export const RECORD_INDEX_BASE: Readonly<Record<QueryName, number>> = {
  energy: 0,
  times: 3,
  acPowerTotal: 6,
  acPowerPhase: 9,
  acVoltageCurrent: 12,
  gridFrequency: 22,
  dcPower: 0,
  dcVoltageCurrent: 2,
  temperature: 5,
  deviceStatus: 0,
  gridRelay: 7,
  typeLabel: 1,
  firmware: 10,
  nominalPower: 4,
  batterySoc: 1,
  batteryInfo: 2,
  batteryPackSoc: 3,
  batteryPower: 8,
  batteryEnergy: 5,
  gridPower: 24,
  gridEnergy: 6,
};

/** Everything the value functions need to know about the simulated device. */
export interface ModelConfig {
  profile: DeviceProfile;
  phases: number;
  strings: number;
  batteries: number;
  deviceName: string;
  deviceClass: number;
  deviceType: number;
  deviceTypeTags: readonly number[];
  firmware: string;
  nominalPowerW: number;
  timeVarying: boolean;
  /** Maps the real time to the time of day the sun curve and counters follow (default: the real time). */
  dayClock?: (now: Date) => Date;
  night: boolean;
  /** With timeVarying: the plant whose energy balance the values follow. */
  plant?: PlantModel;
}

/** Options that shape the simulated device (the rest of SimulatedInverterOptions is about the network). */
export interface DeviceOptions {
  /** Default "pv". */ profile?: ProfileName;
  /** 1..3; default per profile (pv 3, battery and hybrid 1). */ phases?: number;
  /** DC strings / MPP trackers 0..4 (records with class byte 1..n). */ strings?: number;
  /**
   * Fitted batteries 0..3 (default 1 for the battery and hybrid profiles). Battery values go out as a Sunny Boy Storage
   * sends them: three records per value id, all with class byte 7, battery A first; slots not fitted hold "no value".
   */ batteries?: number;
  /** Device type tag, e.g. 9345 (STP 5.0-3AV-40). */ deviceType?: number;
  /** Tags the device type list offers; default the profile's model family. */ deviceTypeTags?: number[];
  /** 8001 solar, 8007 battery, 8009 hybrid inverter. */ deviceClass?: number;
  /** Default "SN: <serial>" like real devices. */ deviceName?: string;
  /** Default "3.10.10.R". */ firmware?: string;
  nominalPowerW?: number;
  /** Follow a sun curve over the local day (the demo); default static values. */ timeVarying?: boolean;
  /** With timeVarying: the time of day to follow instead of the real one, e.g. compressedDay(360). */
  dayClock?: (now: Date) => Date;
  /** Spot values become "no value", counters stay. */ night?: boolean;
  /**
   * With timeVarying: the plant (PV, battery, house, grid) the values follow, e.g. one shared with a SimulatedMeter
   * through plantMeterValues(); default one sized after the device (plantFor).
   */
  plant?: PlantModel;
}

const count = (v: number | undefined, def: number, min: number, max: number): number =>
  Math.min(max, Math.max(min, v !== undefined && Number.isFinite(v) ? Math.trunc(v) : def));

export function modelFor(o: DeviceOptions, profile: DeviceProfile, serial: number): ModelConfig {
  return {
    profile,
    phases: count(o.phases, profile.phases, 1, 3),
    strings: count(o.strings, profile.strings, 0, 4),
    batteries: count(o.batteries, profile.batteries, 0, BATTERY_SLOTS),
    deviceName: o.deviceName ?? `SN: ${serial}`,
    deviceClass: o.deviceClass ?? profile.deviceClass,
    deviceType: o.deviceType ?? profile.deviceType,
    deviceTypeTags: o.deviceTypeTags ?? (o.deviceType === undefined ? profile.deviceTypeTags : [o.deviceType]),
    firmware: o.firmware ?? "3.10.10.R",
    nominalPowerW: o.nominalPowerW ?? profile.nominalPowerW,
    timeVarying: !!o.timeVarying,
    dayClock: o.dayClock,
    night: !!o.night,
    plant: o.timeVarying
      ? (o.plant ??
        plantFor({
          nominalPowerW: o.nominalPowerW ?? profile.nominalPowerW,
          hasPv: profile.hasPv,
          batteries: count(o.batteries, profile.batteries, 0, 8),
        }))
      : undefined,
  };
}

/**
 * A clock on which a whole day passes in dayLengthS real seconds from `from` on; before `from` it is the real time,
 * so that the device's history (its archives) is the plant's real past. The compressed day starts where the real
 * one is when that is between startHour and LAST_START_H (no jump at all), else at the next startHour local time
 * (a demo started at night shows the sun rising at once; the skipped night holds no PV energy). It never runs
 * backwards, so counters keep growing day by day.
 */
export function compressedDay(dayLengthS: number, startHour = 8, from = Date.now()): (now: Date) => Date {
  const at = new Date(from);
  const hours = at.getHours() + at.getMinutes() / 60;
  let anchor = from;
  if (hours < startHour || hours >= LAST_START_H) {
    const next = new Date(from);
    if (hours >= startHour) next.setDate(next.getDate() + 1);
    next.setHours(startHour, 0, 0, 0);
    anchor = next.getTime();
  }
  const speed = 86_400 / Math.max(1, dayLengthS);
  return (now) => new Date(now.getTime() < from ? now.getTime() : anchor + (now.getTime() - from) * speed);
}

/** compressedDay starts at the real time of day up to this hour (enough sun left to watch). */
const LAST_START_H = 15;

const STATUS_OK = 307;
const RELAY_CLOSED = 51;
const RELAY_OPEN = 311;
/** Real relay lists end with the "not available" placeholder before the end mark (lsw-relay-resp). */
const TAG_NOT_AVAILABLE = 0x00fffffd;
const SUNRISE_H = 6;
const DAYLIGHT_H = 14;
const EFFICIENCY = 0.97;
/** The static profile: sun at 80 %, half of the day's energy made, 1000 days in service. */
const STATIC = { sun: 0.8, dayDone: 0.5, days: 1000 };

const round = (v: number, digits = 0): number => Number(v.toFixed(digits));
const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
const hoursOf = (d: Date): number => d.getHours() + d.getMinutes() / 60 + d.getSeconds() / 3600;
const daylight = (d: Date): number => (hoursOf(d) - SUNRISE_H) / DAYLIGHT_H;

/** 0..1: a half sine from 06:00 to 20:00 local time. */
export function sunFactor(now: Date): number {
  const x = daylight(now);
  return x > 0 && x < 1 ? Math.sin(Math.PI * x) : 0;
}

const enumOf = (selected: number, tags: readonly number[]): EnumValue => ({
  selected,
  tags: tags.includes(selected) ? [...tags] : [...tags, selected],
});

/** The profile's values at `now`, by value-table name; rows the device refuses may be present, they are not sent. */
export function profileValues(now: Date, m: ModelConfig): SimValues {
  // The sun and the counters follow the day clock; voltage and frequency wobble in real time.
  const day = m.dayClock ? m.dayClock(now) : now;
  const st = m.timeVarying && m.plant ? m.plant.at(day) : undefined;
  const sun = st ? st.sun : STATIC.sun;
  const done = STATIC.dayDone;
  const days = st ? st.days : STATIC.days;
  const v: SimValues = {};
  const pvW = m.profile.hasPv ? (st ? st.pvDcW : m.nominalPowerW * sun) : 0;
  const dcW = dcValues(v, m, pvW, sun);
  const flow = st ? plantFlow(m, st) : batteryFlow(m, dcW, sun);
  // A hybrid feeds its PV and battery power; a battery inverter only the battery's; a PV inverter only PV.
  const acW = st
    ? (m.profile.hasPv ? st.pvW : 0) - flow.charge + flow.discharge
    : m.profile.hasPv
      ? round((dcW - flow.charge + flow.discharge) * EFFICIENCY)
      : round(flow.discharge * 0.96 - flow.charge / 0.96);
  acValues(v, m, acW, now);
  batteryValues(v, m, flow, sun, done, days, st);
  const fullDayWh = m.profile.hasPv ? (m.nominalPowerW * EFFICIENCY * DAYLIGHT_H * 2) / Math.PI : 0;
  // The yield counters integrate the PV power; the day's yield is the counter's growth since local midnight.
  const totalWh = !m.profile.hasPv ? 0 : st ? round(st.counters.pv) : round(days * fullDayWh) + round(fullDayWh * done);
  const dayWh = !m.profile.hasPv ? 0 : st ? totalWh - round(st.counters.pv - st.dayPvWh) : round(fullDayWh * done);
  const shiftS = DAYLIGHT_H * 3600;
  const light = st ? clamp01(daylight(day)) : 0.5;
  Object.assign(v, {
    dayYield: dayWh,
    totalYield: totalWh,
    operatingTime: round(days * shiftS + shiftS * light),
    feedInTime: round((days * shiftS + shiftS * light) * 0.95),
    temperature: round(25 + 20 * sun, 2),
    deviceStatus: enumOf(STATUS_OK, [STATUS_OK]),
    // A PV inverter that answers at night has opened its grid relay.
    gridRelay: enumOf(m.night && !flow.anyBattery ? RELAY_OPEN : RELAY_CLOSED, [
      RELAY_CLOSED,
      RELAY_OPEN,
      TAG_NOT_AVAILABLE,
    ]),
    deviceName: m.deviceName,
    deviceClass: enumOf(m.deviceClass, [m.deviceClass]),
    deviceType: enumOf(m.deviceType, m.deviceTypeTags),
    firmware: m.firmware,
    nominalPower: m.nominalPowerW,
  });
  if (st) {
    // The grid connection point of the plant: the same figures the energy meter sends (plantMeterValues).
    Object.assign(v, {
      gridPowerExport: Math.max(0, -st.gridW),
      gridPowerImport: Math.max(0, st.gridW),
      gridEnergyExport: round(st.counters.export),
      gridEnergyImport: round(st.counters.import),
    });
  } else {
    const houseW = 500;
    Object.assign(v, {
      gridPowerExport: Math.max(0, acW - houseW),
      gridPowerImport: Math.max(0, houseW - acW),
      gridEnergyExport: round((days + done) * fullDayWh * 0.6),
      gridEnergyImport: round((days + done) * 4200),
    });
  }
  return v;
}

/** Strings share the PV power (the later ones a little less); returns the DC total as sent (whole watts). */
function dcValues(v: SimValues, m: ModelConfig, pvW: number, sun: number): number {
  const weights = Array.from({ length: m.strings }, (_, i) => 1 - 0.06 * i);
  const sum = weights.reduce((a, b) => a + b, 0);
  let total = 0;
  weights.forEach((w, i) => {
    const p = round((pvW * w) / sum);
    const u = sun > 0 ? round((m.phases === 3 ? 560 : 340) - 7 * i + 25 * sun, 2) : 0;
    v[`dcPower${i + 1}`] = p;
    v[`dcVoltage${i + 1}`] = u;
    v[`dcCurrent${i + 1}`] = u > 0 ? round(p / u, 3) : 0;
    total += p;
  });
  return total;
}

/** Per-phase power adds up to the total exactly; phases the device lacks send "no value" (see acValues). */
function acValues(v: SimValues, m: ModelConfig, acW: number, now: Date): void {
  const n = Math.min(3, Math.max(1, m.phases));
  const share = Math.trunc(acW / n);
  const wobble = m.timeVarying ? 0.6 * Math.sin(now.getTime() / 20_000) : 0;
  const volts = [230.12, 229.87, 230.41].map((u) => round(u + wobble, 2));
  const lineVolts = [398.61, 398.12, 398.93].map((u) => round(u + wobble * 1.7, 2));
  for (let k = 1; k <= 3; k++) {
    // Single-phase devices send records for L2/L3 holding the NaN sentinel (SBFspot #528, #372), so do we.
    const p = k > n ? null : k === 1 ? acW - share * (n - 1) : share;
    v[`acPowerL${k}`] = p;
    v[`acVoltageL${k}`] = p === null ? null : volts[k - 1];
    v[`acCurrentL${k}`] = p === null ? null : round(Math.abs(p) / volts[k - 1], 3);
  }
  v.acVoltageL1L2 = n >= 2 ? lineVolts[0] : null;
  v.acVoltageL2L3 = n === 3 ? lineVolts[1] : null;
  v.acVoltageL3L1 = n === 3 ? lineVolts[2] : null;
  v.acPower = acW;
  v.gridFrequency = m.timeVarying ? round(50 + 0.02 * Math.sin(now.getTime() / 7000), 2) : 50;
}

interface Flow {
  charge: number;
  discharge: number;
  anyBattery: boolean;
}

/** Hybrids put 30 % of the PV power into the battery by day; battery inverters charge in sun, discharge otherwise. */
function batteryFlow(m: ModelConfig, dcW: number, sun: number): Flow {
  const anyBattery = m.batteries > 0 && !m.profile.refuses.batteryPower;
  if (!anyBattery) return { charge: 0, discharge: 0, anyBattery };
  if (m.profile.hasPv)
    return sun > 0.05
      ? { charge: round(dcW * 0.3), discharge: 0, anyBattery }
      : { charge: 0, discharge: 400, anyBattery };
  return sun >= 0.5
    ? { charge: round(1500 * sun), discharge: 0, anyBattery }
    : { charge: 0, discharge: round(600 + 400 * (1 - sun)), anyBattery };
}

/** The battery power of the plant, if this device has the battery. */
function plantFlow(m: ModelConfig, st: PlantState): Flow {
  const anyBattery = m.batteries > 0 && !m.profile.refuses.batteryPower;
  return anyBattery
    ? { charge: st.chargeW, discharge: st.dischargeW, anyBattery }
    : { charge: 0, discharge: 0, anyBattery };
}

function batteryValues(
  v: SimValues,
  m: ModelConfig,
  f: Flow,
  sun: number,
  done: number,
  days: number,
  st?: PlantState,
): void {
  const volts = m.profile.hasPv ? 199.6 : 51.2;
  const soc = st && st.soc !== null ? round(st.soc) : 68;
  for (let i = 1; i <= m.batteries; i++) {
    const u = round(volts + 0.05 * i, 2);
    v[`batteryTemperature${i}`] = round(22 + 0.4 * i + 5 * sun, 1);
    v[`batteryVoltage${i}`] = u;
    v[`batteryCurrent${i}`] = round((f.charge - f.discharge) / u / m.batteries, 3);
    v[`batteryPackSoc${i}`] = Math.min(100, Math.max(0, soc + 2 * (2 * i - m.batteries - 1)));
  }
  if (st && st.soc !== null) {
    v.batterySoc = soc;
    v.batteryChargePower = f.charge;
    v.batteryDischargePower = f.discharge;
    v.batteryChargeTotal = round(st.counters.charge);
    v.batteryDischargeTotal = round(st.counters.discharge);
    return;
  }
  v.batterySoc = soc;
  v.batteryChargePower = f.charge;
  v.batteryDischargePower = f.discharge;
  v.batteryChargeTotal = round((days + done) * 3600);
  v.batteryDischargeTotal = round((days + done) * 3300);
}

/** Spot values that read "no value" while the sun is down (counters, status and battery values stay). */
export function nullAtNight(def: ValueDef): boolean {
  return (
    (def.type === "u32" || def.type === "s32") &&
    (def.group === "ac" || def.group === "dc" || def.name === "temperature")
  );
}

/** Resolves a value source at `now`. */
export function resolveValue(src: ValueSource, now: Date): SimValue {
  return typeof src === "function" ? src(now) : src;
}
