/**
 * Datagrams from UDP source port 0 and from odd sources, of every kind the package parses, to every socket
 * it opens (the shared transport, a discovery search, the meter listener): nothing throws out of a socket
 * callback, nothing from port 0 is taken, and the sockets go on working. Sent for real from port 0 where the
 * OS allows it (raw socket), else injected into the socket's message handler with a fake rinfo (see diagnostics).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { SpeedwireClient, MeterListener, MAX_DISCOVERED, discover, SmaError, type MeterEvent } from "../../src/client";
import { SimulatedInverter } from "../../src/simulator";
import { canSendFromPortZero, hostileDatagrams, sendFromPortZero } from "../harness/hostile";
import { until } from "../harness/runtimes";

// The real module object (not an import wrapper): patching createSocket here is seen by the client's modules.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const realDgram = require("node:dgram") as typeof dgram;

const datagrams = hostileDatagrams();
const all = Object.values(datagrams);
const uncaught: unknown[] = [];
const onUncaught = (e: unknown): void => void uncaught.push(e);
const created: dgram.Socket[] = [];
const createSocket = realDgram.createSocket;
let raw = false;
const cleanup: (() => Promise<void> | void)[] = [];

before(async () => {
  raw = await canSendFromPortZero();
  process.on("uncaughtException", onUncaught);
  realDgram.createSocket = ((...args: Parameters<typeof createSocket>) => {
    const s = createSocket(...args);
    created.push(s);
    return s;
  }) as typeof createSocket;
});
after(async () => {
  realDgram.createSocket = createSocket;
  process.off("uncaughtException", onUncaught);
  for (const c of cleanup.reverse()) await c();
});

/** From 127.0.0.1:0 to the socket bound to `port`: for real when possible, else into its message handler. */
async function fromPortZero(port: number, list: Buffer[]): Promise<void> {
  if (raw) return sendFromPortZero("127.0.0.1", port, list);
  const s = created.find((x) => {
    try {
      return x.address().port === port;
    } catch {
      return false;
    }
  });
  assert.ok(s, `a socket of the package on port ${port}`);
  for (const d of list) s.emit("message", d, { address: "127.0.0.1", family: "IPv4", port: 0, size: d.length });
}

/** The same datagrams from an ordinary socket on another loopback address. */
async function fromElsewhere(port: number, list: Buffer[], address = "127.0.0.99"): Promise<void> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  for (const d of list) await new Promise<void>((r) => s.send(d, port, "127.0.0.1", () => r()));
  s.close();
}

describe("datagrams from port 0 and odd sources", () => {
  it("the shared transport drops them all and goes on reading", async (t) => {
    t.diagnostic(
      raw
        ? "sent from source port 0 through a raw socket"
        : "no raw sockets here: injected at the handler with rinfo.port 0",
    );
    const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false });
    await sim.start();
    const c = new SpeedwireClient();
    cleanup.push(
      () => c.close(),
      () => sim.stop(),
    );
    const inv = c.inverter({ host: "127.0.0.1", port: sim.port, password: "0000", timeoutMs: 500, retries: 1 });
    await inv.read(["acPowerTotal"]);
    const port = c.transport.port as number;
    const before = { ...c.transport.stats };
    await fromPortZero(port, all);
    await fromElsewhere(port, all);
    await until(
      "all received",
      () => (c.transport.stats.received >= before.received + 2 * all.length ? true : undefined),
      5000,
    );
    const s = c.transport.stats;
    assert.equal(
      s.rejected - before.rejected >= all.length,
      true,
      `every port-0 datagram rejected (${JSON.stringify(s)})`,
    );
    assert.equal(s.matched, before.matched, "none taken for an answer");
    assert.equal((await inv.read(["acPowerTotal"])).device.serial, sim.serial, "still reads");
    assert.deepEqual(uncaught, []);
  });

  it("a discovery search survives a discovery answer (and every other kind) from port 0 and still finds the device", async () => {
    const sim = new SimulatedInverter({ address: "127.0.0.81", port: 0, timeVarying: false, serial: 3000008101 });
    await sim.start();
    cleanup.push(() => sim.stop());
    // When the search's request arrives, the attacker answers it from port 0 (and from elsewhere) before the device.
    let attacked: Promise<void> | undefined;
    sim.on("request", (e: { kind: string; from: string }) => {
      if (e.kind !== "discovery" || attacked) return;
      const port = Number(e.from.split(":")[1]);
      attacked = fromPortZero(port, all).then(() => fromElsewhere(port, all));
    });
    // No devicePort: identify queries go to the port an answer came from, as on a real network.
    const found = await discover({ targets: [{ address: "127.0.0.81", port: sim.port }], timeoutMs: 1500 });
    await attacked;
    assert.ok(attacked, "the attack was sent");
    assert.deepEqual(uncaught, [], "nothing thrown out of the discovery socket's handler");
    assert.ok(
      found.every((d) => d.port > 0),
      `no device from port 0: ${JSON.stringify(found)}`,
    );
    assert.deepEqual(
      found.find((d) => d.address === "127.0.0.81"),
      { address: "127.0.0.81", port: sim.port, serial: 3000008101, susyId: sim.susyId },
    );
  });

  it("the meter listener ignores them and still hears a real meter", async () => {
    const l = new MeterListener({ port: 0, group: null, bindAddress: "127.0.0.1" });
    cleanup.push(() => l.close());
    const { port } = await l.ready();
    const events: MeterEvent[] = [];
    l.on("meter", (e: MeterEvent) => events.push(e));
    await fromPortZero(port, all);
    await until("port-0 datagrams counted", () => (l.stats.received >= all.length ? true : undefined), 5000);
    assert.equal(l.stats.ignored, all.length, JSON.stringify(l.stats));
    assert.equal(events.length, 0, "a meter datagram from port 0 is not passed on");
    await fromElsewhere(port, [datagrams.meterDatagram]);
    await until("a meter from an ordinary port", () => (events.length > 0 ? true : undefined), 5000);
    assert.equal(events[0].from.address, "127.0.0.99");
    assert.deepEqual(uncaught, []);
  });
});

describe("forged answers and floods", () => {
  it("answers of 'not logged in' to every query (a forger, or a device that drops each session): logins stay few", async () => {
    // sessionTimeoutS -1: every session has lapsed by the next query, so each query is answered 0xFFFF.
    const sim = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false, sessionTimeoutS: -1 });
    await sim.start();
    const c = new SpeedwireClient();
    cleanup.push(
      () => c.close(),
      () => sim.stop(),
    );
    const inv = c.inverter({ host: "127.0.0.1", port: sim.port, password: "0000", timeoutMs: 500, retries: 1 });
    const codes: string[] = [];
    let first: SmaError | undefined;
    for (let i = 0; i < 30; i++) {
      await inv.read(["acPowerTotal", "dcPower", "energy"]).then(
        () => codes.push("ok"),
        (e: SmaError) => {
          first ??= e;
          codes.push(e.code);
        },
      );
    }
    assert.ok(first?.noSession, "the first EAUTH says the device keeps no session (not 'wrong password')");
    assert.ok(
      sim.stats.logins <= 2,
      `${sim.stats.logins} logins (the password sent each time) for 30 reads: ${codes.join(" ")}`,
    );
    assert.ok(
      codes.every((c) => c === "EAUTH"),
      codes.join(" "),
    );
    assert.deepEqual(uncaught, []);
  });

  it("a search answered from 1,000 addresses: at most MAX_DISCOVERED devices kept and identify queries sent", async (t) => {
    const sim = new SimulatedInverter({ address: "127.0.0.82", port: 0, timeVarying: false, serial: 3000008201 });
    await sim.start();
    cleanup.push(() => sim.stop());
    const answer = datagrams.discoveryAnswer;
    let identifies = 0;
    // 1,000 fake devices on their own loopback addresses, bound before the search so that they all answer at once.
    const senders: dgram.Socket[] = [];
    cleanup.push(() => senders.forEach((s) => s.close()));
    for (let i = 0; i < 1000; i++) {
      const s = createSocket("udp4");
      senders.push(s);
      s.on("message", () => void identifies++);
      await new Promise<void>((r) => s.bind(0, `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, () => r()));
    }
    let attacked: Promise<unknown> | undefined;
    sim.on("request", (e: { kind: string; from: string }) => {
      if (e.kind !== "discovery" || attacked) return;
      const port = Number(e.from.split(":")[1]);
      // In batches, paced: so many at once would overflow the search socket's receive buffer, not the search.
      attacked = (async () => {
        for (let i = 0; i < senders.length; i += 50) {
          await Promise.all(
            senders.slice(i, i + 50).map((s) => new Promise<void>((r) => s.send(answer, port, "127.0.0.1", () => r()))),
          );
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
    });
    const found = await discover({ targets: [{ address: "127.0.0.82", port: sim.port }], timeoutMs: 4000 });
    await attacked;
    t.diagnostic(`${found.length} devices kept, ${identifies} identify queries to the fake addresses`);
    assert.ok(found.length <= MAX_DISCOVERED, `${found.length} devices kept`);
    assert.ok(identifies <= MAX_DISCOVERED, `${identifies} identify queries sent to the fake addresses`);
    assert.ok(
      found.some((d) => d.serial === 3000008201),
      "the real device (it answered first) is among them",
    );
    assert.deepEqual(uncaught, []);
  });

  it("a discovery answer from a multicast or broadcast address is not taken (no identify query goes there)", async () => {
    const sim = new SimulatedInverter({ address: "127.0.0.83", port: 0, timeVarying: false, serial: 3000008301 });
    await sim.start();
    cleanup.push(() => sim.stop());
    let injected = false;
    sim.on("request", (e: { kind: string; from: string }) => {
      if (e.kind !== "discovery" || injected) return;
      injected = true;
      const port = Number(e.from.split(":")[1]);
      const s = created.find((x) => {
        try {
          return x.address().port === port;
        } catch {
          return false;
        }
      });
      for (const address of ["239.12.255.254", "255.255.255.255", "0.0.0.0", "224.0.0.1"]) {
        s?.emit("message", datagrams.discoveryAnswer, {
          address,
          family: "IPv4",
          port: 9522,
          size: datagrams.discoveryAnswer.length,
        });
      }
    });
    const found = await discover({ targets: [{ address: "127.0.0.83", port: sim.port }], timeoutMs: 800 });
    assert.ok(injected);
    assert.deepEqual(
      found.map((d) => d.address),
      ["127.0.0.83"],
    );
  });
});
