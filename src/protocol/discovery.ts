/** Discovery: the multicast request and the answers devices send (a tag list holding their IP address). */
import { readTags, writeTags } from "./framing";
import { Tag } from "./constants";
import { DecodeError } from "./errors";

export interface DiscoveryAnswer {
  /** IPv4 address the device reports for itself. */
  address: string;
}

/** True for the 20-byte discovery request (group 0xFFFFFFFF, empty tag 0x0020). */
export function isDiscoveryRequest(buf: Buffer): boolean {
  try {
    const tags = readTags(buf);
    const group = tags.find((t) => t.tag === Tag.GROUP);
    return (
      !!group &&
      group.data.length === 4 &&
      group.data.readUInt32BE(0) === 0xffffffff &&
      tags.some((t) => t.tag === Tag.DISCOVERY && t.data.length === 0)
    );
  } catch {
    return false;
  }
}

/** Reads a discovery answer. Throws DecodeError when the datagram is not one. */
export function decodeDiscoveryAnswer(buf: Buffer): DiscoveryAnswer {
  const tags = readTags(buf);
  const ip = tags.find((t) => t.tag === Tag.IP_ADDRESS && t.data.length === 4);
  if (!ip || !tags.some((t) => t.tag === Tag.DISCOVERY)) throw new DecodeError("EPROTOCOL", "not a discovery answer");
  return { address: [...ip.data].join(".") };
}

/** A discovery answer like the ones real devices send (the simulator's). */
export function buildDiscoveryAnswer(address: string): Buffer {
  const ip = Buffer.from(address.split(".").map((p) => Number(p) & 0xff));
  const parts: [number, Buffer][] = [
    [Tag.GROUP, Buffer.from("00000001", "hex")],
    [0x0000, Buffer.from("0001", "hex")],
    [Tag.NET2, Buffer.from("00010003", "hex")],
    [Tag.DISCOVERY, Buffer.from("00000001", "hex")],
    [Tag.IP_ADDRESS, ip],
    [0x0040, Buffer.from("00000000", "hex")],
    [0x0070, Buffer.from("ef0c", "hex")],
  ];
  return writeTags(parts.map(([tag, data]) => ({ tag, data })));
}
