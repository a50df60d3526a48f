/**
 * sma-energy-meter: msg.sma.address (where a datagram came from) and the log warning when one serial comes from two
 * devices. Datagrams from sockets on 127.0.0.1 and 127.0.0.2 (both loopback) to the node's unicast port.
 */
import { afterEach, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { helper, load, nextMessage } from "../harness/red-helper";
import { encodeMeterDatagram } from "../../src/protocol";
import meterNode = require("../../nodes/sma-energy-meter/sma-energy-meter");

const sockets: dgram.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await helper.unload();
});

async function socketOn(address: string): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, address, r));
  return s;
}

async function freePort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function meterFlow(port: number) {
  return [
    {
      id: "m",
      type: "sma-energy-meter",
      group: "127.0.0.1",
      port: String(port),
      iface: "",
      serial: "",
      throttle: "0",
      onlyChanges: false,
      watchdog: "0",
      wires: [["out"]],
    },
    { id: "out", type: "helper" },
  ];
}

/** Sends one frame of this serial (a new ticker each time) from socket s and waits for the node's message. */
let ticker = 1000;
async function frameFrom(s: dgram.Socket, port: number, serial: number): Promise<Record<string, unknown>> {
  const got = nextMessage(helper.getNode("out"));
  const frame = encodeMeterDatagram({ variant: "shm20", serial, tickerMs: ticker++, values: { powerImport: 100 } });
  await new Promise<void>((r) => s.send(frame, port, "127.0.0.1", () => r()));
  return (await got).sma as Record<string, unknown>;
}

function warningsOf(): unknown[] {
  const warnings: unknown[] = [];
  (helper.getNode("m") as unknown as NodeJS.EventEmitter).on("call:warn", (call: { args: unknown[] }) =>
    warnings.push(call.args[0]),
  );
  return warnings;
}

it("msg.sma.address is the IPv4 address each datagram came from", async () => {
  const port = await freePort();
  await load([meterNode], meterFlow(port));
  const a = await socketOn("127.0.0.1");
  const b = await socketOn("127.0.0.2");
  const first = await frameFrom(a, port, 3000000101);
  assert.equal(first.address, "127.0.0.1");
  assert.equal(first.serial, 3000000101);
  const second = await frameFrom(b, port, 3000000102);
  assert.equal(second.address, "127.0.0.2");
  assert.deepEqual(Object.keys(second).sort(), ["address", "firmware", "serial", "susyId"]);
});

it("one serial back and forth between two addresses: one warning; a meter that moved once: none", async () => {
  const port = await freePort();
  await load([meterNode], meterFlow(port));
  const warnings = warningsOf();
  const a = await socketOn("127.0.0.1");
  const b = await socketOn("127.0.0.2");
  // Moved once (a new DHCP lease): first address, then only the second.
  for (const s of [a, a, b, b, b]) await frameFrom(s, port, 3000000201);
  // Two meters, each from its own address.
  for (const s of [a, b, a, b]) await frameFrom(s, port, s === a ? 3000000202 : 3000000203);
  assert.deepEqual(warnings, []);
  // Two devices with one serial: back at the first address, and on alternating.
  const seen: unknown[] = [];
  for (const s of [a, b, a, b, a]) seen.push((await frameFrom(s, port, 3000000204)).address);
  assert.deepEqual(seen, ["127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.2", "127.0.0.1"]);
  // The test helper has no message catalogue: texts are their keys.
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.match(String(warnings[0]), /log\.sharedSerial/);
  // The meter that moved, back at its first address: now it is two devices too (said once for it).
  await frameFrom(a, port, 3000000201);
  assert.equal(warnings.length, 2, JSON.stringify(warnings));
});
