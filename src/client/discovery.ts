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

/**
 * One search in three parts: bind a socket of its own, send the discovery request to every target, then collect
 * answers until timeoutMs has passed (or stopWhen matched), and settle: one device per serial unless byAddress.
 */
export async function discover(opts: DiscoverOptions = {}): Promise<DiscoveredDevice[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const identity = opts.identity ?? clientIdentity();
  const socket = dgram.createSocket({ type: "udp4" });
  const collector = new Collector(socket, identity, opts);
  socket.on(
    "message",
    guarded((msg: Buffer, rinfo: dgram.RemoteInfo) => collector.receive(msg, rinfo)),
  );
  try {
    await bind(socket);
    await sendRequests(socket, opts.targets);
    await collector.wait(timeoutMs);
  } finally {
    socket.close();
  }
  return opts.byAddress ? [...collector.found.values()] : oneBySerial(collector.found.values());
}

/** Binds to a free port; after bind, a socket error (e.g. a target the network refuses) must not end the search. */
function bind(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, () => {
      socket.off("error", reject);
      socket.on("error", () => undefined);
      resolve();
    });
  });
}

/** Send: the discovery request to each target in turn (default: the SMA multicast group on every interface). */
async function sendRequests(socket: dgram.Socket, configured: DiscoveryTarget[] | undefined): Promise<void> {
  // Targets may be a subnet's broadcast address (networks where multicast does not pass, e.g. Docker bridges).
  socket.setBroadcast(true);
  const request = buildDiscovery();
  const targets = configured ?? multicastTargets();
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
}

/**
 * Collect: each address that sends a discovery answer is found (at most MAX_DISCOVERED) and gets an identify
 * query; its answer fills in the serial and SUSyID.
 */
class Collector {
  /** By the address the discovery answer came from. */
  readonly found = new Map<string, DiscoveredDevice>();
  /** The packet id of each identify query sent, to the address it went to. */
  private readonly identifyIds = new Map<number, string>();
  private finished = false;
  private wake: () => void = () => undefined;

  constructor(
    private readonly socket: dgram.Socket,
    private readonly identity: Address,
    private readonly opts: DiscoverOptions,
  ) {}

  receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    // A source port 0 cannot be answered (send() would throw): no SMA device sends from there.
    if (!answerable(rinfo)) return;
    if (this.identifyAnswer(msg, rinfo)) return;
    try {
      decodeDiscoveryAnswer(msg);
    } catch {
      return;
    }
    this.discoveryAnswer(rinfo);
  }

  /** Waits until timeoutMs has passed or stopWhen matched a device. */
  async wait(timeoutMs: number): Promise<void> {
    if (this.finished) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** False when msg is not an inverter answer (maybe a discovery answer); an identify answer fills in its device. */
  private identifyAnswer(msg: Buffer, rinfo: dgram.RemoteInfo): boolean {
    try {
      const a = decodeAnswer(msg);
      const address = this.identifyIds.get(a.header.packetId);
      const d = address === rinfo.address ? this.found.get(address) : undefined;
      if (d && a.header.errorCode === 0) {
        Object.assign(d, { serial: a.header.source.serial, susyId: a.header.source.susyId });
        if (this.opts.stopWhen?.(d)) this.stop();
      }
      return true;
    } catch {
      return false;
    }
  }

  private discoveryAnswer(rinfo: dgram.RemoteInfo): void {
    // The address the datagram came from is the one we can reach; the one inside may be stale.
    if (this.found.has(rinfo.address) || this.found.size >= MAX_DISCOVERED || !unicast(rinfo.address)) return;
    this.found.set(rinfo.address, { address: rinfo.address, port: rinfo.port });
    const id = randomPacketId((n) => this.identifyIds.has(n));
    this.identifyIds.set(id, rinfo.address);
    this.socket.send(
      buildIdentify({ source: this.identity, packetId: id }),
      this.opts.devicePort ?? rinfo.port,
      rinfo.address,
      () => undefined,
    );
  }

  private stop(): void {
    this.finished = true;
    this.wake();
  }
}

/** Settle: a device answering on several addresses once (the first address; unidentified ones by address). */
function oneBySerial(devices: Iterable<DiscoveredDevice>): DiscoveredDevice[] {
  const bySerial = new Map<string, DiscoveredDevice>();
  for (const d of devices) {
    const key = d.serial !== undefined ? `s${d.serial}` : `a${d.address}`;
    if (!bySerial.has(key)) bySerial.set(key, d);
  }
  return [...bySerial.values()];
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
