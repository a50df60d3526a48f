/**
 * Attacks on what a hostile LAN host, a hostile or broken DNS server, or a user with odd devices can do to a session,
 * each written as it was tried: the password must go to one device only, and datagrams of other devices or programs
 * must not change what a session reports about its own device.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HostNames, SpeedwireClient, SmaError, type InverterOptions, type InverterSession } from "../../src/client";
import { isHost, hostRule } from "../../src/client/settings-rules";
import { keyExchangeSince, noteKeyExchange } from "../../src/client/key-exchanges";
import { MAX_ZONE_FORMATTERS, localMidnight, zoneFormatterCount } from "../../src/protocol/archive-days";
import { buildDataAnswer, buildKeyExchange, buildLoginAnswer, buildRecord } from "../../src/simulator/answer-builders";
import { Command, VALUES, decodeInverterDatagram, type Net2Header } from "../../src/protocol";
import { SimulatedInverter, type SimulatedInverterOptions } from "../../src/simulator";
import { watchLag } from "../harness/lag";

const closers: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function sim(o: SimulatedInverterOptions = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, ...o });
  closers.push(() => s.stop());
  await s.start();
  return s;
}

function client(): SpeedwireClient {
  const c = new SpeedwireClient();
  closers.push(() => c.close());
  return c;
}

function inverter(c: SpeedwireClient, o: Partial<InverterOptions> & { host: string; port: number }): InverterSession {
  return c.inverter({ password: "0000", timeoutMs: 100, retries: 1, ...o });
}

async function failure(p: Promise<unknown>): Promise<SmaError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SmaError, String(e));
    return e;
  }
  assert.fail("the read succeeded");
}

/** A device on 127.0.0.1 that accepts any login, ignores logoff and answers every other request with answer(). */
async function fakeDevice(
  device: { susyId: number; serial: number },
  answer: (h: Net2Header, reply: (b: Buffer) => void) => void,
): Promise<dgram.Socket> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  closers.push(() => new Promise<void>((r) => sock.close(() => r())));
  sock.on("message", (m, rinfo) => {
    const { header: h } = decodeInverterDatagram(m);
    const reply = (b: Buffer): void => void sock.send(b, rinfo.port, rinfo.address);
    if (h.command === Command.LOGIN) {
      return reply(
        buildLoginAnswer({
          source: device,
          destination: h.source,
          packetId: h.packetId,
          errorCode: 0,
          group: h.first,
          timeoutS: h.last,
          time: 0,
        }),
      );
    }
    if (h.command !== Command.LOGOFF) answer(h, reply);
  });
  return sock;
}

describe("host names that give no address of one device", () => {
  it("a name resolving to 0.0.0.0 (hostile DNS, an ad-block hosts file): no login goes to a local program; ENOTFOUND", async () => {
    // 0.0.0.0 as a destination is this host: a program listening on the port (here the simulator on 127.0.0.1) got
    // the login with the password before (the read then timed out: the answer comes from 127.0.0.1).
    const s = await sim();
    const names = new HostNames({
      hostsFile: null,
      resolve4: () => Promise.resolve([{ address: "0.0.0.0", ttl: 60 }]),
      lookup4: () => Promise.resolve([]),
    });
    const err = await failure(
      inverter(client(), { host: "sunnyboy.fritz.box", port: s.port, names }).read(["acPowerTotal"]),
    );
    assert.equal(s.stats.received, 0, "nothing reached the program on this host");
    assert.equal(s.stats.logins, 0);
    assert.equal(err.code, "ENOTFOUND");
    assert.equal(err.lookup, "notFound");
    assert.match(err.message, /0\.0\.0\.0: no address of one device/);
  });

  it("multicast, broadcast and reserved addresses are dropped from DNS, system and hosts-file answers (no datagram sent)", async () => {
    const bad = ["239.12.255.254", "224.0.0.1", "255.255.255.255", "240.0.0.1", "0.1.2.3"];
    const dnsNames = new HostNames({
      hostsFile: null,
      resolve4: () => Promise.resolve(bad.map((address) => ({ address }))),
      lookup4: () => Promise.resolve([]),
    });
    const e1 = await failure(dnsNames.resolve("a.example", 1000));
    assert.equal(e1.code, "ENOTFOUND");
    const mixed = new HostNames({
      hostsFile: null,
      resolve4: () => Promise.resolve([...bad, "127.0.0.2"].map((address) => ({ address }))),
    });
    assert.deepEqual(
      (await mixed.resolve("b.example", 1000)).addresses,
      ["127.0.0.2"],
      "the one device address is kept",
    );
    const system = new HostNames({
      hostsFile: null,
      resolve4: () => Promise.reject(Object.assign(new Error("x"), { code: "ENOTFOUND" })),
      lookup4: () => Promise.resolve(bad),
    });
    assert.equal((await failure(system.resolve("c.example", 1000))).code, "ENOTFOUND");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sma-hosts-"));
    closers.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "hosts");
    fs.writeFileSync(file, "0.0.0.0 sunnyboy\n239.12.255.254 group-box\n127.0.0.3 group-box\n");
    const hosts = new HostNames({ hostsFile: file, resolve4: () => Promise.resolve([{ address: "127.0.0.9" }]) });
    const e2 = await failure(hosts.resolve("sunnyboy", 1000));
    assert.match(e2.message, /0\.0\.0\.0: no address of one device/);
    assert.deepEqual((await hosts.resolve("group-box", 1000)).addresses, ["127.0.0.3"]);
  });

  it("an inverter host typed as a multicast, broadcast or 0.x address is refused by the settings (and the dialog)", () => {
    for (const h of ["239.12.255.254", "224.0.0.1", "255.255.255.255", "240.1.2.3", "0.0.0.0"]) {
      assert.equal(isHost(h), false, h);
      assert.equal(hostRule(h).ok, false, h);
    }
    for (const h of ["127.0.0.1", "192.168.1.20", "10.0.0.255", "223.1.1.1"]) assert.equal(isHost(h), true, h);
  });
});

describe("key exchanges (0x6075) from another device or program", () => {
  it("an encrypted device on another port of the same address does not make a sleeping inverter EENCRYPTED", async () => {
    // Two devices behind one address (a router's port forwards, or two programs on one host): B speaks encrypted
    // Speedwire, A is asleep. A's timeout was reported as EENCRYPTED (key exchanges were kept by address only).
    const a = await sim({ sleeping: true });
    const b = await sim({ encrypted: true });
    const c = client();
    const sleeping = inverter(c, { host: "127.0.0.1", port: a.port });
    const encrypted = inverter(c, { host: "127.0.0.1", port: b.port });
    assert.equal((await failure(encrypted.read(["acPowerTotal"]))).code, "EENCRYPTED");
    assert.equal((await failure(sleeping.read(["acPowerTotal"]))).code, "ETIMEDOUT");
  });

  it("a forged key exchange from another port of the inverter's address (a LAN host's program) changes nothing", async () => {
    const a = await sim({ sleeping: true });
    const c = client();
    const inv = inverter(c, { host: "127.0.0.1", port: a.port });
    await failure(inv.read(["acPowerTotal"]));
    const forger = dgram.createSocket("udp4");
    await new Promise<void>((r) => forger.bind(0, "127.0.0.1", () => r()));
    closers.push(() => new Promise<void>((r) => forger.close(() => r())));
    const exchange = buildKeyExchange({
      type: 1,
      source: { susyId: 342, serial: 1992064811 },
      destination: { susyId: 0xffff, serial: 0xffffffff },
    });
    const port = c.transport.port as number;
    await new Promise<void>((r) => forger.send(exchange, port, "127.0.0.1", () => r()));
    for (let i = 0; i < 500 && c.transport.stats.keyExchanges === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.transport.stats.keyExchanges, 1);
    assert.equal((await failure(inv.read(["acPowerTotal"]))).code, "ETIMEDOUT");
  });
});

describe("batteries numbered by position", () => {
  it("a query named twice in one read does not make phantom batteries 4-6 (copies of 1-3) nor a second request", async () => {
    const s = await sim({ profile: "battery" });
    const inv = inverter(client(), { host: "127.0.0.1", port: s.port, timeoutMs: 300 });
    const once = await inv.read(["batteryInfo", "batteryPackSoc"]);
    const asked = s.stats.queries.batteryInfo;
    const twice = await inv.read(["batteryInfo", "batteryPackSoc", "batteryInfo"]);
    const names = (r: typeof once): string[] =>
      Object.keys(r.values)
        .filter((k) => /^battery/.test(k))
        .sort();
    assert.deepEqual(names(twice), names(once));
    assert.ok(!("batteryTemperature4" in twice.values));
    assert.equal(s.stats.queries.batteryInfo, asked + 1, "one request for the name given twice");
  });

  it("a device that adds another query's battery records to an answer: still batteries 1-3, not 4-6", async () => {
    // Asked for the per-battery SoC, it sends the three temperature records (of the batteryInfo query) along.
    const temp = VALUES.find((v) => v.name === "batteryTemperature");
    const soc = VALUES.find((v) => v.name === "batteryPackSoc");
    assert.ok(temp && soc);
    const device = { susyId: 0x1234, serial: 3999000001 };
    const sock = await fakeDevice(device, (h, reply) => {
      const temps = [1, 2, 3].map((n) => buildRecord(temp, 7, 200 + n, 1700000000));
      const records =
        h.first === 0x00498f00 ? [...[1, 2, 3].map((n) => buildRecord(soc, 7, 50 + n, 1700000000)), ...temps] : temps;
      reply(
        buildDataAnswer({
          source: device,
          destination: h.source,
          packetId: h.packetId,
          command: h.command,
          firstIndex: 0,
          records,
        }),
      );
    });
    const r = await inverter(client(), { host: "127.0.0.1", port: sock.address().port, timeoutMs: 300 }).read([
      "batteryInfo",
      "batteryPackSoc",
    ]);
    assert.deepEqual(
      Object.keys(r.values)
        .filter((k) => /^battery/.test(k))
        .sort(),
      [
        "batteryPackSoc1",
        "batteryPackSoc2",
        "batteryPackSoc3",
        "batteryTemperature1",
        "batteryTemperature2",
        "batteryTemperature3",
      ],
    );
    assert.deepEqual(
      [r.values.batteryTemperature1, r.values.batteryTemperature3, r.values.batteryPackSoc2],
      [201, 203, 52],
    );
  });
});

describe("batteries over fragments (held: numbering follows the fragment counter, a repeat replaces itself)", () => {
  it("three datagrams sent last-first with one repeated: batteries 1-3 with their own values, no 4", async () => {
    const def = (name: string): (typeof VALUES)[number] =>
      VALUES.find((v) => v.name === name) as (typeof VALUES)[number];
    const device = { susyId: 0x1234, serial: 3999000002 };
    const sock = await fakeDevice(device, (h, reply) => {
      const part = (name: string, fragment: number, base: number): Buffer =>
        buildDataAnswer({
          source: device,
          destination: h.source,
          packetId: h.packetId,
          command: h.command,
          firstIndex: 3 * (2 - fragment),
          fragment,
          packetIdFlag: fragment === 2,
          records: [1, 2, 3].map((n) => buildRecord(def(name), 7, base + n, 1700000000)),
        });
      const first = part("batteryTemperature", 2, 20);
      const middle = part("batteryVoltage", 1, 50);
      for (const d of [part("batteryCurrent", 0, 1), middle, middle, first, middle]) reply(d);
    });
    const r = await inverter(client(), { host: "127.0.0.1", port: sock.address().port, timeoutMs: 300 }).read([
      "batteryInfo",
    ]);
    assert.deepEqual(Object.keys(r.values).sort(), [
      "batteryCurrent1",
      "batteryCurrent2",
      "batteryCurrent3",
      "batteryTemperature1",
      "batteryTemperature2",
      "batteryTemperature3",
      "batteryVoltage1",
      "batteryVoltage2",
      "batteryVoltage3",
    ]);
    assert.deepEqual([r.values.batteryTemperature1, r.values.batteryVoltage2, r.values.batteryCurrent3], [21, 52, 4]);
  });
});

describe("the key exchanges remembered", () => {
  it("one host sending key exchanges from 100 ports does not make the process forget another address's", () => {
    const exchange = buildKeyExchange({
      type: 1,
      source: { susyId: 342, serial: 1992064811 },
      destination: { susyId: 0xffff, serial: 0xffffffff },
    });
    const at = Date.now();
    assert.ok(noteKeyExchange(exchange, "127.0.0.77", 9522, at));
    for (let port = 20000; port < 20100; port++) noteKeyExchange(exchange, "127.0.0.78", port, at);
    assert.equal(keyExchangeSince("127.0.0.77", 9522, at), true, "the encrypted device is still known");
    assert.equal(keyExchangeSince("127.0.0.77", 9523, at), false);
    assert.equal(keyExchangeSince("127.0.0.78", 20099, at), true);
    assert.equal(keyExchangeSince("127.0.0.78", 20000, at), false, "its own oldest ports are forgotten");
  });
});

describe("archive time zones", () => {
  it("a time zone given in thousands of spellings (Intl ignores case) keeps at most MAX_ZONE_FORMATTERS formatters", () => {
    const base = "europe/berlin";
    const want = localMidnight(1_700_000_000, "Europe/Berlin");
    for (let mask = 0; mask < 1024; mask++) {
      let k = 0;
      const name = [...base].map((ch) => (/[a-z]/.test(ch) && (mask >> k++) & 1 ? ch.toUpperCase() : ch)).join("");
      assert.equal(localMidnight(1_700_000_000, name), want);
      assert.ok(zoneFormatterCount() <= MAX_ZONE_FORMATTERS);
    }
  });
});

describe("logins refused as busy (0x0102)", () => {
  it("a device that refuses logins, then falls silent: the read still ends by its deadline (timeout x (retries + 1))", async () => {
    const timeoutMs = 400;
    const retries = 1;
    const busyMs = 100;
    const budget = timeoutMs * (retries + 1);
    const s = await sim({ refuseLoginsMs: 60_000 });
    // Silent from the 7th refused login on (about 600 ms in): the next login was given a whole budget of its own.
    s.on(
      "request",
      (e: { kind: string }) => void (e.kind === "login" && s.stats.busyLogins >= 7 && s.setSleeping(true)),
    );
    const inv = inverter(client(), { host: "127.0.0.1", port: s.port, timeoutMs, retries, loginBusyRetryMs: busyMs });
    const lag = watchLag();
    const started = Date.now();
    const err = await failure(inv.read(["acPowerTotal"]));
    const elapsed = Date.now() - started;
    // Each login, pause and resend is a timer: as many as the refused logins and their pauses, plus the last wait.
    const bound = budget + lag.margin(2 * s.stats.busyLogins + 4);
    lag.stop();
    assert.ok(["ETIMEDOUT", "EREFUSED"].includes(err.code), String(err));
    assert.ok(elapsed <= bound, `${elapsed} ms for a read of ${budget} ms (bound ${Math.round(bound)})`);
  });
});
