/**
 * What each query node reads and how it shapes msg.payload: flat objects of numbers (and a few names),
 * null where the device has no value. One row per node type.
 */
import {
  DEVICE_CLASS_TAGS, DEVICE_TYPE_TAGS, RELAY_TAGS, STATUS_TAGS, VALUES, queriesFor, tagName,
  type EnumValue, type QueryName, type ReadingValue,
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
  return Object.keys(values).map((k) => re.exec(k)).filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1])).sort((a, b) => a - b);
}

const PHASES = ["L1", "L2", "L3"];

export const energySpec: QueryNodeSpec = {
  type: "sma-energy", topic: "energy", queries: () => ["energy", "times"],
  payload: ({ values: v }) => ({
    totalYield: num(v.totalYield), dayYield: num(v.dayYield),
    operatingTime: num(v.operatingTime), feedInTime: num(v.feedInTime),
  }),
};

export const spotAcSpec: QueryNodeSpec = {
  type: "sma-spot-ac", topic: "ac", queries: () => ["acPowerTotal", "acPowerPhase", "acVoltageCurrent", "gridFrequency"],
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
  type: "sma-spot-dc", topic: "dc", queries: () => ["dcPower", "dcVoltageCurrent"],
  payload: ({ values: v }) => {
    const ns = [...new Set(["dcPower", "dcVoltage", "dcCurrent"].flatMap((b) => indexesOf(v, b)))].sort((a, b) => a - b);
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
  type: "sma-status", topic: "status", queries: () => ["deviceStatus", "gridRelay", "temperature", "times"],
  payload: ({ values: v }) => ({
    status: named(STATUS_TAGS, v.deviceStatus), statusCode: selected(v.deviceStatus),
    gridRelay: named(RELAY_TAGS, v.gridRelay), gridRelayCode: selected(v.gridRelay),
    temperature: num(v.temperature), operatingTime: num(v.operatingTime), feedInTime: num(v.feedInTime),
  }),
};

export const deviceInfoSpec: QueryNodeSpec = {
  type: "sma-device-info", topic: "info", queries: () => ["typeLabel", "firmware"],
  payload: ({ values: v, device, deviceClock }) => {
    const type = selected(v.deviceType);
    return {
      model: type === null ? null : DEVICE_TYPE_TAGS[type] ?? null,
      deviceClass: named(DEVICE_CLASS_TAGS, v.deviceClass), deviceClassCode: selected(v.deviceClass),
      deviceType: type, name: typeof v.deviceName === "string" ? v.deviceName : null,
      firmware: typeof v.firmware === "string" ? v.firmware : null,
      serial: device.serial, susyId: device.susyId,
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

/** Per-battery rows (indexed) and device-level rows, under their payload names. */
const BATTERY_INDEXED: Record<string, string> = { temperature: "batteryTemperature", voltage: "batteryVoltage", current: "batteryCurrent" };

export const batterySpec: QueryNodeSpec = {
  type: "sma-battery", topic: "battery", queries: () => ["batterySoc", "batteryInfo", "batteryPower", "batteryEnergy"],
  payload: ({ values: v }) => {
    const ns = [...new Set(Object.values(BATTERY_INDEXED).flatMap((b) => indexesOf(v, b)))].sort((a, b) => a - b);
    const per = (field: string, n: number): number | null => num(v[`${BATTERY_INDEXED[field]}${n}`]);
    const temps = ns.map((n) => per("temperature", n));
    const volts = ns.map((n) => per("voltage", n)).filter((x): x is number => x !== null);
    const p: Payload = {
      soc: num(v.batterySoc),
      // Several batteries: the hottest one matters for warnings, voltages average, currents add up.
      temperature: temps.every((t) => t === null) ? null : Math.max(...temps.filter((t): t is number => t !== null)),
      voltage: volts.length === 0 ? null : Number((volts.reduce((a, b) => a + b, 0) / volts.length).toFixed(2)),
      current: sum(ns.map((n) => per("current", n))),
      chargePower: num(v.batteryChargePower), dischargePower: num(v.batteryDischargePower),
      chargeTotal: num(v.batteryChargeTotal), dischargeTotal: num(v.batteryDischargeTotal),
    };
    if (ns.length > 1) for (const n of ns) for (const f of Object.keys(BATTERY_INDEXED)) p[`${f}${n}`] = per(f, n);
    return p;
  },
};

export const gridSpec: QueryNodeSpec = {
  type: "sma-grid", topic: "grid", queries: () => ["gridPower", "gridEnergy"],
  payload: ({ values: v }) => {
    const imp = num(v.gridPowerImport);
    const exp = num(v.gridPowerExport);
    return {
      powerImport: imp, powerExport: exp,
      power: imp === null && exp === null ? null : (imp ?? 0) - (exp ?? 0),
      energyImport: num(v.gridEnergyImport), energyExport: num(v.gridEnergyExport),
    };
  },
};

/**
 * The plain query nodes, one row each: the node set nodes/query registers them, its editor and help
 * (nodes/query/locales/<lang>/query.{json,html}) have one entry per type. sma-read has a folder of its own.
 */
export const QUERY_NODES: readonly QueryNodeSpec[] = [energySpec, spotAcSpec, spotDcSpec, statusSpec, deviceInfoSpec, batterySpec, gridSpec];

const VALUE_NAMES: ReadonlySet<string> = new Set(VALUES.map((d) => d.name));

/** The ticked names that are in the value table ("__proto__", "toString" and the like are not). */
function selectedNames(config: Record<string, unknown>): string[] {
  const v = config.values;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && VALUE_NAMES.has(x)) : [];
}

/** sma-read: the values the user ticked, under the table's names; enums give their tag number. */
export const readSpec: QueryNodeSpec = {
  type: "sma-read", topic: "read", queries: (config) => queriesFor(selectedNames(config)),
  payload: ({ values: v }, config) => {
    const p: Payload = {};
    for (const name of selectedNames(config)) {
      const indexed = VALUES.some((d) => d.name === name && d.indexed);
      const keys = indexed ? indexesOf(v, name).map((n) => `${name}${n}`) : [name];
      for (const k of keys) {
        const x = Object.hasOwn(v, k) ? v[k] : undefined;
        p[k] = x === undefined || x === null ? null : typeof x === "object" ? x.selected : x;
      }
    }
    return p;
  },
};
