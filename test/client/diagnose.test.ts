/**
 * Diagnose against the simulator playing each fault: every verdict, the serial check that keeps the password from
 * another device, value groups (0x0015 / 0x0014), link figures, no guessed clock, and the energy meters heard here.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import {
  DIAGNOSE_CODES,
  DIAGNOSE_TEXT_EN,
  MeterListener,
  diagnose,
  stepText,
  type Diagnosis,
  type DiagnoseOptions,
} from "../../src/client";
import { SimulatedInverter, SimulatedMeter } from "../../src/simulator";
import { Command, QUERY_NAMES, decodeInverterDatagram, writeNet2Datagram } from "../../src/protocol";

/** A loopback relay to the simulator that drops every login: a device that answers identify but never the login. */
async function dropLogins(target: number): Promise<number> {
  const front = dgram.createSocket("udp4");
  const backs = new Map<string, dgram.Socket>();
  cleanup.push(async () => {
    for (const b of backs.values()) await new Promise<void>((r) => b.close(() => r()));
    await new Promise<void>((r) => front.close(() => r()));
  });
  front.on("message", (msg, rinfo) => {
    let command: number | undefined;
    try {
      command = decodeInverterDatagram(msg).header.command;
    } catch {
      // not Speedwire: passed on
    }
    if (command === Command.LOGIN) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    let back = backs.get(key);
    if (!back) {
      back = dgram.createSocket("udp4");
      back.on("message", (answer) => front.send(answer, rinfo.port, rinfo.address));
      back.bind(0, "127.0.0.1");
      backs.set(key, back);
    }
    back.send(msg, target, "127.0.0.1");
  });
  await new Promise<void>((r) => front.bind(0, "127.0.0.1", () => r()));
  return front.address().port;
}

const cleanup: (() => Promise<unknown> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

/** Short waits where the device is silent; where it answers, ANSWERS (a busy machine must not turn answers into loss). */
const FAST = { timeoutMs: 300, retries: 1, linkProbes: 3, bindAddress: "127.0.0.1" } as const;
const ANSWERS = { timeoutMs: 2000 } as const;

async function sim(o: ConstructorParameters<typeof SimulatedInverter>[0] = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false, serial: 3000000111, ...o });
  cleanup.push(() => s.stop());
  await s.start();
  return s;
}

function run(s: { port: number }, o: Partial<DiagnoseOptions> = {}): Promise<Diagnosis> {
  return diagnose({ host: "127.0.0.1", port: s.port, password: "0000", ...FAST, ...o });
}

const codes = (d: Diagnosis): string[] => d.steps.map((s) => s.code);
const step = (d: Diagnosis, code: string): Diagnosis["steps"][number] => {
  const s = d.steps.find((x) => x.code === code);
  assert.ok(s, `no step ${code} in ${codes(d).join(", ")}`);
  return s;
};

describe("diagnose", () => {
  it("ok: identifies, logs in, reads every value group once, times the link, and does not guess the clock", async () => {
    const s = await sim({ unsupported: ["batterySoc"], unknown: ["batteryInfo"] });
    const d = await run(s, { serial: 3000000111, ...ANSWERS });
    assert.equal(d.verdict, "ok");
    assert.deepEqual(step(d, "identify.ok").data.serial, 3000000111);
    step(d, "serial.match");
    step(d, "login.ok");
    assert.match(String(step(d, "values.none").data.groups), /battery charge status/);
    assert.match(String(step(d, "values.unknown").data.groups), /battery temperature/);
    assert.ok(Number(step(d, "values.has").data.count) > 5);
    const link = step(d, "link.ok");
    assert.equal(link.data.sent, 3);
    assert.equal(link.data.lost, 0);
    assert.equal(typeof link.data.rttMs, "number");
    // No time record arrived: null, never a guess.
    step(d, "clock.none");
    assert.equal(d.clockDriftS, null);
    const device = step(d, "device.ok").data;
    assert.equal(device.serial, 3000000111);
    assert.match(String(device.type), /^[\w .()/-]+$/, "the type by its name (or tag number), not an object");
    assert.match(String(device.firmware), /^\d+\.\d+\.\d+\.\w$/);
    for (const x of d.steps) assert.doesNotMatch(stepText(x), /__[a-zA-Z]+__/, x.code);
  });

  it("wrong-password: 0x0100 with the RID hint", async () => {
    const s = await sim();
    const d = await run(s, { password: "wrong", ...ANSWERS });
    assert.equal(d.verdict, "wrong-password");
    assert.equal(step(d, "login.wrong-password").data.code, "0x0100");
    assert.match(stepText(step(d, "login.wrong-password")), /RID/);
  });

  it("login-refused: 0x0102 (busy) for the whole check", async () => {
    const s = await sim({ refuseLoginsMs: 60_000 });
    const d = await run(s);
    assert.equal(d.verdict, "login-refused");
    assert.equal(step(d, "login.refused").data.code, "0x0102");
  });

  it("other-serial: another device at the host gets no login (no password sent)", async () => {
    const s = await sim();
    let logins = 0;
    s.on("request", (r: { kind: string }) => void (r.kind === "login" && logins++));
    const d = await run(s, { serial: 3000000999, ...ANSWERS });
    assert.equal(d.verdict, "other-serial");
    assert.deepEqual(step(d, "serial.other").data, {
      expected: 3000000999,
      found: 3000000111,
      susyId: s.options.susyId ?? step(d, "identify.ok").data.susyId,
    });
    assert.equal(logins, 0);
    assert.ok(!codes(d).some((c) => c.startsWith("login.")));
  });

  it("encrypted: a key exchange (0x6075) instead of answers", async () => {
    const s = await sim({ encrypted: true });
    const d = await run(s);
    assert.equal(d.verdict, "encrypted");
    step(d, "identify.encrypted");
    step(d, "login.encrypted");
  });

  it("no-answer: a sleeping device (and an unresolvable name)", async () => {
    const s = await sim({ sleeping: true });
    const d = await run(s);
    assert.equal(d.verdict, "no-answer");
    step(d, "identify.none");
    step(d, "login.no-answer");
    const n = await diagnose({ host: "no-such-host.invalid", password: "0000", ...FAST });
    assert.equal(n.verdict, "no-answer");
    step(n, "identify.unresolved");
  });

  it("not-speedwire: answers that are garbage or SMA datagrams of another protocol (0x6081 only)", async () => {
    const sock = dgram.createSocket("udp4");
    cleanup.push(() => new Promise<void>((r) => sock.close(() => r())));
    let n = 0;
    sock.on("message", (_m, rinfo) => {
      const reply =
        n++ % 2 === 0
          ? Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n")
          : writeNet2Datagram(Buffer.from([0x60, 0x81, 0x00, 0x03, 0x01, 0x74, 0xb2, 0xd0, 0x5e, 0x00, 0, 0, 0, 1]));
      sock.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const d = await run({ port: sock.address().port });
    assert.equal(d.verdict, "not-speedwire");
    assert.match(String(step(d, "identify.garbage").data.protocols), /0x6081/);
    step(d, "login.not-speedwire");
  });

  it("energy meters: which meters this host heard (unicast), and a Home Manager that answers the search but sends here nothing", async () => {
    const listener = new MeterListener({ group: null, port: 0, bindAddress: "127.0.0.1" });
    cleanup.push(() => listener.close());
    const at = await listener.ready();
    const meter = new SimulatedMeter({
      variant: "emeter20",
      serial: 1900000777,
      address: "127.0.0.1",
      port: at.port,
      intervalMs: 100,
    });
    cleanup.push(() => meter.stop());
    await meter.start();
    await new Promise<void>((resolve) => listener.once("meter", () => resolve()));
    const s = await sim();
    const hm = await sim({ serial: 3000000372, susyId: 372 });
    const d = await run(s, {
      ...ANSWERS,
      meters: { sinceMs: 5000 },
      discovery: { targets: [{ address: "127.0.0.1", port: hm.port }], devicePort: hm.port, timeoutMs: 300 },
    });
    assert.equal(d.verdict, "ok");
    const heard = d.steps.filter((x) => x.code === "meters.heard").map((x) => x.data);
    assert.ok(
      heard.some((h) => h.serial === 1900000777 && h.address === "127.0.0.1" && h.cast === "unicast"),
      JSON.stringify(heard),
    );
    assert.deepEqual(step(d, "meters.direct").data, { serial: 3000000372, susyId: 372, address: "127.0.0.1" });
    await meter.stop();
  });

  it("a device that answers identify but never the login: no-answer, with the ennexOS / encryption hint", async () => {
    const s = await sim();
    const port = await dropLogins(s.port);
    const d = await run({ port });
    assert.equal(d.verdict, "no-answer");
    step(d, "identify.ok");
    assert.match(stepText(step(d, "login.silent")), /ennexOS/);
  });

  it("a device that knows none of the value groups (0x0014 for all): the values step says ennexOS-style", async () => {
    const s = await sim({ unknown: [...QUERY_NAMES] });
    const d = await run(s, ANSWERS);
    const e = step(d, "values.ennexos");
    assert.equal(e.ok, false);
    assert.equal(e.data.count, QUERY_NAMES.length);
    assert.ok(!codes(d).includes("values.has"));
  });

  it("the device clock from a time record the device pushed during the check (device minus host)", async () => {
    const s = await sim({ clockOffsetS: 42, timePushMs: 0 });
    let pushed = false;
    s.on("request", (r: { kind: string }) => {
      if (r.kind === "query" && !pushed) {
        pushed = true;
        void s.pushTime();
      }
    });
    const d = await run(s, ANSWERS);
    assert.equal(d.verdict, "ok");
    const c = step(d, "clock.ok");
    assert.ok(Math.abs(Number(c.data.driftS) - 42) <= 2, JSON.stringify(c.data));
    assert.equal(d.clockDriftS, c.data.driftS);
  });

  it("has an English text for every code and verdict", () => {
    for (const c of DIAGNOSE_CODES) assert.ok(DIAGNOSE_TEXT_EN[c], c);
  });
});
