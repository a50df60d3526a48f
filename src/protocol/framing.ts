/**
 * The SMA datagram envelope shared by inverters, meters and discovery:
 * "SMA\0", then tags (u16 BE data length, u16 BE tag number, data), ended by a zero-length tag 0.
 */
import { DecodeError } from "./errors";
import { SIGNATURE, Tag } from "./constants";

export interface SmaTag {
  tag: number;
  /** Offset of the tag's data in the datagram. */
  offset: number;
  data: Buffer;
}

export function hasSignature(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32BE(0) === SIGNATURE;
}

/** Walks the tag list. Throws DecodeError when the datagram is not an SMA datagram or a length lies. */
export function readTags(buf: Buffer): SmaTag[] {
  if (buf.length < 4) throw new DecodeError("ESHORT", `datagram of ${buf.length} bytes`);
  if (!hasSignature(buf)) throw new DecodeError("ESIGNATURE", "no SMA signature");
  const tags: SmaTag[] = [];
  let off = 4;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16BE(off);
    const tag = buf.readUInt16BE(off + 2);
    if (len === 0 && tag === Tag.END) return tags;
    const start = off + 4;
    if (start + len > buf.length) {
      throw new DecodeError("ELENGTH", `tag 0x${tag.toString(16)} claims ${len} bytes, ${buf.length - start} left`);
    }
    tags.push({ tag, offset: start, data: buf.subarray(start, start + len) });
    off = start + len;
  }
  return tags;
}

/** Finds the SMA Net 2 tag (protocol id + payload) of a datagram, or throws DecodeError. */
export function readNet2(buf: Buffer): { protocol: number; offset: number; data: Buffer } {
  const net2 = readTags(buf).find((t) => t.tag === Tag.NET2);
  if (!net2) throw new DecodeError("EPROTOCOL", "no SMA Net 2 tag");
  if (net2.data.length < 2) throw new DecodeError("ESHORT", "SMA Net 2 tag without protocol id");
  return { protocol: net2.data.readUInt16BE(0), offset: net2.offset, data: net2.data };
}

/** Builds "SMA\0" + group 1 + a Net 2 tag holding `net2` (protocol id first) + end tag. */
export function writeNet2Datagram(net2: Buffer, group = 1): Buffer {
  const out = Buffer.alloc(4 + 8 + 4 + net2.length + 4);
  out.writeUInt32BE(SIGNATURE, 0);
  out.writeUInt16BE(4, 4);
  out.writeUInt16BE(Tag.GROUP, 6);
  out.writeUInt32BE(group >>> 0, 8);
  out.writeUInt16BE(net2.length, 12);
  out.writeUInt16BE(Tag.NET2, 14);
  net2.copy(out, 16);
  // end tag: already zero
  return out;
}

/** Builds a datagram from a list of tags (used by discovery). */
export function writeTags(tags: { tag: number; data: Buffer }[]): Buffer {
  const size = 4 + tags.reduce((n, t) => n + 4 + t.data.length, 0) + 4;
  const out = Buffer.alloc(size);
  out.writeUInt32BE(SIGNATURE, 0);
  let off = 4;
  for (const t of tags) {
    out.writeUInt16BE(t.data.length, off);
    out.writeUInt16BE(t.tag, off + 2);
    t.data.copy(out, off + 4);
    off += 4 + t.data.length;
  }
  return out;
}
