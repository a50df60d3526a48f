/**
 * The value table: every value the package can read, one row each.
 * Adding a value is adding a row; the codec, the simulator, the sma-read editor list and the README use it.
 */
import type { QueryName } from "./queries";

export type ValueGroup = "energy" | "ac" | "dc" | "status" | "device" | "battery" | "grid";
/** How the value is stored: u64 counters (16-byte records), u32/s32 spot values (28), strings, enums, versions (40). */
export type ValueType = "u64" | "u32" | "s32" | "string" | "enum" | "firmware";

/**
 * How the records of an indexed value are numbered (the number is appended to the name: dcPower2, batteryTemperature3):
 * - "class": by the record's class byte (DC strings: class 1, 2, … are strings A, B, …; verified on real devices);
 * - "position": by the record's place among the records of the same value id in one answer, 1 = first. A Sunny Boy
 *   Storage sends batteries A, B, C as three records that ALL carry class 7; a battery not fitted sends "no value".
 */
export type Indexing = "class" | "position";

export interface ValueDef {
  /** Name in payloads. Indexed values get their number appended (see Indexing): dcPower1, dcPower2 ... */
  name: string;
  /** 16-bit value id (LRI without class byte and type). */
  lri: number;
  query: QueryName;
  type: ValueType;
  unit: string;
  /** The raw number is divided by this. */
  scale: number;
  group: ValueGroup;
  /** The en-US label (README, CLI); labels has it in every language of the editor. */
  label: string;
  labels: Readonly<Record<LabelLanguage, string>>;
  /** One value per string or battery, numbered as Indexing says; absent for single values. */
  indexed?: Indexing;
}

/** The editor's languages: every value has a label in each. */
export const LABEL_LANGUAGES = ["en-US", "de"] as const;
export type LabelLanguage = (typeof LABEL_LANGUAGES)[number];

const row = (
  name: string,
  lri: number,
  query: QueryName,
  type: ValueType,
  unit: string,
  scale: number,
  group: ValueGroup,
  label: string,
  labelDe: string,
  indexed?: Indexing,
): ValueDef => ({
  name,
  lri,
  query,
  type,
  unit,
  scale,
  group,
  label,
  labels: { "en-US": label, de: labelDe },
  ...(indexed ? { indexed } : {}),
});

export const VALUES: readonly ValueDef[] = [
  row("totalYield", 0x2601, "energy", "u64", "Wh", 1, "energy", "Total yield", "Gesamtertrag"),
  row("dayYield", 0x2622, "energy", "u64", "Wh", 1, "energy", "Day yield", "Tagesertrag"),
  row("operatingTime", 0x462e, "times", "u64", "s", 1, "energy", "Operating time", "Betriebszeit"),
  row("feedInTime", 0x462f, "times", "u64", "s", 1, "energy", "Feed-in time", "Einspeisezeit"),

  row("acPower", 0x263f, "acPowerTotal", "s32", "W", 1, "ac", "AC power total", "AC-Leistung gesamt"),
  row("acPowerL1", 0x4640, "acPowerPhase", "s32", "W", 1, "ac", "AC power L1", "AC-Leistung L1"),
  row("acPowerL2", 0x4641, "acPowerPhase", "s32", "W", 1, "ac", "AC power L2", "AC-Leistung L2"),
  row("acPowerL3", 0x4642, "acPowerPhase", "s32", "W", 1, "ac", "AC power L3", "AC-Leistung L3"),
  row("acVoltageL1", 0x4648, "acVoltageCurrent", "u32", "V", 100, "ac", "AC voltage L1", "AC-Spannung L1"),
  row("acVoltageL2", 0x4649, "acVoltageCurrent", "u32", "V", 100, "ac", "AC voltage L2", "AC-Spannung L2"),
  row("acVoltageL3", 0x464a, "acVoltageCurrent", "u32", "V", 100, "ac", "AC voltage L3", "AC-Spannung L3"),
  row("acVoltageL1L2", 0x464b, "acVoltageCurrent", "u32", "V", 100, "ac", "AC voltage L1-L2", "AC-Spannung L1-L2"),
  row("acVoltageL2L3", 0x464c, "acVoltageCurrent", "u32", "V", 100, "ac", "AC voltage L2-L3", "AC-Spannung L2-L3"),
  row("acVoltageL3L1", 0x464d, "acVoltageCurrent", "u32", "V", 100, "ac", "AC voltage L3-L1", "AC-Spannung L3-L1"),
  row("acCurrentL1", 0x4650, "acVoltageCurrent", "u32", "A", 1000, "ac", "AC current L1", "AC-Strom L1"),
  row("acCurrentL2", 0x4651, "acVoltageCurrent", "u32", "A", 1000, "ac", "AC current L2", "AC-Strom L2"),
  row("acCurrentL3", 0x4652, "acVoltageCurrent", "u32", "A", 1000, "ac", "AC current L3", "AC-Strom L3"),
  // Newer devices report the phase currents under these ids; same names, first non-null wins.
  row("acCurrentL1", 0x4653, "acVoltageCurrent", "s32", "A", 1000, "ac", "AC current L1", "AC-Strom L1"),
  row("acCurrentL2", 0x4654, "acVoltageCurrent", "s32", "A", 1000, "ac", "AC current L2", "AC-Strom L2"),
  row("acCurrentL3", 0x4655, "acVoltageCurrent", "s32", "A", 1000, "ac", "AC current L3", "AC-Strom L3"),
  row("gridFrequency", 0x4657, "gridFrequency", "u32", "Hz", 100, "ac", "Grid frequency", "Netzfrequenz"),

  row("dcPower", 0x251e, "dcPower", "s32", "W", 1, "dc", "DC power, string", "DC-Leistung, String", "class"),
  row(
    "dcVoltage",
    0x451f,
    "dcVoltageCurrent",
    "s32",
    "V",
    100,
    "dc",
    "DC voltage, string",
    "DC-Spannung, String",
    "class",
  ),
  row(
    "dcCurrent",
    0x4521,
    "dcVoltageCurrent",
    "s32",
    "A",
    1000,
    "dc",
    "DC current, string",
    "DC-Strom, String",
    "class",
  ),

  row("deviceStatus", 0x2148, "deviceStatus", "enum", "", 1, "status", "Device status", "Gerätestatus"),
  row("gridRelay", 0x4164, "gridRelay", "enum", "", 1, "status", "Grid relay", "Netzrelais"),
  row(
    "temperature",
    0x2377,
    "temperature",
    "s32",
    "°C",
    100,
    "status",
    "Inverter temperature",
    "Wechselrichtertemperatur",
  ),

  row("deviceName", 0x821e, "typeLabel", "string", "", 1, "device", "Device name", "Gerätename"),
  row("deviceClass", 0x821f, "typeLabel", "enum", "", 1, "device", "Device class", "Geräteklasse"),
  row("deviceType", 0x8220, "typeLabel", "enum", "", 1, "device", "Device type", "Gerätetyp"),
  row("firmware", 0x8234, "firmware", "firmware", "", 1, "device", "Firmware version", "Firmware-Version"),
  row("nominalPower", 0x411e, "nominalPower", "u32", "W", 1, "device", "Nominal power", "Nennleistung"),

  // Device-level state of charge (one value); per battery below (batteryPackSoc1..3). Batteries A, B, C are numbered
  // by the order of their records (all class 7 on a Sunny Boy Storage), not by the class byte.
  row("batterySoc", 0x295a, "batterySoc", "u32", "%", 1, "battery", "Battery state of charge", "Batterie-Ladezustand"),
  row(
    "batteryPackSoc",
    0x498f,
    "batteryPackSoc",
    "u32",
    "%",
    1,
    "battery",
    "State of charge, battery",
    "Ladezustand, Batterie",
    "position",
  ),
  row(
    "batteryTemperature",
    0x495b,
    "batteryInfo",
    "s32",
    "°C",
    10,
    "battery",
    "Battery temperature, battery",
    "Batterietemperatur, Batterie",
    "position",
  ),
  row(
    "batteryVoltage",
    0x495c,
    "batteryInfo",
    "u32",
    "V",
    100,
    "battery",
    "Battery voltage, battery",
    "Batteriespannung, Batterie",
    "position",
  ),
  row(
    "batteryCurrent",
    0x495d,
    "batteryInfo",
    "s32",
    "A",
    1000,
    "battery",
    "Battery current, battery",
    "Batteriestrom, Batterie",
    "position",
  ),
  row(
    "batteryChargePower",
    0x4969,
    "batteryPower",
    "u32",
    "W",
    1,
    "battery",
    "Battery charge power",
    "Batterie-Ladeleistung",
  ),
  row(
    "batteryDischargePower",
    0x496a,
    "batteryPower",
    "u32",
    "W",
    1,
    "battery",
    "Battery discharge power",
    "Batterie-Entladeleistung",
  ),
  row(
    "batteryChargeTotal",
    0x4967,
    "batteryEnergy",
    "u64",
    "Wh",
    1,
    "battery",
    "Battery charged total",
    "Batterie geladen gesamt",
  ),
  row(
    "batteryDischargeTotal",
    0x4968,
    "batteryEnergy",
    "u64",
    "Wh",
    1,
    "battery",
    "Battery discharged total",
    "Batterie entladen gesamt",
  ),

  row("gridPowerExport", 0x4636, "gridPower", "s32", "W", 1, "grid", "Grid feed-in power", "Einspeiseleistung"),
  row("gridPowerImport", 0x4637, "gridPower", "s32", "W", 1, "grid", "Grid draw power", "Bezugsleistung"),
  row("gridEnergyExport", 0x4624, "gridEnergy", "u64", "Wh", 1, "grid", "Grid feed-in total", "Einspeisung gesamt"),
  row("gridEnergyImport", 0x4625, "gridEnergy", "u64", "Wh", 1, "grid", "Grid draw total", "Netzbezug gesamt"),
];

const byLri = new Map<number, ValueDef>();
for (const v of VALUES) if (!byLri.has(v.lri)) byLri.set(v.lri, v);

export function valueByLri(lri: number): ValueDef | undefined {
  return byLri.get(lri);
}

/** One row per value name (the first; a name may stand under two value ids), in table order. */
export function distinctValues(): ValueDef[] {
  const seen = new Set<string>();
  return VALUES.filter((v) => !seen.has(v.name) && seen.add(v.name));
}

/** The rows for a payload name: "dcPower2" -> the dcPower row with index 2. */
export function resolveName(name: string): { defs: ValueDef[]; index?: number } {
  const exact = VALUES.filter((v) => v.name === name && !v.indexed);
  if (exact.length > 0) return { defs: exact };
  const m = /^(.*?)(\d+)$/.exec(name);
  if (!m) return { defs: [] };
  const defs = VALUES.filter((v) => v.indexed && v.name === m[1]);
  return defs.length > 0 ? { defs, index: Number(m[2]) } : { defs: [] };
}

/** The queries needed to read the named values (indexed names with or without a number). */
export function queriesFor(names: readonly string[]): QueryName[] {
  const out = new Set<QueryName>();
  for (const name of names) {
    const direct = VALUES.filter((v) => v.name === name);
    for (const d of direct.length > 0 ? direct : resolveName(name).defs) out.add(d.query);
  }
  return [...out];
}
