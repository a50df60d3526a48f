/**
 * Answer pieces only a device sends (the simulator's), kept beside the other builders so that the simulator
 * never writes bytes itself. Not exported from index.ts: clients have no use for them.
 */
import * as dgram from "node:dgram";
import { DataType } from "../protocol/constants";
import type { Address } from "../protocol/net2";
import { ANY_SERIAL, ANY_SUSY_ID, Control, encodeInverterDatagram } from "../protocol";
import { buildDataAnswer, buildRecord, type DataAnswer, type SimValue } from "./answer-builders";
import { QUERIES, lriRange, sameFamily } from "../protocol/queries";
import { VALUES, type ValueDef } from "../protocol/values";

/** Value id of the record in an identify answer (libspeedwire calls it "Discovery"). */
export const IDENTIFY_LRI = 0x0003;
/** Record timestamp field of identify answers: both real ones hold 0x0000FF00, not a time. */
const IDENTIFY_TIMESTAMP = 0x0000ff00;

/** A 40-byte record of up to eight raw LE u32 words (records buildRecord has no table row for). */
export function buildWordsRecord(
  lri: number,
  cls: number,
  words: readonly number[],
  timestamp: number,
  dataType: number = DataType.UNSIGNED,
): Buffer {
  const r = Buffer.alloc(40);
  r.writeUInt8(cls & 0xff, 0);
  r.writeUInt16LE(lri & 0xffff, 1);
  r.writeUInt8(dataType & 0xff, 3);
  r.writeUInt32LE(timestamp >>> 0, 4);
  words.slice(0, 8).forEach((w, i) => r.writeUInt32LE(w >>> 0, 8 + 4 * i));
  return r;
}

/**
 * The record of an identify answer (lsw-identify-resp): 0, SUSyID << 16 | 1, serial, 0x000A0000, 12, 0, 0, 0x101.
 * Words 0 and 6 differ between devices (ny-identify-resp: 0x1FFFD5EC and 3); their meaning is unknown.
 */
export function buildIdentifyRecord(device: Address): Buffer {
  const words = [0, ((device.susyId & 0xffff) * 0x10000 + 1) >>> 0, device.serial, 0x000a0000, 12, 0, 0, 0x101];
  return buildWordsRecord(IDENTIFY_LRI, 0, words, IDENTIFY_TIMESTAMP);
}

/** Where two rows give one name (AC currents 0x4650.. and 0x4653..), the first row is the older generation. */
const OLDER = new Set<ValueDef>();
const NEWER = new Set<ValueDef>();
for (const d of VALUES) {
  const same = VALUES.filter((x) => x.name === d.name && !!x.indexed === !!d.indexed);
  if (same.length > 1) (d === same[0] ? OLDER : NEWER).add(d);
}

/**
 * The table rows a data request covers, by value id: the same command family and an id within first..last.
 * A device sends one generation of duplicated rows: the newer (STP x.0-3AV-40), or the older with `legacy`.
 */
export function rowsForRequest(command: number, first: number, last: number, legacy = false): ValueDef[] {
  const { from, to } = lriRange({ command, first, last, title: "" });
  return VALUES.filter(
    (d) =>
      sameFamily(QUERIES[d.query].command, command) && d.lri >= from && d.lri <= to && !(legacy ? NEWER : OLDER).has(d),
  ).sort((a, b) => a.lri - b.lri);
}

/** buildRecord packs up to 8 tags in one attribute-list record, as real devices do. */
const TAGS_PER_RECORD = 8;

/**
 * The records of one row and channel. Longer attribute lists continue in further records of the same id (real
 * devices do so: ny-typelabel-resp). A value buildRecord cannot encode goes out as "no value", never throws.
 */
export function buildRecords(def: ValueDef, cls: number, value: SimValue, timestamp: number): Buffer[] {
  if (def.type === "enum" && typeof value === "object" && value !== null && value.tags.length > TAGS_PER_RECORD) {
    const out: Buffer[] = [];
    for (let i = 0; i < value.tags.length; i += TAGS_PER_RECORD) {
      out.push(
        buildRecord(def, cls, { selected: value.selected, tags: value.tags.slice(i, i + TAGS_PER_RECORD) }, timestamp),
      );
    }
    return out;
  }
  const bad = typeof value === "number" && (!Number.isFinite(value) || (def.type !== "s32" && value < 0));
  try {
    return [buildRecord(def, cls, bad ? null : value, timestamp)];
  } catch {
    return [buildRecord(def, cls, null, timestamp)];
  }
}

/**
 * An answer as self-contained datagrams of at most `maxRecords` records of one size, each with its own first/last
 * record index, the fragment counter counting down to 0 on the last (a real status answer came in 5 datagrams), and
 * packet id bit 15 only on the first (§7: later datagrams may lack it).
 */
export function buildFragmentedAnswer(a: DataAnswer, maxRecords = Infinity): Buffer[] {
  const max = Math.max(1, Math.floor(maxRecords));
  const chunks: Buffer[][] = [];
  for (const r of a.records) {
    const cur = chunks[chunks.length - 1];
    if (cur && cur.length < max && cur[0].length === r.length) cur.push(r);
    else chunks.push([r]);
  }
  let index = a.firstIndex;
  return chunks.map((records, i) => {
    const d = buildDataAnswer({
      ...a,
      firstIndex: index,
      records,
      fragment: chunks.length - 1 - i,
      packetIdFlag: i === 0,
    });
    index += records.length;
    return d;
  });
}

/**
 * A simulated device's UDP socket, bound and listening: a bind error (EADDRINUSE and the like) frees the handle and
 * rejects, so the caller may retry on another port; later socket errors go to onError and never crash the process.
 */
export async function bindDeviceSocket(
  address: string,
  port: number,
  reuseAddr: boolean,
  onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo) => void,
  onError: (err: Error) => void,
): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: "udp4", reuseAddr });
  s.on("message", onMessage);
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind({ address, port }, () => {
      s.off("error", reject);
      resolve();
    });
  }).catch((e: unknown) => {
    s.close();
    throw e;
  });
  s.on("error", onError);
  return s;
}

/**
 * A request a device sends on its own to destination "any" (control byte 0xA0, both control words 0), as the live
 * plant's inverters sent the partner request and the device-time record (speedwire-protocol.md §9).
 */
export function buildRequestToAny(f: {
  source: Address;
  packetId: number;
  command: number;
  first: number;
  last: number;
  payload?: Buffer;
}): Buffer {
  return encodeInverterDatagram({
    control: Control.REQUEST,
    destination: { susyId: ANY_SUSY_ID, serial: ANY_SERIAL },
    destinationControl: 0,
    sourceControl: 0,
    ...f,
  });
}
