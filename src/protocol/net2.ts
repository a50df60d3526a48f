/**
 * The inverter-data header (protocol 0x6065) inside the Net 2 tag, and its encoder.
 * Offsets are from the start of the datagram; multi-byte fields are little endian.
 */
import { DecodeError } from "./errors";
import { PACKET_ID_FLAG, Protocol } from "./constants";
import { readNet2, writeNet2Datagram } from "./framing";

/** Offset of the protocol id; the inverter header follows it. */
export const NET2_OFFSET = 16;
/** Offset of the first record (or of the login fields) in the datagram. */
export const PAYLOAD_OFFSET = 54;
/** Bytes of the 0x6065 header counted from the protocol id to the payload. */
const HEADER_BYTES = PAYLOAD_OFFSET - NET2_OFFSET;
/** Protocol id to command (inclusive): what every inverter datagram has before first/last. */
const FIXED_BYTES = 30;
/** A logoff request ends after `first`. */
const MIN_BYTES = FIXED_BYTES + 4;

export interface Address {
  susyId: number;
  serial: number;
}

export interface Net2Header {
  /** Length in 4-byte words of the block after the protocol id (offset 18). */
  longWords: number;
  control: number;
  destination: Address;
  destinationControl: number;
  source: Address;
  sourceControl: number;
  /** Error / status code: 0 ok, see ErrorCode. */
  errorCode: number;
  /** Counts down to 0 over the datagrams of one answer. */
  fragment: number;
  /** The packet id with its high bit removed. */
  packetId: number;
  /** True when the high bit 0x8000 of the packet id is set. */
  packetIdFlag: boolean;
  command: number;
  /** Requests: first/last value id. Answers: first/last record index. Login: user group / timeout. */
  first: number;
  last: number;
}

export interface InverterDatagram {
  header: Net2Header;
  /** Bytes after the header up to the end of the Net 2 tag (records or login fields). */
  payload: Buffer;
}

/** Splits an inverter datagram (protocol 0x6065) into header and payload. Throws DecodeError. */
export function decodeInverterDatagram(buf: Buffer): InverterDatagram {
  const net2 = readNet2(buf);
  if (net2.protocol !== Protocol.INVERTER) {
    throw new DecodeError("EPROTOCOL", `protocol 0x${net2.protocol.toString(16)} is not inverter data`);
  }
  if (net2.offset !== NET2_OFFSET) throw new DecodeError("ELENGTH", "Net 2 tag at an unexpected offset");
  if (net2.data.length < MIN_BYTES) {
    throw new DecodeError("ESHORT", `inverter header needs ${MIN_BYTES} bytes, has ${net2.data.length}`);
  }
  const hasLast = net2.data.length >= HEADER_BYTES;
  const b = buf;
  const rawId = b.readUInt16LE(40);
  const header: Net2Header = {
    longWords: b.readUInt8(18),
    control: b.readUInt8(19),
    destination: { susyId: b.readUInt16LE(20), serial: b.readUInt32LE(22) },
    destinationControl: b.readUInt16LE(26),
    source: { susyId: b.readUInt16LE(28), serial: b.readUInt32LE(30) },
    sourceControl: b.readUInt16LE(34),
    errorCode: b.readUInt16LE(36),
    fragment: b.readUInt16LE(38),
    packetId: rawId & ~PACKET_ID_FLAG & 0xffff,
    packetIdFlag: (rawId & PACKET_ID_FLAG) !== 0,
    command: b.readUInt32LE(42),
    first: b.readUInt32LE(46),
    last: hasLast ? b.readUInt32LE(50) : 0,
  };
  return { header, payload: hasLast ? net2.data.subarray(HEADER_BYTES) : Buffer.alloc(0) };
}

export interface Net2Fields {
  control: number;
  destination: Address;
  destinationControl: number;
  source: Address;
  sourceControl: number;
  errorCode?: number;
  fragment?: number;
  packetId: number;
  /** Default true: requests and final answers carry the 0x8000 bit. */
  packetIdFlag?: boolean;
  command: number;
  first: number;
  last?: number;
  payload?: Buffer;
  /** Logoff requests end after `first`. */
  omitLast?: boolean;
}

/** Builds a whole 0x6065 datagram. */
export function encodeInverterDatagram(f: Net2Fields): Buffer {
  const payload = f.payload ?? Buffer.alloc(0);
  const tail = f.omitLast ? 4 : 8;
  const net2 = Buffer.alloc(FIXED_BYTES + tail + payload.length);
  net2.writeUInt16BE(Protocol.INVERTER, 0);
  net2.writeUInt8(((net2.length - 2) / 4) & 0xff, 2);
  net2.writeUInt8(f.control & 0xff, 3);
  net2.writeUInt16LE(f.destination.susyId & 0xffff, 4);
  net2.writeUInt32LE(f.destination.serial >>> 0, 6);
  net2.writeUInt16LE(f.destinationControl & 0xffff, 10);
  net2.writeUInt16LE(f.source.susyId & 0xffff, 12);
  net2.writeUInt32LE(f.source.serial >>> 0, 14);
  net2.writeUInt16LE(f.sourceControl & 0xffff, 18);
  net2.writeUInt16LE((f.errorCode ?? 0) & 0xffff, 20);
  net2.writeUInt16LE((f.fragment ?? 0) & 0xffff, 22);
  const flag = f.packetIdFlag === false ? 0 : PACKET_ID_FLAG;
  net2.writeUInt16LE((f.packetId & ~PACKET_ID_FLAG & 0xffff) | flag, 24);
  net2.writeUInt32LE(f.command >>> 0, 26);
  net2.writeUInt32LE(f.first >>> 0, 30);
  if (!f.omitLast) net2.writeUInt32LE((f.last ?? 0) >>> 0, 34);
  payload.copy(net2, 30 + tail);
  return writeNet2Datagram(net2);
}
