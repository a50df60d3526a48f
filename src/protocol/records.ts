/**
 * The record list of an inverter answer: fixed-size records whose size follows from the packet.
 * Sentinels ("no value") become null here, before any scaling: no sentinel leaves this file as a value. A spot record
 * also keeps its raw word, which answers.ts reads by the value table's type as well as by the record's type byte
 * (spotValue): devices do not agree on that byte.
 */
import { TextDecoder } from "node:util";
import { DecodeError } from "./errors";
import {
  DataType,
  ENUM_END,
  ENUM_NAN,
  ENUM_SELECTED,
  NAN_S32,
  NAN_S64,
  NAN_U32,
  NAN_U32_ALT,
  NAN_U64,
} from "./constants";
import type { Net2Header } from "./net2";

/** Record sizes real inverters use: 16 (counters), 28 (spot values), 40 (strings, lists, versions). */
export const RECORD_SIZES: readonly number[] = [16, 28, 40];
const RECORD_HEAD = 8;

export interface EnumValue {
  /** The selected tag number (low 24 bits), or null when none is selected. */
  selected: number | null;
  /** Every tag number listed, in order. */
  tags: number[];
}

export type RecordValue =
  /** raw: the 32-bit word of a spot record as sent (the value table's type reads it: see spotValue). */
  | { kind: "number"; value: number | null; raw?: number }
  | { kind: "string"; value: string | null }
  /** words: the eight u32 as sent (a firmware record some devices mark 0x08, as SBFspot's table has it: see answers.ts). */
  | { kind: "enum"; value: EnumValue; words?: number[] }
  | { kind: "words"; value: number[] };

export interface DataRecord {
  /** Channel / string / phase / battery number from the class byte (1 = first). */
  cls: number;
  /** 16-bit value id, e.g. 0x2601. */
  lri: number;
  dataType: number;
  /** Inverter clock, Unix seconds. */
  timestamp: number;
  size: number;
  value: RecordValue;
}

/** Size of each record in an answer, from the header and payload; throws DecodeError if it is no known size. */
export function recordSize(header: Net2Header, payloadLength: number): number {
  if (payloadLength === 0) return 0;
  const count = header.last - header.first + 1;
  if (!Number.isSafeInteger(count) || count <= 0 || count > payloadLength) {
    throw new DecodeError(
      "ERECORD",
      `record indexes ${header.first}..${header.last} do not fit ${payloadLength} bytes`,
    );
  }
  const size = payloadLength / count;
  if (!RECORD_SIZES.includes(size)) {
    throw new DecodeError("ERECORD", `${count} records in ${payloadLength} bytes: size ${size} is not known`);
  }
  return size;
}

/** Cuts the payload of an answer into records. */
export function decodeRecords(header: Net2Header, payload: Buffer): DataRecord[] {
  const size = recordSize(header, payload.length);
  const records: DataRecord[] = [];
  for (let off = 0; size > 0 && off + size <= payload.length; off += size) {
    records.push(decodeRecord(payload.subarray(off, off + size)));
  }
  return records;
}

export function decodeRecord(r: Buffer): DataRecord {
  if (r.length < RECORD_HEAD + 4) throw new DecodeError("ERECORD", `record of ${r.length} bytes`);
  const dataType = r.readUInt8(3);
  return {
    cls: r.readUInt8(0),
    lri: r.readUInt16LE(1),
    dataType,
    timestamp: r.readUInt32LE(4),
    size: r.length,
    value: decodeValue(r, dataType),
  };
}

function decodeValue(r: Buffer, dataType: number): RecordValue {
  if (r.length === 16) return { kind: "number", value: counter(r.readBigUInt64LE(RECORD_HEAD)) };
  if (r.length === 40) {
    if (dataType === DataType.STRING) return { kind: "string", value: text(r.subarray(RECORD_HEAD, 40)) };
    const words: number[] = [];
    for (let off = RECORD_HEAD; off + 4 <= r.length; off += 4) words.push(r.readUInt32LE(off));
    if (dataType === DataType.STATUS) return { kind: "enum", value: attributeList(r), words };
    return { kind: "words", value: words };
  }
  const raw = r.readUInt32LE(RECORD_HEAD);
  return { kind: "number", value: spot(raw, dataType === DataType.SIGNED), raw };
}

/** A 32-bit spot value, or null for the sentinel of its type. */
export function spot(raw: number, signed: boolean): number | null {
  if (signed) return raw === NAN_S32 ? null : raw | 0;
  return raw === NAN_U32 || raw === NAN_U32_ALT ? null : raw;
}

/**
 * A 32-bit spot value read as the value table's row says (rowSigned) AND as the record's type byte says: devices mark
 * one value 0x00 or 0x40 (an STP 5.0-3AV-40 sends the AC currents 0x4653..55 as 0x40 where SBFspot's table has 0x00,
 * whose reader notes it "can't rely on dataType"). Signed when either says so; null for 0x80000000 (s32 "no value";
 * as an unsigned reading 2^31 is no real value), and for 0xFFFFFFFF / 0xFFFFFFFE unless both say signed (-1 and -2 are
 * real readings of a signed value the device marks signed).
 */
export function spotValue(raw: number, rowSigned: boolean, recordSigned: boolean): number | null {
  const word = raw >>> 0;
  if (word === NAN_S32) return null;
  if (!(rowSigned && recordSigned) && (word === NAN_U32 || word === NAN_U32_ALT)) return null;
  return rowSigned || recordSigned ? word | 0 : word;
}

/** A 64-bit counter compared with both sentinels while still a BigInt. */
export function counter(raw: bigint): number | null {
  if (raw === NAN_U64 || raw === NAN_S64) return null;
  return raw > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(raw);
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The text of a string record up to its first NUL. SMA's STR32 is UTF-8 (SMA Modbus TI 3.5.7), so a device named
 * "Süd-Dach" in its web interface sends c3 bc for the ü; bytes that are no UTF-8 are read as Latin-1. Control and
 * bidi-override characters are dropped (they would rearrange a status line or a log).
 */
function text(b: Buffer): string | null {
  const end = b.indexOf(0);
  const raw = b.subarray(0, end < 0 ? b.length : end);
  // A name that fills the field may be cut inside its last character: that character is left out, the rest is still
  // UTF-8 (read as Latin-1, "Süd" would show as "SÃ¼d").
  let s = utf8(raw) ?? (end < 0 ? utf8(withoutCutCharacter(raw)) : null) ?? raw.toString("latin1");
  s = s.replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffd]/gu, "").trim();
  return s.length > 0 ? s : null;
}

/** The text of `b` when it is UTF-8, else null. */
function utf8(b: Buffer): string | null {
  try {
    return UTF8.decode(b);
  } catch {
    return null;
  }
}

/** `b` without the lead bytes of a UTF-8 character whose continuation bytes the end cut off. */
function withoutCutCharacter(b: Buffer): Buffer {
  let i = b.length;
  while (i > 0 && b.length - i < 3 && (b[i - 1] & 0xc0) === 0x80) i--;
  if (i === 0) return b;
  const lead = b[i - 1];
  const follow = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  return follow > b.length - i ? b.subarray(0, i - 1) : b;
}

function attributeList(r: Buffer): EnumValue {
  const tags: number[] = [];
  let selected: number | null = null;
  for (let off = RECORD_HEAD; off + 4 <= r.length; off += 4) {
    const word = r.readUInt32LE(off);
    const tag = word & 0x00ffffff;
    if (tag === ENUM_END) break;
    if (tag === ENUM_NAN || word === 0) continue;
    tags.push(tag);
    if ((word & 0xff000000) === ENUM_SELECTED && selected === null) selected = tag;
  }
  return { selected, tags };
}
