/**
 * What each query node reads and how it shapes msg.payload: flat objects of numbers (and a few names),
 * null where the device has no value. One row per node type.
 */
import {
  DEVICE_CLASS_TAGS,
  DEVICE_TYPE_TAGS,
  RELAY_TAGS,
  STATUS_TAGS,
  tagName,
  type EnumValue,
  type QueryName,
  type ReadingValue,
} from "../../src/protocol";
import type { DeviceClockReading, ReadResult } from "../../src/client";

export type Payload = Record<string, number | string | null>;

export interface QueryNodeSpec {
  type: string;
  /** Last part of the default topic sma/<serial>/<topic>. */
  topic: string;
  queries: (config: Record<string, unknown>) => QueryName[];
  payload: (r: ReadResult, config: Record<string, unknown>) => Payload;
}

const num = (v: ReadingValue | undefined): number | null => (typeof v === "number" ? v : null);
const selected = (v: ReadingValue | undefined): number | null =>
  v && typeof v === "object" ? (v as EnumValue).selected : null;
const named = (table: Readonly<Record<number, string>>, v: ReadingValue | undefined): string | number | null =>
  tagName(table, selected(v));

/** Sum of the numbers among xs, or null when there are none. */
export function sum(xs: (number | null)[]): number | null {
  const ns = xs.filter((x): x is number => x !== null);
  return ns.length === 0 ? null : Number(ns.reduce((a, b) => a + b, 0).toFixed(6));
}

/** The numbers n for which values has `${base}${n}`, ascending. */
export function indexesOf(values: Record<string, unknown>, base: string): number[] {
  const re = new RegExp(`^${base}(\\d+)$`);
  return Object.keys(values)
    .map((k) => re.exec(k))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

const PHASES = ["L1", "L2", "L3"];

export const energySpec: QueryNodeSpec = {
  type: "sma-energy",
  topic: "energy",
  queries: () => ["energy", "times"],
  payload: ({ values: v }) => ({
    totalYield: num(v.totalYield),
    dayYield: num(v.dayYield),
    operatingTime: num(v.operatingTime),
    feedInTime: num(v.feedInTime),
  }),
};

export const spotAcSpec: QueryNodeSpec = {
  type: "sma-spot-ac",
  topic: "ac",
  queries: () => ["acPowerTotal", "acPowerPhase", "acVoltageCurrent", "gridFrequency"],
  payload: ({ values: v }) => {
    const p: Payload = {};
    const phases = PHASES.map((l) => num(v[`acPower${l}`]));
    p.power = "acPower" in v ? num(v.acPower) : sum(phases);
    PHASES.forEach((l, i) => (p[`power${l}`] = phases[i]));
    for (const l of PHASES) p[`voltage${l}`] = num(v[`acVoltage${l}`]);
    for (const l of PHASES) p[`current${l}`] = num(v[`acCurrent${l}`]);
    p.frequency = num(v.gridFrequency);
    return p;
  },
};

export const spotDcSpec: QueryNodeSpec = {
  type: "sma-spot-dc",
  topic: "dc",
  queries: () => ["dcPower", "dcVoltageCurrent"],
  payload: ({ values: v }) => {
    const ns = [...new Set(["dcPower", "dcVoltage", "dcCurrent"].flatMap((b) => indexesOf(v, b)))].sort(
      (a, b) => a - b,
    );
    const p: Payload = { power: sum(ns.map((n) => num(v[`dcPower${n}`]))) };
    for (const n of ns) {
      p[`power${n}`] = num(v[`dcPower${n}`]);
      p[`voltage${n}`] = num(v[`dcVoltage${n}`]);
      p[`current${n}`] = num(v[`dcCurrent${n}`]);
    }
    return p;
  },
};

export const statusSpec: QueryNodeSpec = {
  type: "sma-status",
  topic: "status",
  queries: () => ["deviceStatus", "gridRelay", "temperature", "times"],
  payload: ({ values: v }) => ({
    status: named(STATUS_TAGS, v.deviceStatus),
    statusCode: selected(v.deviceStatus),
    gridRelay: named(RELAY_TAGS, v.gridRelay),
    gridRelayCode: selected(v.gridRelay),
    temperature: num(v.temperature),
    operatingTime: num(v.operatingTime),
    feedInTime: num(v.feedInTime),
  }),
};

export const deviceInfoSpec: QueryNodeSpec = {
  type: "sma-device-info",
  topic: "info",
  queries: () => ["typeLabel", "firmware"],
  payload: ({ values: v, device, deviceClock }) => {
    const type = selected(v.deviceType);
    return {
      model: type === null ? null : (DEVICE_TYPE_TAGS[type] ?? null),
      deviceClass: named(DEVICE_CLASS_TAGS, v.deviceClass),
      deviceClassCode: selected(v.deviceClass),
      deviceType: type,
      name: typeof v.deviceName === "string" ? v.deviceName : null,
      firmware: typeof v.firmware === "string" ? v.firmware : null,
      serial: device.serial,
      susyId: device.susyId,
      ...clockFields(deviceClock),
    };
  },
};

/**
 * The device clock from the latest time record the device pushed (read only): device time and when it was last set
 * (ms since epoch), drift from the host clock (s, device minus host), time zone offset (s) and daylight saving (1/0).
 * All null until a record has arrived.
 */
export function clockFields(c: DeviceClockReading | null | undefined): Payload {
  return {
    deviceTime: c?.time != null ? c.time * 1000 : null,
    clockDrift: c?.driftS ?? null,
    timeZoneOffset: c ? c.tzOffsetS : null,
    dst: c ? (c.dst ? 1 : 0) : null,
    clockSetAt: c?.lastSet != null ? c.lastSet * 1000 : null,
  };
}

/** Per-battery fields of sma-battery and the value-table rows (numbered by position: 1 = battery A) they come from. */
const BATTERY_FIELDS: Record<string, string> = {
  soc: "batteryPackSoc",
  temperature: "batteryTemperature",
  voltage: "batteryVoltage",
  current: "batteryCurrent",
};

/**
 * sma-battery: the device's values, and each fitted battery's own under its number (temperature1, soc2, ...): a battery
 * is fitted when any of its values is there (slots not fitted send "no value" in every record). Batteries are never
 * combined: temperature / voltage / current are the battery's when exactly one is fitted, else null.
 */
export const batterySpec: QueryNodeSpec = {
  type: "sma-battery",
  topic: "battery",
  queries: () => ["batterySoc", "batteryInfo", "batteryPackSoc", "batteryPower", "batteryEnergy"],
  payload: ({ values: v }) => {
    const per = (field: string, n: number): number | null => num(v[`${BATTERY_FIELDS[field]}${n}`]);
    const fields = Object.keys(BATTERY_FIELDS);
    const slots = [...new Set(Object.values(BATTERY_FIELDS).flatMap((b) => indexesOf(v, b)))].sort((a, b) => a - b);
    const ns = slots.filter((n) => fields.some((f) => per(f, n) !== null));
    const only = ns.length === 1 ? ns[0] : undefined;
    const p: Payload = {
      soc: num(v.batterySoc),
      temperature: only === undefined ? null : per("temperature", only),
      voltage: only === undefined ? null : per("voltage", only),
      current: only === undefined ? null : per("current", only),
      chargePower: num(v.batteryChargePower),
      dischargePower: num(v.batteryDischargePower),
      chargeTotal: num(v.batteryChargeTotal),
      dischargeTotal: num(v.batteryDischargeTotal),
      // No battery records at all (a PV inverter, or a device without per-battery values): unknown, not 0.
      batteries: slots.length === 0 ? null : ns.length,
    };
    for (const n of ns) for (const f of fields) p[`${f}${n}`] = per(f, n);
    return p;
  },
};

export const gridSpec: QueryNodeSpec = {
  type: "sma-grid",
  topic: "grid",
  queries: () => ["gridPower", "gridEnergy"],
  payload: ({ values: v }) => {
    const imp = num(v.gridPowerImport);
    const exp = num(v.gridPowerExport);
    return {
      powerImport: imp,
      powerExport: exp,
      power: imp === null && exp === null ? null : (imp ?? 0) - (exp ?? 0),
      energyImport: num(v.gridEnergyImport),
      energyExport: num(v.gridEnergyExport),
    };
  },
};

/**
 * The plain query nodes, one row each: the node set nodes/sma-query registers them, its editor and help
 * (nodes/sma-query/locales/<lang>/sma-query.{json,html}) have one entry per type. sma-read has a folder of its own.
 */
export const QUERY_NODES: readonly QueryNodeSpec[] = [
  energySpec,
  spotAcSpec,
  spotDcSpec,
  statusSpec,
  deviceInfoSpec,
  batterySpec,
  gridSpec,
];
