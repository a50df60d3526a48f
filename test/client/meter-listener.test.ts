/**
 * MeterListener on 127.0.0.1 ephemeral ports, fed by SimulatedMeter and by the real captures.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { bytes, capturesOfKind, loadCaptures } from "../harness/fixtures";
import { MULTICAST_GROUP } from "../../src/protocol/constants";
import { decodeMeterDatagram, isMeterDatagram } from "../../src/protocol/meter";
import {
  MeterListener,
  MeterListenerError,
  type MeterEvent,
  type MeterListenerOptions,
} from "../../src/client/meter-listener";
import { SmaError } from "../../src/client/errors";
import { SimulatedMeter, type SimulatedMeterOptions } from "../../src/simulator/meter";

const LOCAL = "127.0.0.1";
const listeners: MeterListener[] = [];
const meters: SimulatedMeter[] = [];
const sockets: dgram.Socket[] = [];

after(async () => {
  await Promise.all(meters.map((m) => m.stop()));
  await Promise.all(listeners.map((l) => l.close()));
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((res) => {
          try {
            s.close(() => res());
          } catch {
            res(); // already closed by its test
          }
        }),
    ),
  );
});

/** A unicast listener on 127.0.0.1:<ephemeral>, bound. */
async function listen(opts: MeterListenerOptions = {}): Promise<{ l: MeterListener; port: number }> {
  const l = MeterListener.acquire({ port: 0, group: null, bindAddress: LOCAL, ...opts });
  listeners.push(l);
  const { port } = await l.ready();
  return { l, port };
}

function meter(port: number, opts: SimulatedMeterOptions = {}): SimulatedMeter {
  const m = new SimulatedMeter({ address: LOCAL, port, bindAddress: LOCAL, ...opts });
  meters.push(m);
  return m;
}

/** Collects `n` meter events, or fails after `ms`. */
function collect(l: MeterListener, n: number, ms = 10_000): Promise<MeterEvent[]> {
  return new Promise((res, rej) => {
    const got: MeterEvent[] = [];
    const timer = setTimeout(() => {
      l.off("meter", on);
      rej(new Error(`${got.length}/${n} meter events in ${ms} ms`));
    }, ms);
    const on = (e: MeterEvent): void => {
      got.push(e);
      if (got.length < n) return;
      clearTimeout(timer);
      l.off("meter", on);
      res(got);
    };
    l.on("meter", on);
  });
}

/** Waits until the listener has counted `n` datagrams (events or not). */
async function received(l: MeterListener, n: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (l.stats.received < n) {
    if (Date.now() > end) assert.fail(`received ${l.stats.received}/${n} datagrams in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const balanced = (l: MeterListener): void => {
  const s = l.stats;
  assert.equal(s.received, s.decoded + s.duplicates + s.ignored + s.malformed, JSON.stringify(s));
};

async function freePort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((res) => s.bind(0, LOCAL, () => res()));
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

describe("MeterListener", () => {
  it("delivers what each simulated variant sent, with sender and time", async () => {
    const { l, port } = await listen();
    for (const variant of ["emeter10", "emeter20", "shm20"] as const) {
      const sim = meter(port, { variant });
      const events = collect(l, 1);
      const frame = await sim.sendNow();
      const [e] = await events;
      assert.deepEqual(e.datagram, frame.datagram);
      assert.equal(e.datagram.values.powerImport, frame.datagram.values.powerImport);
      assert.equal(e.from.address, LOCAL);
      assert.ok(e.receivedAt instanceof Date);
    }
    assert.equal(l.stats.decoded, 3);
    balanced(l);
  });

  it("decodes every real meter capture and ignores the other real datagrams without events", async () => {
    const { l, port } = await listen();
    const sim = meter(port);
    const all = loadCaptures();
    const wanted = capturesOfKind("energy-meter").map(bytes).filter(isMeterDatagram);
    const events: MeterEvent[] = [];
    l.on("meter", (e: MeterEvent) => events.push(e));
    for (const c of all) await sim.sendRaw(bytes(c));
    await received(l, all.length);
    assert.equal(events.length, wanted.length);
    for (const [i, b] of wanted.entries()) assert.deepEqual(events[i].datagram, decodeMeterDatagram(b));
    assert.equal(l.stats.ignored, all.length - wanted.length, "inverter, discovery and 0x6073 datagrams");
    assert.equal(l.stats.malformed, 0);
    balanced(l);
  });

  it("tells two meters apart by serial", async () => {
    const { l, port } = await listen();
    const a = meter(port, { serial: 1900000011, variant: "emeter20", values: { powerImport: 111.1 } });
    const b = meter(port, { serial: 3000000022, variant: "shm20", values: { powerExport: 2222.2 } });
    const events = collect(l, 4);
    await a.sendNow();
    await b.sendNow();
    await a.sendNow();
    await b.sendNow();
    const bySerial = new Map<number, MeterEvent[]>();
    for (const e of await events) bySerial.set(e.datagram.serial, [...(bySerial.get(e.datagram.serial) ?? []), e]);
    assert.deepEqual([...bySerial.keys()].sort(), [1900000011, 3000000022]);
    for (const e of bySerial.get(1900000011) ?? []) assert.equal(e.datagram.power, 111.1);
    for (const e of bySerial.get(3000000022) ?? []) assert.equal(e.datagram.power, -2222.2);
  });

  it("drops duplicate frames but keeps a frame with the same ticker and other bytes", async () => {
    const { l, port } = await listen();
    let t = 1_700_000_000_000;
    const sim = meter(port, { duplicate: true, clock: () => t, values: { powerImport: 500 } });
    const events: MeterEvent[] = [];
    l.on("meter", (e: MeterEvent) => events.push(e));
    for (let i = 0; i < 3; i++) {
      await sim.sendNow();
      t += 1000;
    }
    await received(l, 6);
    assert.equal(events.length, 3);
    assert.equal(l.stats.duplicates, 3);
    const fixed = meter(port, { clock: () => 5, serial: 42 });
    const one = fixed.buildFrame().bytes;
    const other = Buffer.from(one);
    other[other.length - 13] ^= 1; // low byte of the last OBIS value (power factor L3)
    await fixed.sendRaw(one);
    await fixed.sendRaw(other);
    await received(l, 8);
    assert.equal(events.length, 5);
    balanced(l);
  });

  it("counts garbage, 0x6065 and 0x6073 datagrams without events", async () => {
    const { l, port } = await listen();
    const sim = meter(port, { garbage: true });
    const events: MeterEvent[] = [];
    l.on("meter", (e: MeterEvent) => events.push(e));
    for (let i = 0; i < 4; i++) await sim.sendNow();
    await sim.sendRaw(Buffer.from("not a meter"));
    await sim.sendRaw(Buffer.alloc(0));
    await received(l, 10);
    assert.equal(events.length, 4);
    assert.equal(l.stats.ignored, 5, "random bytes, 0x6065, 0x6073, text, empty");
    assert.equal(l.stats.malformed, 1, "a truncated meter frame");
    balanced(l);
  });

  it("survives a subscriber that throws, reports it, and still serves the other subscribers", async () => {
    const { l, port } = await listen();
    const errors: MeterListenerError[] = [];
    const boom = (): void => {
      throw new Error("subscriber bug");
    };
    l.on("error", (e: MeterListenerError) => errors.push(e));
    l.on("meter", boom);
    const other = collect(l, 1);
    const sim = meter(port);
    await sim.sendNow();
    assert.equal((await other).length, 1, "the subscriber after the throwing one got the frame");
    l.off("meter", boom);
    assert.ok(errors[0] instanceof SmaError);
    assert.equal(errors[0]?.code, "EHANDLER");
    assert.equal(errors[0]?.phase, "handler");
    const next = collect(l, 1);
    await sim.sendNow();
    assert.equal((await next).length, 1);
  });

  it("shares one socket per fixed port and closes it with the last release; port 0 is never shared", async () => {
    const port = await freePort();
    const opts = { port, group: null, bindAddress: LOCAL };
    const a = MeterListener.acquire(opts);
    const b = MeterListener.acquire(opts);
    listeners.push(a);
    assert.equal(a, b);
    await a.ready();
    await a.release();
    assert.ok(b.listening, "still open for the second subscriber");
    await b.release();
    assert.equal(b.listening, false);
    const c = MeterListener.acquire(opts);
    listeners.push(c);
    assert.notEqual(c, a, "a new socket after the last release");
    await c.ready();
    await c.release();
    const x = MeterListener.acquire({ port: 0, group: null, bindAddress: LOCAL });
    const y = MeterListener.acquire({ port: 0, group: null, bindAddress: LOCAL });
    listeners.push(x, y);
    assert.notEqual(x, y);
  });

  it("frees the port on close: a plain bind without reuseAddr succeeds", async () => {
    const { l, port } = await listen({ reuseAddr: false });
    await l.release();
    const s = dgram.createSocket("udp4");
    sockets.push(s);
    await new Promise<void>((res, rej) => {
      s.once("error", rej);
      s.bind(port, LOCAL, () => res());
    });
    assert.equal(s.address().port, port);
  });

  it("surfaces EADDRINUSE as a typed error event, not an exception", async () => {
    const s = dgram.createSocket("udp4");
    sockets.push(s);
    await new Promise<void>((res) => s.bind(0, LOCAL, () => res()));
    const port = s.address().port;
    const l = MeterListener.acquire({ port, group: null, bindAddress: LOCAL });
    listeners.push(l);
    const err = new Promise<MeterListenerError>((res) => l.once("error", res));
    await assert.rejects(
      l.ready(),
      (e: unknown) => e instanceof SmaError && e.code === "ESOCKET" && e.systemCode === "EADDRINUSE",
    );
    const e = await err;
    assert.equal(e.phase, "bind");
    const silent = MeterListener.acquire({ port, group: null, bindAddress: LOCAL }); // no error listener: no crash
    listeners.push(silent);
    await assert.rejects(silent.ready());
    assert.equal(silent.lastError?.systemCode, "EADDRINUSE");
  });

  it("surfaces a failed group join as an error event and keeps receiving unicast", async () => {
    const l = MeterListener.acquire({ port: 0, bindAddress: LOCAL, interfaceAddress: "203.0.113.77" });
    listeners.push(l);
    const err = new Promise<MeterListenerError>((res) => l.once("error", res));
    const { port } = await l.ready();
    const e = await err;
    assert.equal(e.phase, "join");
    assert.equal(e.interfaceAddress, "203.0.113.77");
    assert.equal(e.code, "ESOCKET");
    assert.match(e.systemCode ?? "", /^E[A-Z]+$/);
    const next = collect(l, 1);
    await meter(port).sendNow();
    assert.equal((await next).length, 1);
  });

  it("receives multicast on loopback when the kernel delivers it", async (t) => {
    if (!(await loopbackMulticastWorks())) {
      t.skip(
        `SKIPPED: this kernel does not deliver multicast to ${MULTICAST_GROUP} joined on ${LOCAL} (probe with plain sockets got nothing)`,
      );
      return;
    }
    const { l, port } = await listen({ group: MULTICAST_GROUP, bindAddress: "0.0.0.0", interfaceAddress: LOCAL });
    assert.deepEqual(l.joined, [LOCAL]);
    const sim = meter(port, { address: MULTICAST_GROUP, multicastInterface: LOCAL });
    const events = collect(l, 1);
    const frame = await sim.sendNow();
    assert.deepEqual((await events)[0].datagram, frame.datagram);
  });
});

/** Plain sockets: join the group on 127.0.0.1, send to it, see whether it comes back within 1 s. */
async function loopbackMulticastWorks(): Promise<boolean> {
  const r = dgram.createSocket({ type: "udp4", reuseAddr: true });
  const s = dgram.createSocket("udp4");
  sockets.push(r, s);
  await new Promise<void>((res) => r.bind(0, "0.0.0.0", () => res()));
  await new Promise<void>((res) => s.bind(0, LOCAL, () => res()));
  try {
    r.addMembership(MULTICAST_GROUP, LOCAL);
    s.setMulticastInterface(LOCAL);
  } catch {
    return false;
  }
  const got = new Promise<boolean>((res) => {
    r.once("message", () => res(true));
    setTimeout(() => res(false), 1000);
  });
  s.send("probe", r.address().port, MULTICAST_GROUP);
  return got;
}
