/**
 * The partner table of a simulated inverter and the request it sends to its partners, as a live Sunny Boy Storage
 * did (speedwire-protocol.md §9): every 30 s a 0x51800200 REQUEST to destination "any" goes to every (address, port)
 * that ever logged in, ports of client runs that ended long ago included; only a logoff makes the device forget one.
 */
import type { Address } from "../protocol";
import { buildRequestToAny } from "./sim-support";

/** Command, first and last of the request the storage inverter sent (captures.json plant-sbs-unsolicited-5180). */
export const PARTNER_REQUEST = { command: 0x51800200, first: 0x00214800, last: 0x00414aff } as const;

/** How many partners a simulated device remembers (the oldest is dropped); the real limit is unknown. */
export const MAX_PARTNERS = 64;

/** Control byte 0xA0, both control words 0, destination any, no payload (58 bytes), as the live plant sent it. */
export function buildPartnerRequest(f: { source: Address; packetId: number }): Buffer {
  return buildRequestToAny({ source: f.source, packetId: f.packetId, ...PARTNER_REQUEST });
}

export interface Partner {
  address: string;
  port: number;
}

/** (address, port) pairs in the order they (last) logged in; at most `max`, the oldest dropped. */
export class PartnerTable {
  private readonly entries = new Map<string, Partner>();

  constructor(private readonly max = MAX_PARTNERS) {}

  add(address: string, port: number): void {
    const key = `${address}:${port}`;
    // Re-inserted: a fresh login makes the partner the newest.
    this.entries.delete(key);
    this.entries.set(key, { address, port });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  remove(address: string, port: number): boolean {
    return this.entries.delete(`${address}:${port}`);
  }

  has(address: string, port: number): boolean {
    return this.entries.has(`${address}:${port}`);
  }

  list(): Partner[] {
    return [...this.entries.values()];
  }

  get size(): number {
    return this.entries.size;
  }
}
