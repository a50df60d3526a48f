/**
 * The simulated inverter's partner table and partner requests (speedwire-protocol.md §9), checked against the request
 * a live Sunny Boy Storage sent (captures.json plant-sbs-unsolicited-5180), and its late answers.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import {
  buildLogin,
  buildLogoff,
  buildQuery,
  decodeInverterDatagram,
  isAnswerCode,
  QUERIES,
  type Address,
} from "../../src/protocol";
import {
  PARTNER_REQUEST,
  SimulatedInverter,
  buildPartnerRequest,
  type SimulatedInverterOptions,
} from "../../src/simulator";
import { bytes, loadCaptures } from "../harness/fixtures";

const ME: Address = { susyId: 0x7d, serial: 975748674 };
const sims: SimulatedInverter[] = [];
const sockets: dgram.Socket[] = [];
after(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  for (const s of sockets) s.close();
});

/** Partner requests only when a test sends them (sendPartnerRequests()), unless it sets an interval. */
async function sim(o: SimulatedInverterOptions = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, partnerRequestMs: 0, timePushMs: 0, ...o });
  sims.push(s);
  await s.start();
  return s;
}

/** A client socket on 127.0.0.1 that keeps every datagram it receives. */
async function socket(): Promise<{ sock: dgram.Socket; got: Buffer[]; port: number }> {
  const sock = dgram.createSocket("udp4");
  sockets.push(sock);
  const got: Buffer[] = [];
  sock.on("message", (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  return { sock, got, port: sock.address().port };
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let packetId = 1;
const ids = () => ({ source: ME, packetId: packetId++ & 0x7fff });

/** Logs in (waiting for the simulator to have handled it). */
async function login(c: { sock: dgram.Socket; got: Buffer[] }, s: SimulatedInverter, password = "0000"): Promise<void> {
  const before = c.got.length;
  c.sock.send(buildLogin({ ...ids(), group: "user", password, time: 1700000000 }), s.port, "127.0.0.1");
  await until("the login answer", () => c.got.length > before);
}

async function logoff(c: { sock: dgram.Socket }, s: SimulatedInverter): Promise<void> {
  const before = s.stats.logoffs;
  c.sock.send(buildLogoff(ids()), s.port, "127.0.0.1");
  await until("the logoff", () => s.stats.logoffs > before);
}

const isPartnerRequest = (m: Buffer): boolean => {
  try {
    return decodeInverterDatagram(m).header.command === PARTNER_REQUEST.command;
  } catch {
    return false;
  }
};

const captured = (): Buffer => bytes(loadCaptures().find((c) => c.id === "plant-sbs-unsolicited-5180")!);

/** Offsets in the UDP payload (the 0x6065 net2 part starts at 16): source SUSyID and serial 28..33, packet id 40..41. */
const SOURCE = [28, 34] as const;
const PACKET_ID = [40, 42] as const;

describe("the partner request is the one a live Sunny Boy Storage sent", () => {
  it("the encoder with the capture's source and packet id gives the captured bytes", () => {
    const theirs = captured();
    const { header: h } = decodeInverterDatagram(theirs);
    assert.deepEqual(buildPartnerRequest({ source: h.source, packetId: h.packetId }), theirs);
  });

  it("the simulator's request equals the captured one in every field but the serials and the packet id", async () => {
    const theirs = captured();
    const s = await sim({ serial: 3010538116, susyId: 378 });
    const c = await socket();
    await login(c, s);
    assert.equal(await s.sendPartnerRequests(), 1);
    await until("the partner request", () => c.got.some(isPartnerRequest));
    const ours = c.got.find(isPartnerRequest)!;
    assert.equal(ours.length, theirs.length);
    const o = decodeInverterDatagram(ours).header;
    const t = decodeInverterDatagram(theirs).header;
    assert.deepEqual({ ...o, source: t.source, packetId: t.packetId }, t);
    assert.deepEqual(o.source, { susyId: 378, serial: 3010538116 });
    assert.equal(isAnswerCode(o.command), false, "a request, not an answer");
    assert.equal(ours[PACKET_ID[1] - 1] & 0x80, 0x80, "packet id flag set, as in the capture");
    // Byte for byte, once the device's own serials and packet id are the capture's.
    const patched = Buffer.from(ours);
    theirs.copy(patched, SOURCE[0], SOURCE[0], SOURCE[1]);
    theirs.copy(patched, PACKET_ID[0], PACKET_ID[0], PACKET_ID[1]);
    assert.deepEqual(patched, theirs);
  });
});

describe("the partner table", () => {
  it("holds every (address, port) that logged in until it logs off, lapsed sessions included", async () => {
    let now = Date.UTC(2026, 2, 29, 9, 38, 30);
    const s = await sim({ clock: () => new Date(now), sessionTimeoutS: 60 });
    const a = await socket();
    const b = await socket();
    const wrong = await socket();
    assert.equal(await s.sendPartnerRequests(), 0, "nobody logged in: nothing sent");
    await login(a, s);
    await login(b, s);
    await login(wrong, s, "9999");
    assert.deepEqual(
      s.partners.map((p) => p.port),
      [a.port, b.port],
      "a refused login is no partner",
    );
    // The sessions lapse (a client run that ended without logging off): still partners, as on the live plant.
    now += 3600_000;
    assert.equal(await s.pushTime(), 0, "the device-time record only goes to live sessions");
    assert.equal(await s.sendPartnerRequests(), 2);
    await until("both got the request", () => a.got.some(isPartnerRequest) && b.got.some(isPartnerRequest));
    assert.equal(wrong.got.filter(isPartnerRequest).length, 0);
    await logoff(a, s);
    assert.deepEqual(
      s.partners.map((p) => p.port),
      [b.port],
      "a logoff makes the device forget the port",
    );
    assert.equal(await s.sendPartnerRequests(), 1);
    assert.equal(s.stats.partnerRequests, 3);
  });

  it("is bounded: the oldest partner is dropped", async () => {
    const s = await sim({ maxPartners: 2 });
    const c = [await socket(), await socket(), await socket()];
    for (const x of c) await login(x, s);
    assert.deepEqual(
      s.partners.map((p) => p.port),
      [c[1].port, c[2].port],
    );
    // A fresh login makes a partner the newest again.
    await login(c[1], s);
    await login(c[0], s);
    assert.deepEqual(
      s.partners.map((p) => p.port),
      [c[1].port, c[0].port],
    );
  });

  it("sends by itself every partnerRequestMs, none while asleep", async () => {
    const s = await sim({ partnerRequestMs: 20 });
    const c = await socket();
    await login(c, s);
    await until("three rounds", () => c.got.filter(isPartnerRequest).length >= 3);
    s.setSleeping(true);
    assert.equal(await s.sendPartnerRequests(), 0);
  });
});

describe("late answers", () => {
  it("delayNextAnswer() and lateAnswers delay the chosen answers, counted", async () => {
    const s = await sim({ lateAnswers: { every: 3, delayMs: 1 } });
    const c = await socket();
    await login(c, s);
    s.delayNextAnswer(1);
    const q = QUERIES.acPowerPhase;
    for (let i = 0; i < 4; i++) {
      const before = c.got.length;
      c.sock.send(buildQuery({ ...ids(), query: q }), s.port, "127.0.0.1");
      await until("the answer", () => c.got.length > before);
    }
    // Answers 1 (login), 2 (delayNextAnswer), 3 (every third), 4, 5: two late ones.
    assert.equal(s.stats.lateAnswers, 2);
  });
});
