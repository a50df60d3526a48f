/**
 * Builders of inverter answers with the byte layout real inverters send (record sizes, value copies,
 * attribute lists). The simulator speaks through these; tests compare them with real captures.
 */
import {
  Command,
  DataType,
  ENUM_END,
  ENUM_SELECTED,
  NAN_S32,
  NAN_U32,
  NAN_U32_ALT,
  NAN_U64,
  PASSWORD_LENGTH,
  SessionControl,
} from "../protocol/constants";
import { encodeInverterDatagram, type Address } from "../protocol/net2";
import { answerCode } from "../protocol/queries";
import { LOGIN_PASSWORD_OFFSET } from "../protocol/requests";
import type { EnumValue } from "../protocol/records";
import type { ValueDef } from "../protocol/values";
import { DecodeError } from "../protocol/errors";
import { Protocol } from "../protocol/constants";
import { writeNet2Datagram } from "../protocol/framing";

/** Control byte and destination control word real inverters put in answers (bytes a0 / 00 a1). */
const ANSWER_CONTROL = 0xa0;
const ANSWER_DESTINATION_CONTROL = 0xa100;
const ANSWER_SOURCE_CONTROL = 0x0100;

export interface AnswerBase {
  /** The inverter. */
  source: Address;
  /** The client that asked. */
  destination: Address;
  packetId: number;
}

export interface LoginAnswer extends AnswerBase {
  errorCode: number;
  group: number;
  timeoutS: number;
  time: number;
  /** Some devices echo the 12 password bytes (78-byte answer), others do not (66 bytes). */
  passwordEcho?: Buffer;
}

export function buildLoginAnswer(a: LoginAnswer): Buffer {
  const payload = Buffer.alloc(a.passwordEcho ? LOGIN_PASSWORD_OFFSET + PASSWORD_LENGTH : LOGIN_PASSWORD_OFFSET);
  payload.writeUInt32LE(a.time >>> 0, 0);
  a.passwordEcho?.copy(payload, LOGIN_PASSWORD_OFFSET, 0, PASSWORD_LENGTH);
  return encodeInverterDatagram({
    control: 0xd0,
    destination: a.destination,
    destinationControl: SessionControl.LOGIN,
    source: a.source,
    sourceControl: SessionControl.LOGIN,
    errorCode: a.errorCode,
    packetId: a.packetId,
    command: answerCode(Command.LOGIN),
    first: a.group,
    last: a.timeoutS,
    payload,
  });
}

/** An answer without records: errors (not logged in, not supported) echo the request's first/last. */
export function buildErrorAnswer(
  a: AnswerBase & { command: number; first: number; last: number; errorCode: number },
): Buffer {
  return encodeInverterDatagram({
    control: 0x90,
    destination: a.destination,
    destinationControl: 0xe100,
    source: a.source,
    sourceControl: ANSWER_SOURCE_CONTROL,
    errorCode: a.errorCode,
    packetId: a.packetId,
    command: answerCode(a.command),
    first: a.first,
    last: a.last,
  });
}

export interface DataAnswer extends AnswerBase {
  /** The request's command; the answer carries command + 1. */
  command: number;
  /** Index of the first record (real devices start anywhere: 0, 1, 9, 12 ...). */
  firstIndex: number;
  records: Buffer[];
  fragment?: number;
  /** Packet id bit 15 (default set): real devices set it on the first datagram of an answer, later ones may not. */
  packetIdFlag?: boolean;
}

export function buildDataAnswer(a: DataAnswer): Buffer {
  const size = a.records[0]?.length ?? 0;
  if (a.records.some((r) => r.length !== size))
    throw new DecodeError("EENCODE", "records of one answer differ in size");
  return encodeInverterDatagram({
    control: ANSWER_CONTROL,
    destination: a.destination,
    destinationControl: ANSWER_DESTINATION_CONTROL,
    source: a.source,
    sourceControl: ANSWER_SOURCE_CONTROL,
    fragment: a.fragment ?? 0,
    packetId: a.packetId,
    packetIdFlag: a.packetIdFlag,
    command: answerCode(a.command),
    first: a.firstIndex,
    last: a.firstIndex + a.records.length - 1,
    payload: Buffer.concat(a.records),
  });
}

export type SimValue = number | string | EnumValue | null;

/** One record of a value-table row. Numbers are in the row's unit (scaled back here); null sends the sentinel. */
export function buildRecord(def: ValueDef, cls: number, value: SimValue, timestamp: number): Buffer {
  const size = def.type === "u64" ? 16 : def.type === "u32" || def.type === "s32" ? 28 : 40;
  const dataType =
    def.type === "s32"
      ? DataType.SIGNED
      : def.type === "string"
        ? DataType.STRING
        : def.type === "enum"
          ? DataType.STATUS
          : DataType.UNSIGNED;
  const r = Buffer.alloc(size);
  r.writeUInt8(cls & 0xff, 0);
  r.writeUInt16LE(def.lri, 1);
  r.writeUInt8(dataType, 3);
  r.writeUInt32LE(timestamp >>> 0, 4);
  const raw = typeof value === "number" && Number.isFinite(value) ? Math.round(value * def.scale) : null;
  // Values a record cannot hold are sent as "no value", as a device would.
  const fits =
    raw !== null &&
    (def.type === "s32"
      ? raw > -0x80000000 && raw <= 0x7fffffff
      : raw >= 0 && (def.type === "u64" ? raw <= Number.MAX_SAFE_INTEGER : raw < NAN_U32_ALT));
  const num = fits ? raw : null;
  switch (def.type) {
    case "u64":
      r.writeBigUInt64LE(num === null ? NAN_U64 : BigInt(num), 8);
      break;
    case "u32":
    case "s32": {
      const raw = num === null ? (def.type === "s32" ? NAN_S32 : NAN_U32) : num >>> 0;
      for (let off = 8; off < 24; off += 4) r.writeUInt32LE(raw, off);
      r.writeUInt32LE(1, 24);
      break;
    }
    case "string":
      // UTF-8 as devices send it (SMA's STR32); a character that does not fit the 32 bytes whole is left out.
      if (typeof value === "string") r.write(value, 8, 32, "utf8");
      break;
    case "enum":
      writeAttributeList(r, isEnum(value) ? value : { selected: null, tags: [] });
      break;
    case "firmware": {
      const word = typeof value === "string" ? parseFirmware(value) : NAN_U32_ALT;
      r.writeUInt32LE(NAN_U32_ALT, 16);
      r.writeUInt32LE(NAN_U32_ALT, 20);
      r.writeUInt32LE(word, 24);
      r.writeUInt32LE(word, 28);
      break;
    }
  }
  return r;
}

function isEnum(v: SimValue): v is EnumValue {
  return typeof v === "object" && v !== null && Array.isArray(v.tags);
}

function writeAttributeList(r: Buffer, e: EnumValue): void {
  // Real devices pack up to 8 tags per record; the end mark only follows when there is room.
  const tags = e.tags.slice(0, 8);
  let off = 8;
  for (const t of tags) {
    r.writeUInt32LE(((t & 0x00ffffff) | (t === e.selected ? ENUM_SELECTED : 0)) >>> 0, off);
    off += 4;
  }
  if (off < r.length) r.writeUInt32LE(ENUM_END, off);
}

const RELEASE = "NEABRS";

/** "3.10.10.R" -> 0x03100A04 (the inverse of formatFirmware). */
export function parseFirmware(s: string): number {
  const m = /^(\d{1,2})\.(\d{1,2})\.(\d{1,3})\.([A-Z]|\d+)$/.exec(s);
  if (!m) throw new DecodeError("EENCODE", `firmware "${s}" is not like 3.10.10.R`);
  const rel = RELEASE.indexOf(m[4]);
  const type = rel >= 0 ? rel : Number(m[4]);
  return ((parseInt(m[1], 16) << 24) | (parseInt(m[2], 16) << 16) | ((Number(m[3]) & 0xff) << 8) | (type & 0xff)) >>> 0;
}

/**
 * A Speedwire encryption key exchange (protocol 0x6075) as the protocol notes describe it (no public capture):
 * packet type u16 BE (1 request keys, 2 response keys), source SUSyID + serial, destination SUSyID + serial (LE).
 */
export function buildKeyExchange(k: { type: number; source: Address; destination: Address }): Buffer {
  const net2 = Buffer.alloc(2 + 2 + 6 + 6);
  net2.writeUInt16BE(Protocol.KEY_EXCHANGE, 0);
  net2.writeUInt16BE(k.type, 2);
  net2.writeUInt16LE(k.source.susyId, 4);
  net2.writeUInt32LE(k.source.serial >>> 0, 6);
  net2.writeUInt16LE(k.destination.susyId, 10);
  net2.writeUInt32LE(k.destination.serial >>> 0, 12);
  return writeNet2Datagram(net2);
}
