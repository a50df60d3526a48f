/**
 * What an attacker on the LAN sends: one real datagram of every kind the package parses (from the captures)
 * plus garbage, and a way to send them from UDP source port 0, which no socket can bind to: a raw socket
 * (python3, root or CAP_NET_RAW) on loopback. Where the OS does not allow that, tests inject at the handler.
 */
import { execFile } from "node:child_process";
import * as dgram from "node:dgram";
import { bytes, capturesOfKind } from "./fixtures";

const byId = (kind: Parameters<typeof capturesOfKind>[0], id: string): Buffer => {
  const c = capturesOfKind(kind).find((x) => x.id === id);
  if (!c) throw new Error(`capture ${id} missing`);
  return bytes(c);
};

/** One datagram per kind: discovery answer, identify answer, login answer, data answer, meter datagram, garbage. */
export function hostileDatagrams(): Record<string, Buffer> {
  const garbage = Buffer.alloc(64);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 37 + 11) & 0xff;
  return {
    discoveryAnswer: byId("discovery-response", "lsw-discovery-resp-sbs25"),
    identifyAnswer: byId("discovery-response", "lsw-identify-resp"),
    loginAnswer: byId("inverter-response", "lsw-login-ok"),
    dataAnswer: byId("inverter-response", "lsw-acpower-resp"),
    meterDatagram: byId("energy-meter", "em-emeter20-2018-a"),
    garbage,
    empty: Buffer.alloc(0),
  };
}

// Builds the UDP header itself (source port 0, checksum 0 = none, valid for IPv4); the kernel adds the IP header.
const RAW_SENDER = `
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
for arg in sys.argv[1:]:
    addr, port, data = arg.split(":")
    payload = bytes.fromhex(data)
    s.sendto(struct.pack("!HHHH", 0, int(port), 8 + len(payload), 0) + payload, (addr, 0))
`;

/** Sends each datagram from 127.0.0.1:0 (source port 0) to address:port; rejects when raw sockets are not allowed. */
export function sendFromPortZero(address: string, port: number, datagrams: Buffer[]): Promise<void> {
  if (!address.startsWith("127.")) return Promise.reject(new Error("loopback only"));
  const args = datagrams.map((d) => `${address}:${port}:${d.toString("hex")}`);
  return new Promise((resolve, reject) => {
    execFile("python3", ["-c", RAW_SENDER, ...args], { timeout: 10_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`raw send failed: ${stderr || err.message}`)) : resolve(),
    );
  });
}

let probed: Promise<boolean> | undefined;
/** True when this machine lets the tests send from source port 0 (checked once by sending one to ourselves). */
export function canSendFromPortZero(): Promise<boolean> {
  probed ??= (async () => {
    const s = dgram.createSocket("udp4");
    try {
      await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
      const got = new Promise<boolean>((r) => {
        s.once("message", (_m, rinfo) => r(rinfo.port === 0));
        setTimeout(() => r(false), 2000);
      });
      await sendFromPortZero("127.0.0.1", s.address().port, [Buffer.from("probe")]);
      return await got;
    } catch {
      return false;
    } finally {
      s.close();
    }
  })();
  return probed;
}
