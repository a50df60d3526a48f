/**
 * Inverters given by host name, as on home networks (a router's DHCP name such as sunnyboy.fritz.box): a small DNS
 * server on 127.0.0.1 in this process answers the A queries (dns.Resolver pointed at it), simulators on 127.0.0.x.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import * as dns from "node:dns";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HostNames, SpeedwireClient, SmaError, type InverterOptions, type InverterSession } from "../../src/client";
import { SimulatedInverter } from "../../src/simulator";

const clients: SpeedwireClient[] = [];
const closers: (() => Promise<void> | void)[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(closers.map((c) => c()));
});

interface Zone {
  addresses: string[];
  ttl?: number;
  /** Answer after this many ms (or never: Infinity). */
  delayMs?: number;
}

/** A DNS server answering A queries from `zones` (NXDOMAIN for any other name), counting queries and answers. */
class FakeDns {
  readonly zones = new Map<string, Zone>();
  readonly queries: string[] = [];
  answers = 0;
  private readonly sock = dgram.createSocket("udp4");

  async start(): Promise<string> {
    await new Promise<void>((r) => this.sock.bind(0, "127.0.0.1", () => r()));
    closers.push(() => new Promise<void>((r) => this.sock.close(() => r())));
    this.sock.on("message", (m, rinfo) => this.answer(m, rinfo));
    return `127.0.0.1:${this.sock.address().port}`;
  }

  private answer(m: Buffer, rinfo: dgram.RemoteInfo): void {
    // Header (12 bytes), then the question: labels up to a 0 byte, type, class.
    const labels: string[] = [];
    let i = 12;
    while (i < m.length && m[i] !== 0) {
      labels.push(m.toString("ascii", i + 1, i + 1 + m[i]));
      i += m[i] + 1;
    }
    const question = m.subarray(12, i + 5);
    const name = labels.join(".").toLowerCase();
    const type = m.readUInt16BE(i + 1);
    this.queries.push(name);
    const zone = this.zones.get(name);
    const records = zone && type === 1 ? zone.addresses : [];
    const head = Buffer.alloc(12);
    m.copy(head, 0, 0, 2);
    head.writeUInt16BE(zone ? 0x8180 : 0x8183, 2); // answer, recursion; rcode 3 = NXDOMAIN
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(records.length, 6);
    const rrs = records.map((a) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(zone?.ttl ?? 300, 6);
      rr.writeUInt16BE(4, 10);
      a.split(".").forEach((o, k) => rr.writeUInt8(Number(o), 12 + k));
      return rr;
    });
    const reply = Buffer.concat([head, question, ...rrs]);
    const send = (): void => {
      this.answers++;
      this.sock.send(reply, rinfo.port, rinfo.address);
    };
    const delay = zone?.delayMs ?? 0;
    if (delay === Infinity) return;
    if (delay > 0) setTimeout(send, delay).unref();
    else send();
  }
}

async function sim(address: string, port = 0): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address, port });
  closers.push(() => s.stop());
  await s.start();
  return s;
}

/** A UDP socket at address:port that takes every datagram and answers none (a dead address of the name). */
async function deadAddress(address: string, port: number): Promise<{ received: number }> {
  const sock = dgram.createSocket("udp4");
  const counter = { received: 0 };
  sock.on("message", () => counter.received++);
  await new Promise<void>((r) => sock.bind(port, address, () => r()));
  closers.push(() => new Promise<void>((r) => sock.close(() => r())));
  return counter;
}

const TIMEOUT = 100;
const RETRIES = 1;
const BUDGET = TIMEOUT * (RETRIES + 1);

function session(host: string, port: number, names: HostNames, o: Partial<InverterOptions> = {}): InverterSession {
  const c = new SpeedwireClient();
  clients.push(c);
  return c.inverter({ host, port, password: "0000", timeoutMs: TIMEOUT, retries: RETRIES, names, ...o });
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

describe("host names", () => {
  it("a name that moves to a new address (DHCP): the read that finds the old one silent looks it up again and reads there", async () => {
    const server = new FakeDns();
    const names = new HostNames({ servers: [await server.start()], refreshAfterSilenceMs: 0 });
    const a = await sim("127.0.0.2");
    const b = await sim("127.0.0.3", a.port);
    server.zones.set("sunnyboy.fritz.box", { addresses: ["127.0.0.2"], ttl: 3600 });
    const s = session("sunnyboy.fritz.box", a.port, names);
    const moves: [string, string][] = [];
    s.on("address", (address: string, previous: string) => moves.push([address, previous]));
    assert.ok((await s.read(["acPowerTotal"])).values.acPower !== undefined);
    assert.equal(s.address, "127.0.0.2");
    assert.equal(server.queries.length, 1, "one lookup, kept for its TTL");
    await s.read(["acPowerTotal"]);
    assert.equal(server.queries.length, 1);

    // The router gives the inverter a new address; the old one goes quiet.
    server.zones.set("sunnyboy.fritz.box", { addresses: ["127.0.0.3"], ttl: 3600 });
    a.setSleeping(true);
    const r = await s.read(["acPowerTotal"]);
    assert.equal(r.values.acPower !== undefined, true);
    assert.equal(s.address, "127.0.0.3", "msg.sma.address shows the new address");
    assert.equal(s.nameMoved, true, "the status shows it");
    assert.deepEqual(moves, [["127.0.0.3", "127.0.0.2"]]);
    assert.equal(server.queries.length, 2, "looked up again once, when the old address stopped answering");
    assert.equal(b.stats.logins, 1);
  });

  it("a name with two addresses whose first is dead: the second is tried in the same read and kept", async () => {
    const server = new FakeDns();
    const names = new HostNames({ servers: [await server.start()] });
    const live = await sim("127.0.0.5");
    const dead = await deadAddress("127.0.0.4", live.port);
    server.zones.set("inverter.home.arpa", { addresses: ["127.0.0.4", "127.0.0.5"] });
    const s = session("inverter.home.arpa", live.port, names);
    await s.read(["acPowerTotal"]);
    assert.equal(s.address, "127.0.0.5");
    const toDead = dead.received;
    assert.ok(toDead >= 1, "the first address was tried first");
    for (let i = 0; i < 3; i++) await s.read(["acPowerTotal"]);
    assert.equal(dead.received, toDead, "the address that answers is kept: nothing more to the dead one");
    assert.equal(live.stats.logins, 1);
  });

  it("slow DNS: the lookup counts against the read's deadline, one lookup per name however many reads wait, no thread-pool lookup", async () => {
    const server = new FakeDns();
    const names = new HostNames({ servers: [await server.start()], lookupTimeoutMs: 10 * BUDGET });
    // Two names whose DNS answer takes 10 read deadlines, two sessions each, 5 reads each.
    for (const name of ["slow1.fritz.box", "slow2.fritz.box"])
      server.zones.set(name, { addresses: ["127.0.0.6"], delayMs: 10 * BUDGET });
    const sessions = ["slow1.fritz.box", "slow1.fritz.box", "slow2.fritz.box", "slow2.fritz.box"].map((n) =>
      session(n, 9522, names),
    );
    const reads = sessions.flatMap((s) => [0, 1, 2, 3, 4].map(() => failure(s.read(["acPowerTotal"]))));
    const first = await Promise.race(reads);
    assert.equal(server.answers, 0, "the read ended before DNS answered (within its own deadline)");
    assert.equal(first.code, "ENOTFOUND");
    assert.equal(first.lookup, "timeout");
    // Meanwhile the process's own lookups (HTTP, MQTT, InfluxDB nodes) are not held up by ours.
    const local = await dns.promises.lookup("localhost", { family: 4 });
    assert.equal(local.address, "127.0.0.1");
    const errors = await Promise.all(reads);
    assert.ok(
      errors.every((e) => e.code === "ENOTFOUND" && e.lookup === "timeout"),
      errors.map((e) => e.message).join(),
    );
    assert.equal(names.stats.systemLookups, 0, "no dns.lookup (thread pool) for a name DNS did not answer");
    // c-ares tries twice at most per lookup; every read of both sessions shared the one lookup of its name.
    for (const name of ["slow1.fritz.box", "slow2.fritz.box"]) {
      const n = server.queries.filter((q) => q === name).length;
      assert.ok(n >= 1 && n <= 2, `${name}: ${n} queries for 10 reads`);
    }
  });

  it("DNS slow after a good answer: reads go on at the known address", async () => {
    const server = new FakeDns();
    // TTL 0 and no lower bound: every read looks the name up again.
    const names = new HostNames({ servers: [await server.start()], minTtlS: 0, lookupTimeoutMs: 10 * BUDGET });
    const s1 = await sim("127.0.0.7");
    server.zones.set("sb.fritz.box", { addresses: ["127.0.0.7"], ttl: 0 });
    const s = session("sb.fritz.box", s1.port, names);
    await s.read(["acPowerTotal"]);
    server.zones.set("sb.fritz.box", { addresses: ["127.0.0.7"], ttl: 0, delayMs: 10 * BUDGET });
    const answered = server.answers;
    for (let i = 0; i < 3; i++) assert.ok((await s.read(["acPowerTotal"])).values.acPower !== undefined);
    assert.equal(server.answers, answered, "three reads done before the slow DNS answered");
    assert.equal(s.address, "127.0.0.7");
  });

  it("a name not found: ENOTFOUND 'name not found', its own status; the failure is cached briefly, not asked on every poll", async () => {
    const server = new FakeDns();
    let systemLookups = 0;
    const names = new HostNames({
      servers: [await server.start()],
      lookup4: (host) => {
        systemLookups++;
        return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" }));
      },
    });
    const s = session("gone.fritz.box", 9522, names);
    const states: [string, SmaError | undefined][] = [];
    s.on("state", (state: string, err?: SmaError) => states.push([state, err]));
    const errors: SmaError[] = [];
    for (let i = 0; i < 5; i++) errors.push(await failure(s.read(["acPowerTotal"])));
    assert.ok(
      errors.every((e) => e.code === "ENOTFOUND" && e.lookup === "notFound"),
      errors.map((e) => `${e.code} ${e.lookup}`).join(),
    );
    assert.match(errors[0].message, /gone\.fritz\.box not found/);
    assert.deepEqual(
      errors.map((e) => e.quiet),
      [false, true, true, true, true],
      "logged once",
    );
    assert.equal(server.queries.filter((q) => q === "gone.fritz.box").length, 1);
    assert.equal(systemLookups, 1, "not in DNS: the system's lookup (/etc/hosts) was asked once too");
    assert.equal(states[states.length - 1][0], "error");
    assert.equal(states[states.length - 1][1]?.lookup, "notFound");
  });

  it("a name DNS does not know but the system does (localhost here): the system's lookup, once for several reads", async () => {
    const server = new FakeDns();
    const names = new HostNames({ servers: [await server.start()], hostsFile: null });
    const s1 = await sim("127.0.0.1");
    const s = session("localhost", s1.port, names);
    for (let i = 0; i < 3; i++) await s.read(["acPowerTotal"]);
    assert.equal(s.address, "127.0.0.1");
    assert.equal(names.stats.systemLookups, 1);
  });

  it("a name of the hosts file: read from it while DNS does not answer at all", async () => {
    const server = new FakeDns();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sma-hosts-")), "hosts");
    fs.writeFileSync(file, "# test\n127.0.0.1\tlocalhost\n127.0.0.8  pv-inverter pv-inverter.lan  # the roof\n");
    closers.push(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
    server.zones.set("pv-inverter.lan", { addresses: ["127.0.0.9"], delayMs: Infinity });
    const names = new HostNames({ servers: [await server.start()], hostsFile: file });
    const s1 = await sim("127.0.0.8");
    const s = session("PV-Inverter.lan", s1.port, names);
    await s.read(["acPowerTotal"]);
    assert.equal(s.address, "127.0.0.8");
    assert.deepEqual(server.queries, [], "no DNS query");
    assert.equal(names.stats.systemLookups, 0);
  });
});

describe("HostNames", () => {
  it("keeps an answer for its TTL within bounds, looks it up again after a silence only when the answer is old enough", async () => {
    let asked = 0;
    let ttl = 30;
    const names = new HostNames({
      resolve4: async () => (asked++, [{ address: "10.0.0.9", ttl }]),
      hostsFile: null,
      minTtlS: 10,
      maxTtlS: 300,
      refreshAfterSilenceMs: 30_000,
    });
    const t0 = Date.now();
    assert.deepEqual((await names.resolve("a.lan", 1000, t0)).addresses, ["10.0.0.9"]);
    await names.resolve("a.lan", 1000, t0 + 29_000);
    assert.equal(asked, 1, "within the TTL");
    await names.resolve("a.lan", 1000, t0 + 31_000);
    assert.equal(asked, 2, "after the TTL");
    assert.equal(
      names.stale("a.lan", Date.now() + 1000),
      false,
      "looked up a moment ago: the silence does not ask again",
    );
    assert.equal(names.stale("a.lan", Date.now() + 31_000), true);
    ttl = 0;
    await names.resolve("a.lan", 1000);
    const at = Date.now();
    await names.resolve("a.lan", 1000, at + 9_000);
    assert.equal(asked, 3, "TTL 0 is kept minTtlS (10 s)");
    await Promise.all([names.resolve("b.lan", 1000), names.resolve("b.lan", 1000), names.resolve("b.lan", 1000)]);
    assert.equal(asked, 4, "one lookup per name at a time");
  });
});
