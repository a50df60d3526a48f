/**
 * Speedwire encryption (SEC): a plant with it switched on answers discovery but not a plain login, and exchanges
 * keys with datagrams of protocol id 0x6075. Nothing public decrypts it and no public capture of one exists: the
 * layout here is the protocol notes' description (after the protocol id a packet type, 1 = request keys,
 * 2 = response keys, then source SUSyID u16 + serial u32, destination SUSyID + serial). Only the protocol id is
 * relied on (to say "encryption is on"); the fields are read where present, their widths and byte order unconfirmed.
 */
import { Protocol } from "./constants";
import { DecodeError } from "./errors";
import { readNet2 } from "./framing";
import type { Address } from "./net2";

export const KeyExchangeType = {
  REQUEST_KEYS: 1,
  RESPONSE_KEYS: 2,
} as const;

export interface KeyExchange {
  /** 1 request keys, 2 response keys, others as sent. */
  type: number;
  /** Present when the datagram is long enough. */
  source?: Address;
  destination?: Address;
}

/** Bytes after the protocol id: type u16 BE, source SUSyID u16 LE + serial u32 LE, destination the same. */
const TYPE_BYTES = 2;
const ADDRESS_BYTES = 6;

/** True when buf is an SMA datagram whose Net 2 tag carries protocol 0x6075 (never throws). */
export function isKeyExchange(buf: Buffer): boolean {
  try {
    return readNet2(buf).protocol === Protocol.KEY_EXCHANGE;
  } catch {
    return false;
  }
}

/** Decodes a 0x6075 datagram. Throws DecodeError (EPROTOCOL for another protocol id, ESHORT without a type). */
export function decodeKeyExchange(buf: Buffer): KeyExchange {
  const net2 = readNet2(buf);
  if (net2.protocol !== Protocol.KEY_EXCHANGE) {
    throw new DecodeError("EPROTOCOL", `protocol 0x${net2.protocol.toString(16)} is not a key exchange`);
  }
  const d = net2.data;
  if (d.length < 2 + TYPE_BYTES) throw new DecodeError("ESHORT", "key exchange without a packet type");
  const out: KeyExchange = { type: d.readUInt16BE(2) };
  const address = (off: number): Address | undefined =>
    d.length >= off + ADDRESS_BYTES ? { susyId: d.readUInt16LE(off), serial: d.readUInt32LE(off + 2) } : undefined;
  const source = address(2 + TYPE_BYTES);
  const destination = address(2 + TYPE_BYTES + ADDRESS_BYTES);
  if (source) out.source = source;
  if (destination) out.destination = destination;
  return out;
}
