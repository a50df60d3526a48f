/**
 * Finds SMA devices: the multicast discovery request, then an unauthenticated identify query to each
 * address that answered, for its serial and SUSyID. A device answering on two addresses counts once.
 */
import * as dgram from "node:dgram";
import * as net from "node:net";
import {
  MULTICAST_GROUP,
  SPEEDWIRE_PORT,
  buildDiscovery,
  buildIdentify,
  decodeAnswer,
  decodeDiscoveryAnswer,
  type Address,
} from "../protocol";
import { clientIdentity } from "./identity";
import { ipv4Interfaces } from "./interfaces";
import { parseTargets, type DiscoveryTarget } from "./endpoints";

export { parseTargets, type DiscoveryTarget };
import { randomPacketId } from "./transport";
import { answerable, guarded } from "./guard";

/** Most addresses one search keeps (and sends an identify query to): a LAN has a few dozen SMA devices, a flood more. */
export const MAX_DISCOVERED = 256;

export interface DiscoveredDevice {
  address: string;
  /** The port the device answered from (9522 on real devices). */
  port: number;
  serial?: number;
  susyId?: number;
}

export interface DiscoverOptions {
  timeoutMs?: number;
  /** Where to send the discovery request (default the SMA multicast group on every IPv4 interface). */
  targets?: DiscoveryTarget[];
  /** Port to send identify queries to (default: the port the discovery answer came from, 9522 on real devices). */
  devicePort?: number;
  identity?: Address;
  /** Every answering address, also when several share a serial (to see that a serial is claimed twice). */
  byAddress?: boolean;
  /** Stop waiting as soon as a device for which this returns true has been identified. */
  stopWhen?: (device: DiscoveredDevice) => boolean;
}

export async function discover(opts: DiscoverOptions = {}): Promise<DiscoveredDevice[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const identity = opts.identity ?? clientIdentity();
  const socket = dgram.createSocket({ type: "udp4" });
  const found = new Map<string, DiscoveredDevice>();
  const identifyIds = new Map<number, string>();
  let finished = false;
  let wake: () => void = () => undefined;
  const stop = (): void => {
    finished = true;
    wake();
  };
  // After bind, a socket error (e.g. a target the network refuses) must not end the search or the process.
  const ignore = (): void => undefined;
  socket.on(
    "message",
    guarded((msg: Buffer, rinfo: dgram.RemoteInfo) => {
      // A source port 0 cannot be answered (send() would throw): no SMA device sends from there.
      if (!answerable(rinfo)) return;
      try {
        const a = decodeAnswer(msg);
        const address = identifyIds.get(a.header.packetId);
        const d = address === rinfo.address ? found.get(address) : undefined;
        if (d && a.header.errorCode === 0) {
          Object.assign(d, { serial: a.header.source.serial, susyId: a.header.source.susyId });
          if (opts.stopWhen?.(d)) stop();
        }
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
      if (found.has(rinfo.address) || found.size >= MAX_DISCOVERED || !unicast(rinfo.address)) return;
      found.set(rinfo.address, { address: rinfo.address, port: rinfo.port });
      const id = randomPacketId((n) => identifyIds.has(n));
      identifyIds.set(id, rinfo.address);
      socket.send(
        buildIdentify({ source: identity, packetId: id }),
        opts.devicePort ?? rinfo.port,
        rinfo.address,
        () => undefined,
      );
    }),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, () => {
        socket.off("error", reject);
        socket.on("error", ignore);
        resolve();
      });
    });
    await search();
  } finally {
    socket.close();
  }
  if (opts.byAddress) return [...found.values()];
  const bySerial = new Map<string, DiscoveredDevice>();
  for (const d of found.values()) {
    const key = d.serial !== undefined ? `s${d.serial}` : `a${d.address}`;
    if (!bySerial.has(key)) bySerial.set(key, d);
  }
  return [...bySerial.values()];

  async function search(): Promise<void> {
    // Targets may be a subnet's broadcast address (networks where multicast does not pass, e.g. Docker bridges).
    socket.setBroadcast(true);
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
    if (!finished) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

/** A device's own address: not "this network" (0/8), multicast (224/4), reserved or broadcast (240/4 up). */
function unicast(address: string): boolean {
  const first = Number(address.split(".")[0]);
  return net.isIPv4(address) && first > 0 && first < 224;
}

function multicastTargets(): DiscoveryTarget[] {
  const out = ipv4Interfaces({ external: true }).map((i) => ({
    address: MULTICAST_GROUP,
    port: SPEEDWIRE_PORT,
    iface: i.address,
  }));
  return out.length > 0 ? out : [{ address: MULTICAST_GROUP, port: SPEEDWIRE_PORT }];
}
