/** Decoding inverter answers into header + records, and reading records as named, scaled values. */
import { Command, DataType, NAN_U32_ALT } from "./constants";
import { decodeInverterDatagram, type Net2Header } from "./net2";
import { decodeRecords, spotValue, type DataRecord, type EnumValue } from "./records";
import { valueByLri, type ValueDef } from "./values";
import { answerCode, isAnswerCode } from "./queries";
import { isArchiveCommand } from "./archive";

export interface InverterAnswer {
  header: Net2Header;
  /** Empty for login answers, error answers and archive answers. */
  records: DataRecord[];
  /** The bytes after the header: archive answers are read from here by their own layout. */
  payload: Buffer;
  isLogin: boolean;
}

/** Decodes an inverter answer (or request) datagram. Throws only DecodeError. */
export function decodeAnswer(buf: Buffer): InverterAnswer {
  const { header, payload } = decodeInverterDatagram(buf);
  const isLogin = header.command === answerCode(Command.LOGIN) || header.command === Command.LOGIN;
  const isData =
    !isLogin && header.errorCode === 0 && isAnswerCode(header.command) && !isArchiveCommand(header.command);
  return { header, records: isData ? decodeRecords(header, payload) : [], payload, isLogin };
}

export type ReadingValue = number | string | EnumValue | null;

export interface Reading {
  /** Payload name, with the number of indexed values (dcPower2, batteryTemperature3). */
  name: string;
  def: ValueDef;
  /** The number in the name: the class byte ("class" rows, and single values), the position ("position" rows). */
  index: number;
  /** The record's class byte as sent (7 on every battery record of a Sunny Boy Storage). */
  cls: number;
  value: ReadingValue;
  /** Inverter clock, ms since epoch. */
  timestamp: number;
}

/** Most records of one "position" value id read from one answer; later ones are dropped. */
export const MAX_POSITION = 255;

/**
 * Reads records through the value table; records of unknown value ids are skipped. Give it the records of one answer (all
 * its datagrams) in the device's order: "position" rows are numbered by their place among the records of their value id (1 = first),
 * "class" rows by the class byte. A battery that is not fitted gives its number with the value null.
 */
export function readingsOf(records: readonly DataRecord[]): Reading[] {
  const out: Reading[] = [];
  const seen = new Map<number, number>();
  for (const rec of records) {
    const def = valueByLri(rec.lri);
    if (!def) continue;
    const position = (seen.get(rec.lri) ?? 0) + 1;
    seen.set(rec.lri, position);
    // An untrusted answer gets no more numbers by position than a class byte could give (real devices: 3 batteries).
    if (def.indexed === "position" && position > MAX_POSITION) continue;
    const index = def.indexed === "position" ? position : rec.cls;
    out.push({
      name: def.indexed ? def.name + index : def.name,
      def,
      index,
      cls: rec.cls,
      value: convert(def, rec),
      timestamp: rec.timestamp * 1000,
    });
  }
  return out;
}

function convert(def: ValueDef, rec: DataRecord): ReadingValue {
  const v = rec.value;
  switch (def.type) {
    case "u64":
    case "u32":
    case "s32": {
      // A spot record is read by the table's type too, not only by its type byte (see spotValue).
      const n =
        v.kind === "number" && v.raw !== undefined && def.type !== "u64"
          ? spotValue(v.raw, def.type === "s32", rec.dataType === DataType.SIGNED)
          : v.kind === "number"
            ? v.value
            : null;
      return n !== null ? scaled(n, def.scale) : null;
    }
    case "string":
      return v.kind === "string" ? v.value : null;
    case "enum":
      return v.kind === "enum" ? v.value : null;
    case "firmware": {
      // The version is the 5th u32 whatever the type byte says: 0x00 in the STP 5.0-3AV-40 capture, 0x08 (status) in
      // SBFspot's table, whose reader takes the word at record offset 24 either way.
      const words = v.kind === "words" ? v.value : v.kind === "enum" ? v.words : undefined;
      return words && words.length > 4 ? formatFirmware(words[4]) : null;
    }
  }
}

/**
 * Divides without binary noise, rounded to `digits` decimals (default: the divisor's own, 100 -> 2):
 * 22874 / 100 = 228.74, not 228.73999999999998.
 */
export function scaled(raw: number, scale: number, digits = Math.round(Math.log10(scale))): number {
  if (scale === 1) return raw;
  return Number((raw / scale).toFixed(Math.max(0, digits)));
}

const RELEASE_TYPES = ["N", "E", "A", "B", "R", "S"];

/** 0x03100A04 -> "3.10.10.R": bytes low to high are release type, build (binary), minor (BCD), major (BCD). */
export function formatFirmware(word: number): string | null {
  if (word === 0 || word >= NAN_U32_ALT) return null;
  const type = word & 0xff;
  const build = (word >>> 8) & 0xff;
  const minor = (word >>> 16) & 0xff;
  const major = (word >>> 24) & 0xff;
  const rel = RELEASE_TYPES[type] ?? String(type);
  return `${major.toString(16)}.${minor.toString(16).padStart(2, "0")}.${String(build).padStart(2, "0")}.${rel}`;
}

/** The readings as one flat object; where two rows give one name, the first non-null wins. */
export function valuesOf(readings: readonly Reading[]): Record<string, ReadingValue> {
  const out: Record<string, ReadingValue> = {};
  for (const r of readings) {
    const prev = out[r.name];
    if (prev == null) out[r.name] = r.value;
    // A long attribute list spans several records; the selected tag may be in a later one.
    else if (isEnum(prev) && isEnum(r.value))
      out[r.name] = { selected: prev.selected ?? r.value.selected, tags: [...prev.tags, ...r.value.tags] };
  }
  return out;
}

function isEnum(v: ReadingValue): v is EnumValue {
  return typeof v === "object" && v !== null && Array.isArray(v.tags);
}
