/**
 * The OBIS channels of SMA Energy Meter / Sunny Home Manager datagrams (protocol 0x6069 / 0x6081).
 *
 * Record id (4 bytes, big endian): byte 0 = OBIS "b" channel (always 0), byte 1 = measured quantity
 * ("c", called channel here: 1 = active import ...), byte 2 = measurement type ("d": 4 = actual value,
 * 4 bytes; 8 = counter, 8 bytes), byte 3 = tariff ("e", 0). Id 0x90000000 holds the firmware version.
 * OBIS_CHANNELS lists the channels in the order real meters send them; the encoder relies on that order.
 */

/** 4 = actual (instantaneous) 4-byte value, 8 = counter 8-byte value; also the value length in bytes. */
export type ObisType = 4 | 8;

export interface ObisChannel {
  /** Whole 32-bit record id, e.g. 0x00010400 for 0:1.4.0. */
  id: number;
  /** Measured quantity (OBIS "c"): 1..14 totals, 21..33 L1, 41..53 L2, 61..73 L3. */
  channel: number;
  type: ObisType;
  /** OBIS notation "b:c.d.e", e.g. "0:1.4.0". */
  obis: string;
  /** Field name in the decoded `values`. */
  field: string;
  /** Unit of the decoded value. */
  unit: string;
  /** Unit of the raw integer on the wire, e.g. "0.1 W", "Ws", "mV". */
  rawUnit: string;
  /** decoded = raw / divisor (a divisor keeps 10546 -> 1054.6 exact, where raw * 0.1 would not be). */
  divisor: number;
  /** decoded = raw * scale; 1 / divisor, for documentation. */
  scale: number;
  /** Decimals the decoded value is rounded to: the device's own resolution in the decoded unit (0.1 Wh -> 1). */
  decimals: number;
  description: string;
  /** Only newer firmware sends it (Home Manager 2.0: frequency); 600-byte datagrams lack it. */
  optional?: true;
}

/** Record id of the firmware version: 4 bytes major, minor, build, release type. */
export const OBIS_FIRMWARE_ID = 0x90000000;
export const OBIS_FIRMWARE_LENGTH = 4;

interface Quantity {
  field: string;
  unit: string;
  rawUnit: string;
  divisor: number;
  /** See ObisChannel.decimals. */
  decimals: number;
  description: string;
}

type Unit = Omit<Quantity, "field" | "description">;
const WATT: Unit = { unit: "W", rawUnit: "0.1 W", divisor: 10, decimals: 1 };
const VAR: Unit = { unit: "var", rawUnit: "0.1 var", divisor: 10, decimals: 1 };
const VA: Unit = { unit: "VA", rawUnit: "0.1 VA", divisor: 10, decimals: 1 };
// Counters are in Ws on the wire, but meters count in steps of 360 Ws (every counter of every real capture is a
// multiple of 360): 0.1 Wh is their resolution, so 1 decimal in Wh loses nothing and drops the /3600 noise.
const WH: Unit = { unit: "Wh", rawUnit: "Ws", divisor: 3600, decimals: 1 };
const VARH: Unit = { unit: "varh", rawUnit: "vars", divisor: 3600, decimals: 1 };
const VAH: Unit = { unit: "VAh", rawUnit: "VAs", divisor: 3600, decimals: 1 };
const PF: Unit = { unit: "", rawUnit: "0.001", divisor: 1000, decimals: 3 };

/**
 * One row per measured quantity: [channel offset, actual value (type 4), counter (type 8)].
 * Totals use the offset as is; phase n (1..3) adds 20 * n. Order = order on the wire.
 */
type Row = [number, Quantity | null, Quantity | null];

const TOTALS: readonly Row[] = [
  [
    1,
    { ...WATT, field: "powerImport", description: "active power import" },
    { ...WH, field: "energyImport", description: "active energy import" },
  ],
  [
    2,
    { ...WATT, field: "powerExport", description: "active power export" },
    { ...WH, field: "energyExport", description: "active energy export" },
  ],
  [
    3,
    { ...VAR, field: "reactivePowerImport", description: "reactive power import" },
    { ...VARH, field: "reactiveEnergyImport", description: "reactive energy import" },
  ],
  [
    4,
    { ...VAR, field: "reactivePowerExport", description: "reactive power export" },
    { ...VARH, field: "reactiveEnergyExport", description: "reactive energy export" },
  ],
  [
    9,
    { ...VA, field: "apparentPowerImport", description: "apparent power import" },
    { ...VAH, field: "apparentEnergyImport", description: "apparent energy import" },
  ],
  [
    10,
    { ...VA, field: "apparentPowerExport", description: "apparent power export" },
    { ...VAH, field: "apparentEnergyExport", description: "apparent energy export" },
  ],
  [13, { ...PF, field: "powerFactor", description: "power factor" }, null],
  [
    14,
    { unit: "Hz", rawUnit: "mHz", divisor: 1000, decimals: 3, field: "frequency", description: "grid frequency" },
    null,
  ],
];

/** Per-phase rows; the field name gets the suffix L1/L2/L3. */
const PHASE: readonly Row[] = [
  ...TOTALS.slice(0, 6),
  [11, { unit: "A", rawUnit: "mA", divisor: 1000, decimals: 3, field: "current", description: "current" }, null],
  [12, { unit: "V", rawUnit: "mV", divisor: 1000, decimals: 3, field: "voltage", description: "voltage" }, null],
  [13, { ...PF, field: "powerFactor", description: "power factor" }, null],
];

function entry(channel: number, type: ObisType, q: Quantity, phase: number): ObisChannel {
  const suffix = phase > 0 ? `L${phase}` : "";
  return {
    id: ((channel << 16) | (type << 8)) >>> 0,
    channel,
    type,
    obis: `0:${channel}.${type}.0`,
    field: q.field + suffix,
    unit: q.unit,
    rawUnit: q.rawUnit,
    divisor: q.divisor,
    scale: 1 / q.divisor,
    decimals: q.decimals,
    description: phase > 0 ? `${q.description} L${phase}` : q.description,
    ...(q.field === "frequency" ? { optional: true as const } : {}),
  };
}

function expand(rows: readonly Row[], phase: number): ObisChannel[] {
  return rows.flatMap(([offset, actual, counter]) => {
    const channel = offset + 20 * phase;
    const out: ObisChannel[] = [];
    if (actual) out.push(entry(channel, 4, actual, phase));
    if (counter) out.push(entry(channel, 8, counter, phase));
    return out;
  });
}

/** Every channel SMA meters send, in wire order (also the list for the docs / README). */
export const OBIS_CHANNELS: readonly ObisChannel[] = Object.freeze([
  ...expand(TOTALS, 0),
  ...expand(PHASE, 1),
  ...expand(PHASE, 2),
  ...expand(PHASE, 3),
]);

export const OBIS_BY_ID: ReadonlyMap<number, ObisChannel> = new Map(OBIS_CHANNELS.map((c) => [c.id, c]));
export const OBIS_BY_FIELD: ReadonlyMap<string, ObisChannel> = new Map(OBIS_CHANNELS.map((c) => [c.field, c]));

/** 0x02030452 -> "2.3.4.R". The 4th byte is an ASCII capital on meters; any other byte is shown as a number. */
export function formatMeterFirmware(raw: number): string {
  const release = raw & 0xff;
  const tail = release >= 0x41 && release <= 0x5a ? String.fromCharCode(release) : String(release);
  return `${(raw >>> 24) & 0xff}.${(raw >>> 16) & 0xff}.${(raw >>> 8) & 0xff}.${tail}`;
}

/** "2.3.4.R" -> 0x02030452 (letters as ASCII, as meters send them; "2.3.4.7" -> byte 7); null if malformed. */
export function parseMeterFirmware(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.([A-Z]|\d{1,3})$/.exec(text);
  if (!m) return null;
  const release = /^[A-Z]$/.test(m[4]) ? m[4].charCodeAt(0) : Number(m[4]);
  const parts = [Number(m[1]), Number(m[2]), Number(m[3]), release];
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}
