/**
 * Addresses and ports that sent a Speedwire encryption key exchange (protocol 0x6075), heard on any socket of this
 * process: the client's own (answers to its login) and the meter listener's on the SMA multicast group. An inverter
 * session whose login got no answer asks here whether its device speaks encrypted Speedwire only. By address AND
 * port: another device behind the same address (port forwards of a router, a second program on the host) that speaks
 * encrypted Speedwire says nothing about this one, which may just be asleep.
 */
import { isKeyExchange } from "../protocol";

/** Addresses remembered (the one heard from longest ago is forgotten beyond this). */
export const MAX_KEY_EXCHANGE_SOURCES = 64;
/** Ports remembered per address: one host sending from many ports forgets only its own ports, not other addresses. */
export const MAX_KEY_EXCHANGE_PORTS = 8;

/** address -> port -> when, both in the order last heard. */
const heard = new Map<string, Map<number, number>>();

/** Notes a key exchange from `address`:`port` when buf is one; true if it was. Never throws. */
export function noteKeyExchange(buf: Buffer, address: string, port: number, at = Date.now()): boolean {
  if (!isKeyExchange(buf)) return false;
  const ports = heard.get(address) ?? new Map<number, number>();
  heard.delete(address);
  heard.set(address, ports);
  ports.delete(port);
  ports.set(port, at);
  if (ports.size > MAX_KEY_EXCHANGE_PORTS) ports.delete(ports.keys().next().value as number);
  if (heard.size > MAX_KEY_EXCHANGE_SOURCES) heard.delete(heard.keys().next().value as string);
  return true;
}

/** True when `address`:`port` sent a key exchange at or after `since` (ms since epoch). */
export function keyExchangeSince(address: string, port: number, since: number): boolean {
  return (heard.get(address)?.get(port) ?? -Infinity) >= since;
}
