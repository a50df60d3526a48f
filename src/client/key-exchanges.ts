/**
 * Addresses that sent a Speedwire encryption key exchange (protocol 0x6075), heard on any socket of this process:
 * the client's own (answers to its login) and the meter listener's on the SMA multicast group. An inverter session
 * whose login got no answer asks here whether its host speaks encrypted Speedwire only.
 */
import { isKeyExchange } from "../protocol";

/** Addresses remembered (the one heard from longest ago is forgotten beyond this). */
export const MAX_KEY_EXCHANGE_SOURCES = 64;

const heard = new Map<string, number>();

/** Notes a key exchange from `address` when buf is one; true if it was. Never throws. */
export function noteKeyExchange(buf: Buffer, address: string, at = Date.now()): boolean {
  if (!isKeyExchange(buf)) return false;
  heard.delete(address);
  heard.set(address, at);
  if (heard.size > MAX_KEY_EXCHANGE_SOURCES) heard.delete(heard.keys().next().value as string);
  return true;
}

/** True when `address` sent a key exchange at or after `since` (ms since epoch). */
export function keyExchangeSince(address: string, since: number): boolean {
  return (heard.get(address) ?? -Infinity) >= since;
}
