/**
 * Session traces (InverterSession.trace()) and their replay (ReplayInverter): no password byte in a trace, the
 * replay gives what the live read gave, the trace stays bounded; the device clock from pushed time records.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { randomInt } from "node:crypto";
import {
  SpeedwireClient,
  TRACE_LIMITS,
  TRACE_MAX_JSON,
  TraceRing,
  parseTrace,
  redactPassword,
  type InverterOptions,
  type SessionTrace,
} from "../../src/client";
import {
  ReplayInverter,
  SimulatedInverter,
  buildDeviceTime,
  type RequestEvent,
  type SimulatedInverterOptions,
} from "../../src/simulator";
import {
  DEVICE_TIME_COMMAND,
  ErrorCode,
  QUERIES,
  QUERY_NAMES,
  buildLogin,
  buildQuery,
  decodeAnswer,
  decodeInverterDatagram,
  encodePassword,
  type UserGroupName,
} from "../../src/protocol";

const clients: SpeedwireClient[] = [];
const stoppers: { stop(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(stoppers.map((s) => s.stop()));
});

async function sim(opts: Partial<SimulatedInverterOptions> = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false, ...opts });
  stoppers.push(s);
  await s.start();
  return s;
}

function client(identity?: { susyId: number; serial: number }): SpeedwireClient {
  const c = new SpeedwireClient({ identity });
  clients.push(c);
  return c;
}

function session(c: SpeedwireClient, port: number, o: Partial<InverterOptions> = {}) {
  return c.inverter({ host: "127.0.0.1", port, password: "0000", timeoutMs: 300, retries: 2, ...o });
}

/** 8 to 12 printable ASCII characters, none the same as the one before (so no run looks like padding). */
function randomPassword(): string {
  let pw = "";
  const n = randomInt(8, 13);
  while (pw.length < n) {
    const ch = String.fromCharCode(randomInt(0x21, 0x7f));
    if (ch !== pw[pw.length - 1]) pw += ch;
  }
  return pw;
}

const clockOf = (x: { deviceClock: unknown }): unknown => x.deviceClock;

async function until<T>(what: string, check: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every way the password could show: as text, and encoded for either group (both keys), in text, hex or bytes. */
function assertNoPassword(trace: SessionTrace, password: string): void {
  const text = JSON.stringify(trace);
  assert.ok(!text.includes(password), "the password as text");
  const datagrams = trace.entries.map((e) => Buffer.from(e.hex, "hex"));
  for (const group of ["user", "installer"] as UserGroupName[]) {
    const encoded = encodePassword(password, group).subarray(0, password.length);
    assert.ok(!text.includes(encoded.toString("hex")), `${group} encoding as hex in the JSON`);
    for (const d of datagrams) assert.equal(d.indexOf(encoded), -1, `${group} encoding in a datagram`);
  }
  for (const d of datagrams)
    assert.equal(d.indexOf(Buffer.from(password, "latin1")), -1, "the password's bytes in a datagram");
}

describe("session trace", () => {
  for (const group of ["user", "installer"] as UserGroupName[]) {
    it(`a ${group} session with a random password: no byte of the password in its trace (login and its echo)`, async () => {
      const password = randomPassword();
      const s = await sim({
        [group === "user" ? "userPassword" : "installerPassword"]: password,
        shortLoginAnswer: false,
      });
      const x = session(client(), s.port, { password, group });
      await x.read(["energy", "acPowerTotal"]);
      await x.close();
      const trace = x.trace();
      const logins = trace.entries.filter((e) => e.command === "0xfffd040c" || e.command === "0xfffd040d");
      assert.equal(logins.length, 2, "the login and its answer (with the password echo) are in the trace");
      assert.equal(Buffer.from(logins[1].hex, "hex").length, 78, "the answer echoes the password bytes");
      assertNoPassword(trace, password);
      assert.equal(trace.device.group, group);
      assert.ok(!("password" in trace.device));
    });
  }

  it("the login in a trace is the login sent, with the empty password's encoding in place of the password", async () => {
    const password = randomPassword();
    const s = await sim({ userPassword: password });
    const c = client();
    const x = session(c, s.port, { password });
    await x.read(["energy"]);
    const entry = x.trace().entries.find((e) => e.dir === "out" && e.command === "0xfffd040c");
    assert.ok(entry);
    const traced = Buffer.from(entry.hex, "hex");
    const { header: h, payload } = decodeInverterDatagram(traced);
    const rebuilt = buildLogin({
      source: h.source,
      destination: h.destination,
      packetId: h.packetId,
      group: "user",
      password: "",
      time: payload.readUInt32LE(0),
      timeoutS: h.last,
    });
    assert.deepEqual(traced, rebuilt, "nothing but the 12 password bytes differs from the datagram sent");
    // The short login answer (66 bytes, no echo) is kept whole: its end tag is where an echo would start.
    assert.ok(
      x.trace().entries.every((e) => e.command !== null),
      "every datagram still decodes",
    );
    // A query passes unchanged.
    const q = buildQuery({ source: h.source, packetId: 7, query: QUERIES.energy });
    assert.deepEqual(redactPassword(q), q);
  });

  it("names its versions: package, Node.js and Node-RED when given", async () => {
    const s = await sim();
    const x = session(client(), s.port);
    await x.read(["energy"]);
    const t = x.trace({ nodeRed: "4.1.15" });
    assert.equal(t.package.name, "@speedwire/node-red-sma");
    assert.match(t.package.version, /^\d+\.\d+\.\d+/);
    assert.equal(t.nodeRed, "4.1.15");
    assert.equal(x.trace().nodeRed, null);
    assert.equal(t.node, process.version);
    assert.deepEqual(parseTrace(JSON.stringify(t)).entries, t.entries);
  });

  it(`stays within ${TRACE_LIMITS.entries} datagrams and ${TRACE_LIMITS.bytes} bytes; its JSON under ${TRACE_MAX_JSON} characters`, async () => {
    const ring = new TraceRing({ entries: 50, bytes: 4000 });
    const big = buildQuery({ source: { susyId: 1, serial: 2 }, packetId: 1, query: QUERIES.energy });
    for (let i = 0; i < 1000; i++)
      ring.record(i % 2 ? "in" : "out", Buffer.concat([big, Buffer.alloc(i % 300)]), "127.0.0.1", 9522);
    const kept = ring.entries();
    assert.ok(kept.length <= 50 && kept.reduce((n, e) => n + e.hex.length / 2, 0) <= 4000, `${kept.length} entries`);
    assert.equal(ring.dropped + kept.length, 1000);
    assert.equal(kept[kept.length - 1].hex.length / 2, big.length + (999 % 300), "the newest is kept");

    const s = await sim({ profile: "hybrid", maxRecordsPerDatagram: 2 });
    const x = session(client(), s.port);
    for (let i = 0; i < 25; i++) await x.read(QUERY_NAMES);
    const t = x.trace();
    const json = JSON.stringify(t, null, 1);
    assert.ok(t.dropped > 0, "older datagrams went");
    assert.ok(t.entries.length <= TRACE_LIMITS.entries);
    assert.ok(t.entries.reduce((n, e) => n + e.hex.length / 2, 0) <= TRACE_LIMITS.bytes);
    assert.ok(json.length < TRACE_MAX_JSON, `${json.length} characters`);
  });
});

describe("replay of a trace", () => {
  for (const profile of ["pv", "hybrid"] as const) {
    it(`${profile}: a full read from the replay gives the live read's values, to another client`, async () => {
      const s = await sim({ profile, maxRecordsPerDatagram: 3 });
      const live = session(client(), s.port, { password: "0000" });
      const want = await live.read(QUERY_NAMES);
      await live.close();
      const replay = new ReplayInverter(JSON.stringify(live.trace()), { address: "127.0.0.1" });
      stoppers.push(replay);
      await replay.start();
      const other = client({ susyId: 0x7d, serial: 1900000000 + randomInt(1000) });
      assert.notDeepEqual(other.transport.identity, clients[clients.length - 2].transport.identity);
      const got = await session(other, replay.port, { password: "anything" }).read(QUERY_NAMES);
      assert.deepEqual(got.values, want.values);
      assert.deepEqual(got.unsupported, want.unsupported);
      assert.deepEqual(got.device, want.device);
      assert.ok(replay.stats.replayed >= QUERY_NAMES.length - want.unsupported.length);
    });
  }

  it("answers as a device: not logged in before a login; a narrower range with the traced records in it; none: not supported", async () => {
    const s = await sim();
    const live = session(client(), s.port);
    await live.read(["acVoltageCurrent"]);
    const replay = new ReplayInverter(live.trace());
    stoppers.push(replay);
    await replay.start();
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    const me = { susyId: 0x77, serial: 1234567 };
    const ask = (d: Buffer) =>
      new Promise<ReturnType<typeof decodeAnswer>>((resolve) => {
        sock.once("message", (m) => resolve(decodeAnswer(m)));
        sock.send(d, replay.port, "127.0.0.1");
      });
    try {
      const q = QUERIES.acVoltageCurrent;
      const narrow = { command: q.command, first: 0x00464800, last: 0x004648ff };
      assert.equal(
        (await ask(buildQuery({ source: me, packetId: 5, query: narrow }))).header.errorCode,
        ErrorCode.NOT_LOGGED_IN,
      );
      const login = await ask(buildLogin({ source: me, packetId: 6, group: "user", password: "whatever", time: 1 }));
      assert.equal(login.header.errorCode, 0);
      const a = await ask(buildQuery({ source: me, packetId: 7, query: narrow }));
      assert.equal(a.header.errorCode, 0);
      assert.deepEqual(a.header.destination, me, "re-addressed to the client that asked");
      assert.equal(a.header.packetId, 7);
      assert.ok(
        a.records.length > 0 && a.records.every((r) => r.lri === 0x4648),
        a.records.map((r) => r.lri.toString(16)).join(),
      );
      const none = await ask(buildQuery({ source: me, packetId: 8, query: QUERIES.gridFrequency }));
      assert.equal(none.header.errorCode, ErrorCode.NOT_SUPPORTED);
    } finally {
      sock.close();
    }
  });

  it("refuses a file that is no trace", () => {
    assert.throws(() => new ReplayInverter("{}"), /not a sma-speedwire-trace/);
    assert.throws(
      () =>
        new ReplayInverter(
          JSON.stringify({ format: "sma-speedwire-trace", version: 1, entries: [{ dir: "in", hex: "zz" }] }),
        ),
    );
  });
});

describe("device clock (read only)", () => {
  it("none until the device pushes its time; then time, drift, zone and DST; nothing is ever sent to set it", async () => {
    const s = await sim({ clockOffsetS: 120, timeZoneOffsetS: 3600, dst: true });
    const requests: RequestEvent[] = [];
    s.on("request", (e: RequestEvent) => requests.push(e));
    const c = client();
    const x = session(c, s.port);
    const first = await x.read(["energy"]);
    assert.equal(first.deviceClock, null);
    assert.equal(clockOf(x), undefined);
    assert.equal(await s.pushTime(), 1, "one logged-in client");
    const clock = await until("the time record", () => x.deviceClock);
    assert.ok(clock.driftS !== null && Math.abs(clock.driftS - 120) <= 1, `drift ${clock.driftS}`);
    assert.equal(clock.tzOffsetS, 3600);
    assert.equal(clock.dst, true);
    assert.ok(clock.lastSet !== null && clock.time !== null && clock.lastSet < clock.time);
    assert.deepEqual(clock.source, { susyId: s.susyId, serial: s.serial });
    const second = await x.read(["energy"]);
    assert.equal(second.deviceClock?.time, clock.time);
    s.setClockOffset(-30);
    await s.pushTime();
    await until("the newer record", () => (x.deviceClock?.driftS !== clock.driftS ? true : undefined));
    assert.ok(Math.abs((x.deviceClock?.driftS ?? 0) + 30) <= 1);
    assert.ok(
      x.trace().entries.some((e) => e.dir === "in" && e.command === "0xf000020a"),
      "the record is in the trace",
    );
    assert.ok(
      requests.every((r) => r.command !== DEVICE_TIME_COMMAND),
      "no time was sent to the device",
    );
    assert.ok(
      requests.every((r) => r.kind === "login" || r.kind === "query"),
      requests.map((r) => r.kind).join(),
    );
  });

  it("a time record from any other address or port is ignored", async () => {
    const s = await sim();
    const c = client();
    const x = session(c, s.port);
    await x.read(["energy"]);
    const forger = dgram.createSocket("udp4");
    await new Promise<void>((r) => forger.bind(0, "127.0.0.1", r));
    try {
      const forged = buildDeviceTime({
        source: { susyId: s.susyId, serial: s.serial },
        packetId: 1,
        time: 1,
        lastSet: 1,
        tzOffsetS: 0,
        dst: false,
        setCounter: 1,
      });
      const before = c.transport.stats.pushed;
      forger.send(forged, c.transport.port as number, "127.0.0.1");
      await until("the forged record", () => (c.transport.stats.pushed > before ? true : undefined));
      assert.equal(clockOf(x), undefined);
      // From the device's own address and port, it is taken.
      await s.sendRaw(forged, "127.0.0.1", c.transport.port as number);
      await until("the record from the device", () => x.deviceClock);
      assert.equal(x.deviceClock?.time, 1);
    } finally {
      forger.close();
    }
  });

  it("the simulator pushes by itself every timePushMs to logged-in clients only", async () => {
    const s = await sim({ timePushMs: 50 });
    const x = session(client(), s.port);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(s.stats.timePushes, 0, "nobody logged in: nothing sent");
    await x.read(["energy"]);
    await until("a pushed record", () => x.deviceClock, 5000);
    assert.ok(s.stats.timePushes >= 1);
  });
});
