/** The simulated inverter over a real UDP socket on 127.0.0.1, driven by the codec's request builders. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import {
  ANY_SERIAL,
  ANY_SUSY_ID,
  ArchiveCommand,
  ErrorCode,
  QUERIES,
  buildArchiveRequest,
  decodeEventRecords,
  decodeYieldRecords,
  type TimeRange,
  type YieldRecord,
  QUERY_NAMES,
  answerCode,
  buildDiscovery,
  buildIdentify,
  buildLogin,
  buildLogoff,
  buildQuery,
  decodeAnswer,
  decodeDiscoveryAnswer,
  decodeKeyExchange,
  isKeyExchange,
  KeyExchangeType,
  readingsOf,
  valuesOf,
  type Address,
  type DataRecord,
  type Net2Header,
  type QueryDef,
  type QueryName,
  type UserGroupName,
} from "../../src/protocol";
import {
  ARCHIVE_SPIKE_WH,
  MAX_ARCHIVE_DATAGRAM,
  RECORD_INDEX_BASE,
  SimulatedInverter,
  localMidnight,
  SimulatedPlant,
  type SimulatedInverterOptions,
} from "../../src/simulator";
import { capturesOfKind, bytes } from "../harness/fixtures";

const ME: Address = { susyId: 0x7d, serial: 975748674 };
const NOON = new Date(2025, 5, 21, 13, 0, 0);
const sims: SimulatedInverter[] = [];
const sockets: dgram.Socket[] = [];
const plants: SimulatedPlant[] = [];
after(async () => {
  await Promise.all([...sims.map((s) => s.stop()), ...plants.map((p) => p.stop())]);
  for (const s of sockets) s.close();
});

/** No partner requests (test/simulator/partners.test.ts has them): these tests count every datagram a socket gets. */
async function sim(o: SimulatedInverterOptions = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ clock: () => NOON, partnerRequestMs: 0, ...o });
  sims.push(s);
  await s.start();
  return s;
}

async function socket(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  return s;
}

let packetId = 1;
const ids = () => ({ source: ME, packetId: packetId++ & 0x7fff });

/**
 * How long a test waits where it expects NO answer. Where it expects one, exchange() waits up to ANSWER_MS and ends at
 * once when it arrives: a loaded machine can take far longer than 300 ms to answer on loopback.
 */
const SILENCE_MS = 300;
const ANSWER_MS = 5000;

/** Sends and collects datagrams until one with fragment 0 arrives (or any non-inverter one), or `ms` pass. */
function exchange(
  sock: dgram.Socket,
  buf: Buffer,
  port: number,
  ms = ANSWER_MS,
  host = "127.0.0.1",
): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      sock.off("message", on);
      resolve(got);
    };
    const on = (m: Buffer): void => {
      got.push(m);
      try {
        if (decodeAnswer(m).header.fragment === 0) done();
      } catch {
        done();
      }
    };
    const timer = setTimeout(done, ms);
    sock.on("message", on);
    sock.send(buf, port, host);
  });
}

/** Waits (in steps of 5 ms) until cond() holds; fails after `ms`. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`condition not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function login(
  sock: dgram.Socket,
  s: SimulatedInverter,
  password = "0000",
  group: UserGroupName = "user",
  destination?: Address,
  ms = ANSWER_MS,
) {
  const got = await exchange(
    sock,
    buildLogin({ ...ids(), destination, group, password, time: 1700000000 }),
    s.port,
    ms,
  );
  return { raw: got, header: got.length > 0 ? decodeAnswer(got[0]).header : undefined };
}

interface Asked {
  headers: Net2Header[];
  records: DataRecord[];
  values: Record<string, unknown>;
  raw: Buffer[];
}

async function ask(
  sock: dgram.Socket,
  s: SimulatedInverter,
  q: Pick<QueryDef, "command" | "first" | "last">,
  destination?: Address,
): Promise<Asked> {
  const raw = await exchange(sock, buildQuery({ ...ids(), destination, query: q }), s.port);
  const answers = raw.map((b) => decodeAnswer(b));
  const records = answers.flatMap((a) => a.records);
  return { headers: answers.map((a) => a.header), records, values: valuesOf(readingsOf(records)), raw };
}

describe("login", () => {
  it("accepts the user and installer passwords; a wrong one is error 0x0100 and opens no session", async () => {
    const s = await sim({ userPassword: "1234", installerPassword: "abcd" });
    const c = await socket();
    assert.equal((await login(c, s, "1234")).header?.errorCode, ErrorCode.OK);
    assert.equal((await login(c, s, "abcd", "installer")).header?.errorCode, ErrorCode.OK);
    const bad = await socket();
    const wrong = await login(bad, s, "1235");
    assert.equal(wrong.header?.errorCode, ErrorCode.WRONG_PASSWORD);
    assert.equal((await ask(bad, s, QUERIES.acPowerPhase)).headers[0].errorCode, ErrorCode.NOT_LOGGED_IN);
    assert.equal((await login(bad, s, "1234", "installer")).header?.errorCode, ErrorCode.WRONG_PASSWORD);
    assert.deepEqual([s.stats.logins, s.stats.loginFailures], [4, 2]);
  });

  it("answers in 66 bytes without the password echo, or 78 bytes with it", async () => {
    for (const [shortLoginAnswer, length] of [
      [true, 66],
      [false, 78],
    ] as const) {
      const s = await sim({ shortLoginAnswer });
      const { raw, header } = await login(await socket(), s);
      assert.equal(raw[0].length, length);
      assert.equal(header?.command, answerCode(0xfffd040c));
      assert.deepEqual(header?.source, { susyId: s.susyId, serial: s.serial });
      assert.deepEqual(header?.destination, ME);
    }
  });
});

describe("queries", () => {
  it("without a session: error 0xFFFF echoing first/last, no records", async () => {
    const s = await sim();
    const a = await ask(await socket(), s, QUERIES.acPowerPhase);
    assert.equal(a.raw.length, 1);
    const h = a.headers[0];
    assert.deepEqual(
      [h.errorCode, h.command, h.first, h.last],
      [ErrorCode.NOT_LOGGED_IN, 0x51000201, 0x464000, 0x4642ff],
    );
    assert.equal(a.records.length, 0);
    assert.equal(s.stats.notLoggedIn, 1);
  });

  for (let phases = 1; phases <= 3; phases++) {
    it(`every query answers currentValues() (${phases} phase(s), 1..4 strings, hybrid with 2 batteries)`, async () => {
      for (let strings = 1; strings <= 4; strings++) {
        const s = await sim({ profile: "hybrid", phases, strings, batteries: 2 });
        const c = await socket();
        await login(c, s);
        const records: DataRecord[] = [];
        for (const name of QUERY_NAMES) {
          const a = await ask(c, s, QUERIES[name]);
          assert.equal(a.headers[0].errorCode, 0, name);
          assert.equal(a.headers[0].first, RECORD_INDEX_BASE[name], `${name} record index base`);
          records.push(...a.records);
        }
        const got = valuesOf(readingsOf(records));
        assert.deepEqual(got, s.currentValues());
        const phase = [1, 2, 3].map((k) => got[`acPowerL${k}`] as number | null);
        phase.forEach((p, i) => assert.equal(p === null, i >= phases, `acPowerL${i + 1}`));
        assert.equal(
          got.acPower,
          phase.reduce<number>((a, b) => a + (b ?? 0), 0),
        );
        assert.ok(`dcPower${strings}` in got && !(`dcPower${strings + 1}` in got));
        // Two of three battery slots fitted: battery C is "no value", not absent and not 0.
        assert.ok(typeof got.batteryTemperature2 === "number" && got.batteryTemperature3 === null);
      }
    });
  }

  it("the pv profile's numbers are consistent: AC = 0.97 x DC, ~230 V, 50 Hz", async () => {
    const s = await sim({ strings: 3 });
    const v = s.currentValues() as Record<string, number>;
    assert.equal(v.acPower, Math.round((v.dcPower1 + v.dcPower2 + v.dcPower3) * 0.97));
    for (const k of [1, 2, 3]) assert.ok(Math.abs(v[`acVoltageL${k}`] - 230) < 5);
    assert.equal(v.gridFrequency, 50);
    assert.ok(v.totalYield > v.dayYield && v.dayYield > 0);
  });

  it("values: fixed, functions of the clock, and set()", async () => {
    const s = await sim({
      values: {
        acPowerL1: 1234,
        dcPower2: (now) => now.getHours() * 100,
        deviceStatus: { selected: 455, tags: [455] },
      },
    });
    s.set("gridFrequency", 49.87);
    const c = await socket();
    await login(c, s);
    assert.equal((await ask(c, s, QUERIES.acPowerPhase)).values.acPowerL1, 1234);
    assert.equal((await ask(c, s, QUERIES.dcPower)).values.dcPower2, 1300);
    assert.equal((await ask(c, s, QUERIES.gridFrequency)).values.gridFrequency, 49.87);
    assert.deepEqual((await ask(c, s, QUERIES.deviceStatus)).values.deviceStatus, { selected: 455, tags: [455] });
  });

  it("a day yield that grows over a time-varying day", async () => {
    let t = new Date(2025, 5, 21, 9, 0, 0);
    const s = await sim({ timeVarying: true, clock: () => t });
    const morning = s.currentValues();
    t = new Date(2025, 5, 21, 15, 0, 0);
    const afternoon = s.currentValues();
    assert.ok((afternoon.dayYield as number) > (morning.dayYield as number));
    assert.ok((afternoon.totalYield as number) > (morning.totalYield as number));
  });

  it("night: spot values decode to null, counters stay, status Ok", async () => {
    const day = await sim();
    const s = await sim({ night: true });
    const c = await socket();
    await login(c, s);
    const ac = await ask(c, s, QUERIES.acPowerPhase);
    const dc = await ask(c, s, QUERIES.dcPower);
    for (const v of [...Object.values(ac.values), ...Object.values(dc.values)]) assert.equal(v, null);
    assert.ok(ac.records.length === 3 && dc.records.length === 2);
    assert.equal((await ask(c, s, QUERIES.energy)).values.totalYield, day.currentValues().totalYield);
    assert.deepEqual((await ask(c, s, QUERIES.deviceStatus)).values.deviceStatus, { selected: 307, tags: [307] });
    s.setNight(false);
    assert.equal(typeof (await ask(c, s, QUERIES.acPowerPhase)).values.acPowerL1, "number");
  });

  it("pv refuses battery and grid queries with 0x0015; battery refuses yield and DC with 0x0017; objects it does not know (ennexOS-style) 0x0014", async () => {
    const pv = await sim({ unsupported: ["temperature"] });
    const bat = await sim({ profile: "battery" });
    const c = await socket();
    await login(c, pv);
    await login(c, bat);
    const refused = async (s: SimulatedInverter, q: Pick<QueryDef, "command" | "first" | "last">, code: number) => {
      const a = await ask(c, s, q);
      assert.deepEqual(
        [a.headers[0].errorCode, a.headers[0].first, a.headers[0].last, a.records.length],
        [code, q.first, q.last, 0],
      );
    };
    const pvRefuses: QueryName[] = [
      "batterySoc",
      "batteryInfo",
      "batteryPackSoc",
      "batteryPower",
      "batteryEnergy",
      "gridPower",
      "gridEnergy",
      "temperature",
    ];
    for (const n of pvRefuses) await refused(pv, QUERIES[n], ErrorCode.NOT_SUPPORTED);
    for (const n of ["energy", "dcPower", "dcVoltageCurrent"] as const)
      await refused(bat, QUERIES[n], ErrorCode.REFUSED);
    // As a live Sunny Boy: 0x0014 to an ennexOS-style object it does not know, 0x0015 to a known one it has no value for.
    await refused(pv, { command: 0x72000200, first: 0x00263f00, last: 0x00263fff }, ErrorCode.UNKNOWN_COMMAND);
    await refused(pv, { command: 0x63100200, first: 0x00651e00, last: 0x00651eff }, ErrorCode.NOT_SUPPORTED);
    assert.equal(pv.stats.queries.batterySoc, 1);
  });

  it("battery records as a Sunny Boy Storage sends them: three per value id, all class 7, A first, slots not fitted NaN", async () => {
    const s = await sim({ profile: "battery", batteries: 2 });
    const c = await socket();
    await login(c, s);
    const a = await ask(c, s, QUERIES.batteryInfo);
    assert.deepEqual(
      a.records.map((r) => [r.lri, r.cls]),
      [0x495b, 0x495c, 0x495d].flatMap((l) => [
        [l, 7],
        [l, 7],
        [l, 7],
      ]),
    );
    // The third slot of each id holds the sentinel of its type (s32 0x80000000, u32 0xFFFFFFFF), not a number.
    const raw = a.raw[0];
    const word = (i: number): number => raw.readUInt32LE(54 + 28 * i + 8);
    assert.deepEqual([word(2), word(5), word(8)], [0x80000000, 0xffffffff, 0x80000000]);
    const want = s.currentValues();
    for (const f of ["batteryTemperature", "batteryVoltage", "batteryCurrent"]) {
      for (const n of [1, 2]) assert.equal(typeof a.values[f + n], "number", f + n);
      for (const n of [1, 2, 3]) assert.equal(a.values[f + n], want[f + n], f + n);
      assert.equal(a.values[f + 3], null, `${f}3: not fitted`);
    }
    assert.notEqual(a.values.batteryTemperature1, a.values.batteryTemperature2);
    const packs = await ask(c, s, QUERIES.batteryPackSoc);
    assert.deepEqual(
      packs.records.map((r) => [r.lri, r.cls]),
      [
        [0x498f, 7],
        [0x498f, 7],
        [0x498f, 7],
      ],
    );
    assert.deepEqual(
      [1, 2, 3].map((n) => packs.values[`batteryPackSoc${n}`]),
      [want.batteryPackSoc1, want.batteryPackSoc2, null],
    );
    assert.equal((await ask(c, s, QUERIES.batterySoc)).values.batterySoc, want.batterySoc);
  });

  it("fitted batteries: an option from 0 to 3 (default 1); every battery device answers 3 slots", async () => {
    const fitted = async (o: SimulatedInverterOptions): Promise<(number | null)[]> => {
      const s = await sim(o);
      const c = await socket();
      await login(c, s);
      const a = await ask(c, s, QUERIES.batteryInfo);
      assert.equal(a.records.filter((r) => r.lri === 0x495b).length, 3);
      return [1, 2, 3].map((n) => a.values[`batteryTemperature${n}`] as number | null);
    };
    const count = (xs: (number | null)[]): number => xs.filter((x) => x !== null).length;
    assert.equal(count(await fitted({ profile: "hybrid" })), 1);
    assert.equal(count(await fitted({ profile: "battery" })), 1);
    assert.deepEqual(await fitted({ profile: "hybrid", batteries: 0 }), [null, null, null]);
    assert.equal(count(await fitted({ profile: "battery", batteries: 3 })), 3);
    assert.equal(count(await fitted({ profile: "battery", batteries: 8 })), 3);
  });

  it("fragments: each datagram self-contained, counter down to 0, record indexes continue", async () => {
    const whole = await sim({ strings: 4 });
    const s = await sim({ strings: 4, maxRecordsPerDatagram: 2 });
    const c = await socket();
    await login(c, s);
    await login(c, whole);
    for (const q of [QUERIES.acVoltageCurrent, QUERIES.dcVoltageCurrent]) {
      const a = await ask(c, s, q);
      const n = Math.ceil(a.records.length / 2);
      assert.equal(a.raw.length, n);
      assert.deepEqual(
        a.headers.map((h) => h.fragment),
        Array.from({ length: n }, (_, i) => n - 1 - i),
      );
      a.headers.forEach((h, i) => assert.equal(h.first, a.headers[0].first + 2 * i));
      assert.equal(a.headers[n - 1].last, a.headers[0].first + a.records.length - 1);
      assert.ok(a.headers.every((h) => h.packetId === a.headers[0].packetId));
      assert.deepEqual(a.values, (await ask(c, whole, q)).values);
    }
  });
});

describe("sessions", () => {
  it("restart forgets sessions (0xFFFF, then login works); downMs keeps it silent for a while", async () => {
    const s = await sim();
    const c = await socket();
    await login(c, s);
    assert.equal((await ask(c, s, QUERIES.energy)).headers[0].errorCode, 0);
    s.restart();
    assert.equal((await ask(c, s, QUERIES.energy)).headers[0].errorCode, ErrorCode.NOT_LOGGED_IN);
    await login(c, s);
    assert.equal((await ask(c, s, QUERIES.energy)).headers[0].errorCode, 0);
    // Down for a second: the login sent at once arrives within it even on a loaded machine; then it answers again.
    const downAt = Date.now();
    s.restart({ downMs: 1000 });
    assert.equal(
      (await exchange(c, buildLogin({ ...ids(), group: "user", password: "0000", time: 1 }), s.port, SILENCE_MS))
        .length,
      0,
    );
    let again = await login(c, s, "0000", "user", undefined, SILENCE_MS);
    while (!again.header && Date.now() - downAt < 10_000)
      again = await login(c, s, "0000", "user", undefined, SILENCE_MS);
    assert.equal(again.header?.errorCode, 0);
    assert.ok(Date.now() - downAt >= 1000, "not before the down time ended");
  });

  it("forgetSessions: 0x0017 to the forgotten clients until they log in again; clients that never logged in get 0xFFFF", async () => {
    const s = await sim();
    const c = await socket();
    await login(c, s);
    s.forgetSessions();
    assert.equal((await ask(c, s, QUERIES.energy)).headers[0].errorCode, ErrorCode.REFUSED);
    assert.equal((await ask(await socket(), s, QUERIES.energy)).headers[0].errorCode, ErrorCode.NOT_LOGGED_IN);
    await login(c, s);
    assert.equal((await ask(c, s, QUERIES.energy)).headers[0].errorCode, 0);
  });

  it("an idle session lapses after sessionTimeoutS; queries keep it alive", async () => {
    let t = NOON.getTime();
    const s = await sim({ sessionTimeoutS: 60, clock: () => new Date(t) });
    const c = await socket();
    await login(c, s);
    for (const step of [50_000, 50_000]) {
      t += step;
      assert.equal((await ask(c, s, QUERIES.gridFrequency)).headers[0].errorCode, 0);
    }
    // Another client's login (which prunes lapsed sessions) midway must not extend this one.
    t += 40_000;
    await login(await socket(), s);
    t += 21_000;
    assert.equal((await ask(c, s, QUERIES.gridFrequency)).headers[0].errorCode, ErrorCode.NOT_LOGGED_IN);
  });

  it("logoff ends the session without an answer", async () => {
    const s = await sim();
    const c = await socket();
    await login(c, s);
    assert.equal((await exchange(c, buildLogoff(ids()), s.port, SILENCE_MS)).length, 0);
    assert.equal((await ask(c, s, QUERIES.energy)).headers[0].errorCode, ErrorCode.NOT_LOGGED_IN);
    assert.equal(s.stats.logoffs, 1);
  });

  it("sessions belong to the client's address:port; answers go to the sender", async () => {
    const s = await sim();
    const a = await socket();
    const b = await socket();
    await login(a, s);
    assert.equal((await ask(b, s, QUERIES.energy)).headers[0].errorCode, ErrorCode.NOT_LOGGED_IN);
    assert.equal((await ask(a, s, QUERIES.energy)).headers[0].errorCode, 0);
  });

  it("answers requests to its serial or to ANY, ignores other serials", async () => {
    const s = await sim();
    const c = await socket();
    assert.equal(
      (await login(c, s, "0000", "user", { susyId: s.susyId, serial: s.serial + 1 }, SILENCE_MS)).raw.length,
      0,
    );
    assert.equal(s.stats.ignored, 1);
    assert.equal((await login(c, s, "0000", "user", { susyId: ANY_SUSY_ID, serial: s.serial })).header?.errorCode, 0);
    assert.equal((await ask(c, s, QUERIES.energy, { susyId: s.susyId, serial: s.serial })).headers[0].errorCode, 0);
    assert.equal(
      (await ask(c, s, QUERIES.energy, { susyId: ANY_SUSY_ID, serial: ANY_SERIAL })).headers[0].errorCode,
      0,
    );
  });
});

describe("network", () => {
  it("sleeping: no answer within 300 ms, not even to discovery; answers again once awake", async () => {
    const s = await sim({ sleeping: true });
    const c = await socket();
    assert.equal((await login(c, s, "0000", "user", undefined, SILENCE_MS)).raw.length, 0);
    assert.equal((await exchange(c, buildDiscovery(), s.port, SILENCE_MS)).length, 0);
    s.setSleeping(false);
    assert.equal((await login(c, s)).header?.errorCode, 0);
  });

  it("loss 100 % each way: no answer, counted as dropped; a seed repeats the same losses", async () => {
    const lostRequests = await sim({ lossRequests: 1 });
    const lostAnswers = await sim({ lossAnswers: 1 });
    const c = await socket();
    assert.equal((await login(c, lostRequests, "0000", "user", undefined, SILENCE_MS)).raw.length, 0);
    assert.equal((await login(c, lostAnswers, "0000", "user", undefined, SILENCE_MS)).raw.length, 0);
    assert.deepEqual([lostRequests.stats.dropped, lostRequests.stats.logins], [1, 0]);
    assert.deepEqual([lostAnswers.stats.dropped, lostAnswers.stats.logins], [1, 1]);
    const twins = [await sim({ lossAnswers: 0.5, seed: 7 }), await sim({ lossAnswers: 0.5, seed: 7 })];
    for (let i = 0; i < 40; i++) for (const t of twins) c.send(buildDiscovery(), t.port, "127.0.0.1");
    await until(() => twins.every((t) => t.stats.received === 40));
    assert.equal(twins[0].stats.dropped, twins[1].stats.dropped);
    assert.ok(twins[0].stats.dropped > 5 && twins[0].stats.dropped < 35, String(twins[0].stats.dropped));
  });

  it("latency delays answers", async () => {
    const s = await sim({ latencyMs: { min: 60, max: 80 } });
    const t0 = Date.now();
    assert.equal((await login(await socket(), s)).header?.errorCode, 0);
    assert.ok(Date.now() - t0 >= 55);
  });

  it("discovery is answered with the device's address; identify with SUSyID and serial, no login needed", async () => {
    const s = await sim();
    const c = await socket();
    const d = await exchange(c, buildDiscovery(), s.port);
    assert.equal(decodeDiscoveryAnswer(d[0]).address, "127.0.0.1");
    const id = decodeAnswer((await exchange(c, buildIdentify(ids()), s.port))[0]);
    assert.deepEqual(
      [id.header.errorCode, id.header.command, id.header.source],
      [0, 0x201, { susyId: s.susyId, serial: s.serial }],
    );
    const words = id.records[0].value.kind === "words" ? id.records[0].value.value : [];
    assert.deepEqual([id.records[0].lri, words[1] >>> 16, words[2]], [3, s.susyId, s.serial]);
  });

  it("garbage is counted as malformed and never stops it answering", async () => {
    const s = await sim();
    const c = await socket();
    const events: string[] = [];
    s.on("request", (e: { kind: string }) => events.push(e.kind));
    const login0 = buildLogin({ ...ids(), group: "user", password: "0000", time: 1 });
    const meter = capturesOfKind("energy-meter").map(bytes);
    const junk = [
      Buffer.alloc(0),
      Buffer.from("hello"),
      Buffer.from("534d4100ffff02a0", "hex"),
      login0.subarray(0, 40),
      Buffer.concat([login0.subarray(0, 54), Buffer.alloc(4)]),
      ...meter,
      Buffer.alloc(600, 0x53),
    ];
    for (const j of junk) c.send(j, s.port, "127.0.0.1");
    await until(() => s.stats.received >= junk.length);
    assert.equal(s.stats.malformed, junk.length);
    assert.ok(events.filter((k) => k === "malformed").length === junk.length);
    assert.equal((await login(c, s)).header?.errorCode, 0);
  });

  it("a plant: several inverters on their own addresses/ports with their own serials; stop() is idempotent", async () => {
    const plant = new SimulatedPlant([{}, { profile: "battery" }, { profile: "hybrid" }, { address: "127.0.0.2" }]);
    plants.push(plant);
    const members = await plant.start();
    assert.equal(new Set(members.map((m) => `${m.address}:${m.port}`)).size, 4);
    assert.equal(new Set(members.map((m) => m.serial)).size, 4);
    assert.equal(members[3].address, "127.0.0.2");
    const c = await socket();
    for (const m of members) {
      const id = decodeAnswer((await exchange(c, buildIdentify(ids()), m.port, 300, m.address))[0]);
      assert.equal(id.header.source.serial, m.serial);
    }
    await plant.stop();
    await plant.stop();
  });
});

describe("archives and event log", () => {
  const midnight = localMidnight(NOON.getTime() / 1000);
  const today: TimeRange = { from: midnight - 300, to: midnight + 86_100 };

  async function archive(c: dgram.Socket, s: SimulatedInverter, command: number, range: TimeRange) {
    const raw = await exchange(c, buildArchiveRequest({ ...ids(), command, range }), s.port);
    const answers = raw.map((b) => decodeAnswer(b));
    const payloads = answers.map((a) => a.payload);
    return {
      raw,
      headers: answers.map((a) => a.header),
      payloads,
      yields: (): YieldRecord[] => payloads.flatMap(decodeYieldRecords),
    };
  }

  it("day data is not taken for identify (0x70000200 vs 0x00000200): it needs a login and answers 0x70000201", async () => {
    const s = await sim({ timeVarying: true });
    const c = await socket();
    const before = await archive(c, s, ArchiveCommand.DAY, today);
    assert.deepEqual([before.headers[0].errorCode, before.headers[0].command], [ErrorCode.NOT_LOGGED_IN, 0x70000201]);
    assert.equal(s.stats.identify, 0);
    await login(c, s);
    const a = await archive(c, s, ArchiveCommand.DAY, today);
    assert.deepEqual([a.headers[0].errorCode, a.headers[0].command], [0, 0x70000201]);
    assert.equal(s.stats.identify, 0);
    assert.equal(s.stats.queries.dayData, 2);
  });

  it("month data in a time zone (Europe/Berlin here, whatever TZ the test runs in): records at its local midnights, spikes, resets", async () => {
    const now = new Date(Date.UTC(2025, 10, 5, 12));
    const s = await sim({
      timeVarying: true,
      clock: () => now,
      timeZone: "Europe/Berlin",
      archiveSpikes: [Date.UTC(2025, 9, 28, 23) / 1000],
      counterResets: [Date.UTC(2025, 10, 2, 12) / 1000],
    });
    const c = await socket();
    await login(c, s);
    const recs = (
      await archive(c, s, ArchiveCommand.MONTH, {
        from: Date.UTC(2025, 9, 24) / 1000,
        to: Date.UTC(2025, 10, 3) / 1000,
      })
    ).yields();
    assert.deepEqual(
      recs.map((r) => new Date(r.time * 1000).toISOString().slice(5, 13)),
      [
        "10-24T22",
        "10-25T22",
        "10-26T23",
        "10-27T23",
        "10-28T23",
        "10-29T23",
        "10-30T23",
        "10-31T23",
        "11-01T23",
        "11-02T23",
      ],
      "22:00Z in summer, 23:00Z after the change of October 26 (a day of 25 hours)",
    );
    assert.equal(recs[4].totalWh, ARCHIVE_SPIKE_WH);
    assert.ok(
      (recs[9].totalWh as number) < (recs[7].totalWh as number) / 10,
      "counted anew from the reset on November 2",
    );
    assert.throws(() => new SimulatedInverter({ timeZone: "Mars/Olympus" }), /time zone/);
  });

  it("day data: a record every 300 s from the slot before midnight up to now, counters that never fall, the last = the energy query", async () => {
    const s = await sim({ timeVarying: true });
    const c = await socket();
    await login(c, s);
    const recs = (await archive(c, s, ArchiveCommand.DAY, today)).yields();
    assert.equal(recs.length, (13 * 3600) / 300 + 2);
    assert.equal(recs[0].time, midnight - 300);
    recs.forEach((r, i) => {
      assert.equal(r.time % 300, 0);
      if (i > 0) assert.ok((r.totalWh as number) >= (recs[i - 1].totalWh as number));
    });
    assert.equal(recs[recs.length - 1].time, NOON.getTime() / 1000);
    assert.equal(recs[recs.length - 1].totalWh, s.currentValues().totalYield);
    assert.ok((recs[recs.length - 1].totalWh as number) - (recs[0].totalWh as number) === s.currentValues().dayYield);
  });

  it("long answers: fragments of at most 2048 bytes, counter down to 0, packet-id bit on the first only", async () => {
    const s = await sim({ timeVarying: true });
    const c = await socket();
    await login(c, s);
    const a = await archive(c, s, ArchiveCommand.DAY, { from: today.from - 86_400, to: today.to });
    assert.equal(a.raw.length, Math.ceil(((24 + 13) * 12 + 2) / 165), "165 records of 12 bytes fill 2038 bytes");
    assert.ok(a.raw.every((d) => d.length <= MAX_ARCHIVE_DATAGRAM));
    assert.deepEqual(
      a.headers.map((h) => h.fragment),
      a.headers.map((_, i) => a.raw.length - 1 - i),
    );
    assert.deepEqual(
      a.headers.map((h) => h.packetIdFlag),
      a.headers.map((_, i) => i === 0),
    );
    assert.ok(a.headers.every((h) => h.packetId === a.headers[0].packetId));
  });

  it("retention: nothing older than the device keeps; a range with no record is 0x0015", async () => {
    const s = await sim({ timeVarying: true, dayDataRetentionDays: 7 });
    const c = await socket();
    await login(c, s);
    const day = (n: number): TimeRange => ({ from: today.from - n * 86_400, to: today.to - n * 86_400 });
    assert.equal((await archive(c, s, ArchiveCommand.DAY, day(6))).yields().length, 289);
    const old = await archive(c, s, ArchiveCommand.DAY, day(8));
    assert.deepEqual([old.headers[0].errorCode, old.payloads[0].length], [ErrorCode.NOT_SUPPORTED, 0]);
    const future = await archive(c, s, ArchiveCommand.DAY, day(-1));
    assert.equal(future.headers[0].errorCode, ErrorCode.NOT_SUPPORTED);
  });

  it("month data: one record per completed day holding its end-of-day counter, stamped at its midnight or the next", async () => {
    const range: TimeRange = { from: midnight - 10 * 86_400, to: midnight + 86_400 };
    const own = await sim({ timeVarying: true });
    const next = await sim({ timeVarying: true, dailyTotalAtNextMidnight: true });
    const c = await socket();
    await login(c, own);
    await login(c, next);
    const a = (await archive(c, own, ArchiveCommand.MONTH, range)).yields();
    const b = (await archive(c, next, ArchiveCommand.MONTH, range)).yields();
    assert.equal(a.length, 10);
    assert.equal(a[a.length - 1].time, midnight - 86_400, "yesterday is the last completed day");
    assert.equal(b[b.length - 1].time, midnight);
    assert.equal(b[0].time, range.from, "the day before the range ends inside it");
    assert.deepEqual(
      a.map((r) => [r.time + 86_400, r.totalWh]),
      b.slice(1).map((r) => [r.time, r.totalWh]),
    );
    // Yesterday's total = today's counter minus today's yield so far.
    const now = own.currentValues() as Record<string, number>;
    assert.equal(a[a.length - 1].totalWh, now.totalYield - now.dayYield);
  });

  it("event log per group, 48-byte records with the device's address; an empty range is 0x0015", async () => {
    const s = await sim({
      events: [
        { time: midnight + 3600, code: 101, tag: 1001, group: "user" },
        { time: midnight + 7200, code: 102, tag: 1002, group: "installer", args: [9, 8, 7, 6] },
        { time: midnight + 9000, code: 103, tag: 1003, group: "user" },
      ],
    });
    const c = await socket();
    await login(c, s);
    const user = await archive(c, s, ArchiveCommand.EVENTS_USER, { from: midnight, to: midnight + 86_399 });
    const ev = user.payloads.flatMap(decodeEventRecords);
    assert.deepEqual(
      ev.map((e) => [e.time - midnight, e.entryId, e.code, e.tag, e.susyId, e.serial]),
      [
        [3600, 1, 101, 1001, s.susyId, s.serial],
        [9000, 2, 103, 1003, s.susyId, s.serial],
      ],
    );
    const inst = (
      await archive(c, s, ArchiveCommand.EVENTS_INSTALLER, { from: midnight, to: midnight + 86_399 })
    ).payloads.flatMap(decodeEventRecords);
    assert.deepEqual(
      inst.map((e) => [e.code, e.args]),
      [[102, [9, 8, 7, 6]]],
    );
    const none = await archive(c, s, ArchiveCommand.EVENTS_USER, { from: midnight - 86_400, to: midnight - 1 });
    assert.equal(none.headers[0].errorCode, ErrorCode.NOT_SUPPORTED);
  });
});

describe("devices that refuse or cannot be read", () => {
  it("refuseLoginsMs: every login is 0x0102 (right password or not), no session, no password echo; then logins work", async () => {
    const s = await sim({ refuseLoginsMs: 60_000, shortLoginAnswer: false });
    const c = await socket();
    const busy = await login(c, s);
    assert.equal(busy.header?.errorCode, ErrorCode.LOGIN_BUSY);
    assert.equal(busy.raw[0].length, 66, "no password echo");
    assert.equal((await ask(c, s, QUERIES.acPowerPhase)).headers[0].errorCode, ErrorCode.NOT_LOGGED_IN);
    assert.deepEqual([s.stats.busyLogins, s.stats.loginFailures], [1, 0]);
    s.refuseLogins(0);
    assert.equal((await login(c, s)).header?.errorCode, ErrorCode.OK);
    assert.equal((await ask(c, s, QUERIES.acPowerPhase)).headers[0].errorCode, ErrorCode.OK);
  });

  it("encrypted: answers discovery, but a plain login or query only gets a 0x6075 'request keys' back", async () => {
    const s = await sim({ encrypted: true });
    const c = await socket();
    const got = await exchange(c, buildLogin({ ...ids(), group: "user", password: "0000", time: 1700000000 }), s.port);
    assert.equal(got.length, 1);
    assert.equal(isKeyExchange(got[0]), true);
    assert.deepEqual(decodeKeyExchange(got[0]), {
      type: KeyExchangeType.REQUEST_KEYS,
      source: { susyId: s.susyId, serial: s.serial },
      destination: ME,
    });
    assert.equal(isKeyExchange((await exchange(c, buildQuery({ ...ids(), query: QUERIES.energy }), s.port))[0]), true);
    assert.deepEqual([s.stats.logins, s.stats.keyExchanges], [0, 2]);
    const disc = await exchange(c, buildDiscovery(), s.port);
    assert.equal(decodeDiscoveryAnswer(disc[0]).address, "127.0.0.1");
  });

  it("unknown: those queries are 0x0014 (an object it does not know), unsupported ones 0x0015", async () => {
    const s = await sim({ unknown: ["gridPower"], unsupported: ["temperature"] });
    const c = await socket();
    await login(c, s);
    assert.equal((await ask(c, s, QUERIES.gridPower)).headers[0].errorCode, ErrorCode.UNKNOWN_COMMAND);
    assert.equal((await ask(c, s, QUERIES.temperature)).headers[0].errorCode, ErrorCode.NOT_SUPPORTED);
  });
});
