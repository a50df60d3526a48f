/** IPv4 endpoints written by users ("192.168.1.255", "10.0.0.7:9522"): parsed once for settings and the CLI. */
import { SPEEDWIRE_PORT } from "../protocol/constants";

/** Where discovery is sent: an address with an optional port ("192.168.1.255", "10.0.0.7:9522"). */
export interface DiscoveryTarget {
  address: string;
  port: number;
  iface?: string;
}

/**
 * Parses discovery targets from settings: "a.b.c.d" or "a.b.c.d:port", as a list or comma/space separated.
 * Anything else is left out (settings come from users' files: never throw on them).
 */
export function parseTargets(input: unknown): DiscoveryTarget[] {
  const items = Array.isArray(input) ? input : typeof input === "string" ? input.split(/[\s,]+/) : [];
  const out: DiscoveryTarget[] = [];
  for (const item of items) {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(String(item).trim());
    if (!m || m[1].split(".").some((o) => Number(o) > 255)) continue;
    const port = m[2] === undefined ? SPEEDWIRE_PORT : Number(m[2]);
    if (port >= 1 && port <= 65535) out.push({ address: m[1], port });
  }
  return out;
}
