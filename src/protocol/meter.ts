/**
 * SMA Energy Meter / Sunny Home Manager datagrams (protocol 0x6069, and 0x6081 which has 2 extra bytes
 * `00 03` after the protocol id), big endian throughout. Pure codec: throws only DecodeError.
 *
 * Net 2 data: protocol id (2) [+ 2 extra bytes for 0x6081], SUSyID (2), serial (4), ticker ms (4), then
 * records (id 4 bytes + value of 4 or 8 bytes, see obis.ts) until a zero id or the end of the Net 2 tag.
 * Record length: 4 for the firmware id 0x90000000, otherwise byte 2 of the id. Any other length byte
 * makes the walk impossible (the next id's position is unknown): that is a DecodeError "ERECORD", never
 * a silent stop, so that a corrupted datagram is counted as malformed instead of yielding half the values; so is a
 * zero id with records after it, and a Net 2 tag that does not end right before the end tag (ELENGTH: a length
 * field that ends the tag between two records).
 */
import { DecodeError } from "./errors";
import { Protocol, SIGNATURE, Tag } from "./constants";
import { readNet2, writeNet2Datagram } from "./framing";
import { scaled } from "./answers";
import {
  OBIS_BY_FIELD,
  OBIS_BY_ID,
  OBIS_CHANNELS,
  OBIS_FIRMWARE_ID,
  OBIS_FIRMWARE_LENGTH,
  formatMeterFirmware,
  parseMeterFirmware,
  type ObisChannel,
} from "./obis";

export type MeterVariant = "emeter10" | "emeter20" | "shm20";
export type MeterProtocol = typeof Protocol.METER | typeof Protocol.METER_EXTENDED;

export interface MeterVariantInfo {
  /** SUSyID the real devices send. */
  susyId: number;
  /** Firmware of the real captures this layout was checked against. */
  firmware: string;
  /** Newer firmware adds the grid frequency channel 0:14.4.0. */
  frequency: boolean;
  /** Datagram length with protocol 0x6069 and a firmware record (0x6081 adds 2 bytes). */
  length: number;
}

export const METER_VARIANTS: Readonly<Record<MeterVariant, MeterVariantInfo>> = {
  emeter10: { susyId: 270, firmware: "1.2.4.R", frequency: false, length: 600 },
  emeter20: { susyId: 349, firmware: "2.0.18.R", frequency: false, length: 600 },
  shm20: { susyId: 372, firmware: "2.3.4.R", frequency: true, length: 608 },
};

/** The variant whose SUSyID this is, or null (another or unknown SMA device). */
export function meterVariantOf(susyId: number): MeterVariant | null {
  const hit = (Object.keys(METER_VARIANTS) as MeterVariant[]).find((v) => METER_VARIANTS[v].susyId === susyId);
  return hit ?? null;
}

export interface MeterDatagram {
  protocol: MeterProtocol;
  susyId: number;
  serial: number;
  /** Meter's millisecond ticker (u32, wraps). */
  tickerMs: number;
  /** "2.3.4.R", or null when the datagram has no firmware record. */
  firmware: string | null;
  /** Decoded channels by field name (obis.ts), in their units rounded to the channel's decimals; only channels present. */
  values: Record<string, number>;
  /** Records with an id not in the OBIS table (skipped). */
  unknownChannels: number;
  /** Signed active power in W: import positive, export negative; null unless channels 1 and 2 are both there. */
  power: number | null;
  powerL1: number | null;
  powerL2: number | null;
  powerL3: number | null;
}

/** Protocol id (2) + SUSyID (2) + serial (4) + ticker (4). */
const HEADER_BYTES = 12;
/** 0x6081 carries 2 more bytes (`00 03`) between the protocol id and the SUSyID. */
const EXTENDED_EXTRA = 2;
const EXTENDED_MARKER = 0x0003;
/** Net 2 tag data starts at 16 in every meter datagram (after "SMA\0" and the group tag). */
const NET2_OFFSET = 16;

const hex = (n: number): string => "0x" + n.toString(16).padStart(4, "0");

/** Cheap pre-filter: SMA signature, Net 2 tag at offset 12 and a meter protocol id. The decoder decides. */
export function isMeterDatagram(buf: Buffer): boolean {
  if (buf.length < NET2_OFFSET + HEADER_BYTES || buf.readUInt32BE(0) !== SIGNATURE) return false;
  if (buf.readUInt16BE(NET2_OFFSET - 2) !== Tag.NET2) return false;
  const protocol = buf.readUInt16BE(NET2_OFFSET);
  return (
    protocol === Protocol.METER ||
    (protocol === Protocol.METER_EXTENDED && extendedMeterData(buf.subarray(NET2_OFFSET)))
  );
}

/**
 * 0x6081 carries meter data only after the marker `00 03`: inverters send 32-byte 0x6081 datagrams with `00 01`
 * there, their SUSyID and serial and no channels (a live plant, 2026), which are no meter datagrams.
 */
function extendedMeterData(net2: Buffer): boolean {
  return net2.length >= 4 && net2.readUInt16BE(2) === EXTENDED_MARKER;
}

/** Value length of a record id, or null when it cannot be known. */
function recordLength(id: number): number | null {
  if (id === OBIS_FIRMWARE_ID) return OBIS_FIRMWARE_LENGTH;
  const type = (id >>> 8) & 0xff;
  return type === 4 || type === 8 ? type : null;
}

/** Decodes a meter datagram. Throws DecodeError: EPROTOCOL for any protocol but 0x6069 / 0x6081. */
export function decodeMeterDatagram(buf: Buffer): MeterDatagram {
  const net2 = readNet2(buf);
  const protocol = net2.protocol;
  if (protocol !== Protocol.METER && protocol !== Protocol.METER_EXTENDED) {
    throw new DecodeError("EPROTOCOL", `protocol ${hex(protocol)} is not energy meter data`);
  }
  const d = net2.data;
  if (protocol === Protocol.METER_EXTENDED && d.length >= 4 && !extendedMeterData(d)) {
    throw new DecodeError(
      "EPROTOCOL",
      `protocol ${hex(protocol)} with marker ${hex(d.readUInt16BE(2))}: not energy meter data`,
    );
  }
  let off = protocol === Protocol.METER_EXTENDED ? 2 + EXTENDED_EXTRA : 2;
  if (d.length < off + HEADER_BYTES - 2) {
    throw new DecodeError("ESHORT", `meter header needs ${off + HEADER_BYTES - 2} bytes, Net 2 tag has ${d.length}`);
  }
  // Every real meter datagram ends its Net 2 tag right before the end tag. A length field that claims less ends
  // the tag between two records: the walk below would stop there and yield only the first channels.
  const after = net2.offset + d.length;
  if (buf.length !== after && (buf.length < after + 4 || buf.readUInt32BE(after) !== 0)) {
    throw new DecodeError("ELENGTH", `meter data does not end where its Net 2 tag (${d.length} bytes) says`);
  }
  const susyId = d.readUInt16BE(off);
  const serial = d.readUInt32BE(off + 2);
  const tickerMs = d.readUInt32BE(off + 6);
  off += HEADER_BYTES - 2;

  const values: Record<string, number> = {};
  const raw = new Map<string, number>();
  let firmware: string | null = null;
  let unknownChannels = 0;
  while (off < d.length) {
    if (off + 4 > d.length) throw new DecodeError("ERECORD", `${d.length - off} bytes left where a record id starts`);
    const id = d.readUInt32BE(off);
    if (id === 0) {
      // A zero id ends the records; channels after it would be lost silently.
      if (d.subarray(off).some((x) => x !== 0)) throw new DecodeError("ERECORD", "records follow a zero record id");
      break;
    }
    const len = recordLength(id);
    if (len === null) throw new DecodeError("ERECORD", `record id 0x${id.toString(16)} has no known length`);
    if (off + 4 + len > d.length) {
      throw new DecodeError("ERECORD", `record 0x${id.toString(16)} needs ${len} bytes, ${d.length - off - 4} left`);
    }
    const at = off + 4;
    off = at + len;
    if (id === OBIS_FIRMWARE_ID) {
      firmware = formatMeterFirmware(d.readUInt32BE(at));
      continue;
    }
    const ch = OBIS_BY_ID.get(id);
    if (!ch) {
      unknownChannels++;
      continue;
    }
    // 64-bit counters above 2^53 Ws (285 million MWh) lose precision; no meter gets there.
    const value = len === 8 ? Number(d.readBigUInt64BE(at)) : d.readUInt32BE(at);
    raw.set(ch.field, value);
    values[ch.field] = scaled(value, ch.divisor, ch.decimals);
  }

  // Signed power from the raw integers, so 10546 - 0 gives 1054.6 without float noise.
  const signed = (suffix: string): number | null => {
    const imp = raw.get("powerImport" + suffix);
    const exp = raw.get("powerExport" + suffix);
    // Both directions or none: a missing one is unknown, not 0 (import alone is no signed power).
    if (imp === undefined || exp === undefined) return null;
    return (imp - exp) / 10;
  };
  return {
    protocol,
    susyId,
    serial,
    tickerMs,
    firmware,
    values,
    unknownChannels,
    power: signed(""),
    powerL1: signed("L1"),
    powerL2: signed("L2"),
    powerL3: signed("L3"),
  };
}

export interface MeterEncodeInput {
  variant: MeterVariant;
  serial: number;
  /** Wrapped to u32 like the meter's own ticker. */
  tickerMs: number;
  /** Default: the variant's SUSyID. */
  susyId?: number;
  /** Default: the variant's firmware; null leaves the firmware record out (8 bytes shorter). */
  firmware?: string | null;
  /** Field names of obis.ts in their units; missing channels are sent as 0. */
  values: Record<string, number>;
  /** Default 0x6069; 0x6081 adds the 2 bytes `00 03` after the protocol id. */
  protocol?: MeterProtocol;
}

/** The channels a variant sends, in wire order. */
export function meterChannelsOf(variant: MeterVariant): readonly ObisChannel[] {
  const freq = METER_VARIANTS[variant].frequency;
  return OBIS_CHANNELS.filter((c) => freq || !c.optional);
}

function checkInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new DecodeError("EENCODE", `${name} ${v} is not in 0..${max}`);
  return v;
}

/**
 * Builds a datagram with the layout of the real device: every channel of the variant in wire order
 * (600 bytes for emeter10 / emeter20, 608 for shm20 with frequency). Throws DecodeError "EENCODE" for an
 * unknown field name, a negative, non-finite or too large value, or a malformed firmware string.
 * Known fields the variant does not send (frequency on a 600-byte meter) are left out.
 */
export function encodeMeterDatagram(m: MeterEncodeInput): Buffer {
  const info = METER_VARIANTS[m.variant];
  if (!info) throw new DecodeError("EENCODE", `unknown meter variant ${String(m.variant)}`);
  for (const key of Object.keys(m.values)) {
    if (!OBIS_BY_FIELD.has(key)) throw new DecodeError("EENCODE", `unknown meter field ${key}`);
  }
  const fwText = m.firmware === undefined ? info.firmware : m.firmware;
  const fw = fwText === null ? null : parseMeterFirmware(fwText);
  if (fwText !== null && fw === null) throw new DecodeError("EENCODE", `firmware "${fwText}" is not like 2.3.4.R`);
  const protocol = m.protocol ?? Protocol.METER;
  if (protocol !== Protocol.METER && protocol !== Protocol.METER_EXTENDED) {
    throw new DecodeError("EENCODE", `protocol ${hex(protocol)} is not a meter protocol`);
  }
  const channels = meterChannelsOf(m.variant);
  const extra = protocol === Protocol.METER_EXTENDED ? EXTENDED_EXTRA : 0;
  const size = HEADER_BYTES + extra + channels.reduce((n, c) => n + 4 + c.type, 0) + (fw === null ? 0 : 8);
  const net2 = Buffer.alloc(size);
  net2.writeUInt16BE(protocol, 0);
  if (extra > 0) net2.writeUInt16BE(EXTENDED_MARKER, 2);
  let off = 2 + extra;
  net2.writeUInt16BE(checkInt("susyId", m.susyId ?? info.susyId, 0xffff), off);
  net2.writeUInt32BE(checkInt("serial", m.serial, 0xffffffff), off + 2);
  const ticker = checkInt("tickerMs", Math.trunc(m.tickerMs) % 2 ** 32, 0xffffffff);
  net2.writeUInt32BE(ticker, off + 6);
  off += HEADER_BYTES - 2;
  for (const c of channels) {
    const v = m.values[c.field] ?? 0;
    const rawValue = Math.round(v * c.divisor);
    net2.writeUInt32BE(c.id, off);
    if (c.type === 8) net2.writeBigUInt64BE(BigInt(checkInt(c.field, rawValue, Number.MAX_SAFE_INTEGER)), off + 4);
    else net2.writeUInt32BE(checkInt(c.field, rawValue, 0xffffffff), off + 4);
    off += 4 + c.type;
  }
  if (fw !== null) {
    net2.writeUInt32BE(OBIS_FIRMWARE_ID, off);
    net2.writeUInt32BE(fw, off + 4);
  }
  return writeNet2Datagram(net2);
}
