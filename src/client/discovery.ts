/**
 * Finds SMA devices: the multicast discovery request, then an unauthenticated identify query to each
 * address that answered, for its serial and SUSyID. A device answering on two addresses counts once.
 */
import * as dgram from "node:dgram";
import * as os from "node:os";
import {
  MULTICAST_GROUP, SPEEDWIRE_PORT, buildDiscovery, buildIdentify, decodeAnswer, decodeDiscoveryAnswer,
  type Address,
} from "../protocol";
import { clientIdentity } from "./identity";

export interface DiscoveredDevice {
  address: string;
  serial?: number;
  susyId?: number;
}

export interface DiscoverOptions {
  timeoutMs?: number;
  /** Where to send the discovery request (default the SMA multicast group on every IPv4 interface). */
  targets?: { address: string; port: number; iface?: string }[];
  /** Port devices answer identify queries on. */
  devicePort?: number;
  identity?: Address;
}

export async function discover(opts: DiscoverOptions = {}): Promise<DiscoveredDevice[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const devicePort = opts.devicePort ?? SPEEDWIRE_PORT;
  const identity = opts.identity ?? clientIdentity();
  const socket = dgram.createSocket({ type: "udp4" });
  const found = new Map<string, DiscoveredDevice>();
  const identifyIds = new Map<number, string>();
  let packetId = 1;
  socket.on("error", () => undefined);
  socket.on("message", (msg, rinfo) => {
    try {
      const a = decodeAnswer(msg);
      const address = identifyIds.get(a.header.packetId);
      const d = address ? found.get(address) : undefined;
      if (d && a.header.errorCode === 0) Object.assign(d, { serial: a.header.source.serial, susyId: a.header.source.susyId });
      return;
    } catch {
      // not an inverter answer: maybe a discovery answer
    }
    try {
      decodeDiscoveryAnswer(msg);
    } catch {
      return;
    }
    // The address the datagram came from is the one we can reach; the one inside may be stale.
    if (found.has(rinfo.address)) return;
    found.set(rinfo.address, { address: rinfo.address });
    const id = packetId++;
    identifyIds.set(id, rinfo.address);
    socket.send(buildIdentify({ source: identity, packetId: id }), devicePort, rinfo.address, () => undefined);
  });
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  const request = buildDiscovery();
  const targets = opts.targets ?? multicastTargets();
  for (const t of targets) {
    if (t.iface) {
      try {
        socket.setMulticastInterface(t.iface);
      } catch {
        continue;
      }
    }
    await new Promise<void>((resolve) => socket.send(request, t.port, t.address, () => resolve()));
  }
  await new Promise((r) => setTimeout(r, timeoutMs));
  socket.close();
  const bySerial = new Map<string, DiscoveredDevice>();
  for (const d of found.values()) {
    const key = d.serial !== undefined ? `s${d.serial}` : `a${d.address}`;
    if (!bySerial.has(key)) bySerial.set(key, d);
  }
  return [...bySerial.values()];
}

function multicastTargets(): { address: string; port: number; iface?: string }[] {
  const out: { address: string; port: number; iface?: string }[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.family === "IPv4" && !i.internal) out.push({ address: MULTICAST_GROUP, port: SPEEDWIRE_PORT, iface: i.address });
    }
  }
  return out.length > 0 ? out : [{ address: MULTICAST_GROUP, port: SPEEDWIRE_PORT }];
}

/** The host's IPv4 interfaces, for the editor's interface pickers. */
export function ipv4Interfaces(): { name: string; address: string }[] {
  return Object.entries(os.networkInterfaces()).flatMap(([name, list]) =>
    (list ?? []).filter((i) => i.family === "IPv4").map((i) => ({ name, address: i.address })));
}
