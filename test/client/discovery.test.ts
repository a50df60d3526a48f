/**
 * Finding devices: discovery against several simulated inverters on loopback addresses (127.0.0.x, one
 * port), and sessions that find their inverter by serial when the host is empty or stops answering.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  SpeedwireClient,
  SmaError,
  discover,
  parseTargets,
  type DiscoveryTarget,
  type InverterOptions,
  type InverterState,
} from "../../src/client";
import { SimulatedInverter, type SimulatedInverterOptions } from "../../src/simulator";
import { SPEEDWIRE_PORT } from "../../src/protocol";

const sims: SimulatedInverter[] = [];
const clients: SpeedwireClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(sims.map((s) => s.stop()));
});

/** Simulated inverters on 127.0.0.<hosts[i]>, all on one port (as a plant's devices are all on 9522). */
async function plant(
  hosts: number[],
  opts: (i: number) => Partial<SimulatedInverterOptions>,
): Promise<{ port: number; sims: SimulatedInverter[] }> {
  for (let attempt = 0; ; attempt++) {
    const started: SimulatedInverter[] = [];
    let port = 0;
    try {
      for (const [i, h] of hosts.entries()) {
        const s = new SimulatedInverter({ timeVarying: false, ...opts(i), address: `127.0.0.${h}`, port });
        await s.start();
        started.push(s);
        port = s.port;
      }
      sims.push(...started);
      return { port, sims: started };
    } catch (e) {
      await Promise.all(started.map((s) => s.stop()));
      if (attempt >= 5) throw e;
    }
  }
}

const targets = (port: number, hosts: number[]): DiscoveryTarget[] =>
  hosts.map((h) => ({ address: `127.0.0.${h}`, port }));

function client(): SpeedwireClient {
  const c = new SpeedwireClient();
  clients.push(c);
  return c;
}

describe("discovery", () => {
  it("lists every device of a plant with its address, serial and SUSyID", async () => {
    const hosts = [11, 12, 13];
    const { port, sims: s } = await plant(hosts, (i) => ({ serial: 3000000101 + i, susyId: 120 + i }));
    const found = await discover({ targets: targets(port, hosts), devicePort: port, timeoutMs: 400 });
    const byAddress = [...found].sort((a, b) => a.address.localeCompare(b.address));
    assert.deepEqual(byAddress, [
      { address: "127.0.0.11", port, serial: 3000000101, susyId: 120 },
      { address: "127.0.0.12", port, serial: 3000000102, susyId: 121 },
      { address: "127.0.0.13", port, serial: 3000000103, susyId: 122 },
    ]);
    for (const sim of s) assert.equal(sim.stats.discovery, 1);
  });

  it("one device answering on two addresses counts once", async () => {
    const hosts = [21, 22, 23];
    const { port } = await plant(hosts, (i) => ({ serial: i < 2 ? 3000000201 : 3000000202 }));
    const found = await discover({ targets: targets(port, hosts), devicePort: port, timeoutMs: 400 });
    assert.equal(found.length, 2, JSON.stringify(found));
    assert.deepEqual(found.map((d) => d.serial).sort(), [3000000201, 3000000202]);
  });

  it("stops waiting once the wanted device is identified", async () => {
    const hosts = [26];
    const { port } = await plant(hosts, () => ({ serial: 3000000261 }));
    const t0 = Date.now();
    const found = await discover({
      targets: targets(port, hosts),
      devicePort: port,
      timeoutMs: 20_000,
      stopWhen: (d) => d.serial === 3000000261,
    });
    assert.equal(found[0]?.address, "127.0.0.26");
    assert.ok(Date.now() - t0 < 10_000, "ended by stopWhen, long before its 20 s timeout");
  });

  it("nothing answers: an empty list after the timeout, no error", async () => {
    assert.deepEqual(await discover({ targets: [{ address: "127.0.0.29", port: 9 }], timeoutMs: 200 }), []);
  });

  it("parses targets from settings and leaves out what is not an IPv4 address with an optional port", () => {
    assert.deepEqual(parseTargets(["192.168.1.255", "10.0.0.7:40000", "host.example", "1.2.3.400", "1.2.3.4:0", 7]), [
      { address: "192.168.1.255", port: SPEEDWIRE_PORT },
      { address: "10.0.0.7", port: 40000 },
    ]);
    assert.deepEqual(parseTargets("127.0.0.2:9522, 127.0.0.3 127.0.0.4:1"), [
      { address: "127.0.0.2", port: 9522 },
      { address: "127.0.0.3", port: 9522 },
      { address: "127.0.0.4", port: 1 },
    ]);
    assert.deepEqual(parseTargets(undefined), []);
    assert.deepEqual(parseTargets({ a: 1 }), []);
  });
});

describe("addressing an inverter by its serial", () => {
  const session = (port: number, hosts: number[], o: Partial<InverterOptions>) =>
    client().inverter({
      host: "",
      port,
      password: "0000",
      timeoutMs: 200,
      retries: 1,
      discovery: { targets: targets(port, hosts), devicePort: port, timeoutMs: 500 },
      ...o,
    });

  it("empty host: finds the serial among several devices, reads it, and says where it found it", async () => {
    const hosts = [31, 32, 33];
    const { port, sims: s } = await plant(hosts, (i) => ({ serial: 3000000301 + i, values: { acPower: 1000 + i } }));
    const inv = session(port, hosts, { serial: 3000000302 });
    const states: InverterState[] = [];
    const found: unknown[][] = [];
    inv.on("state", (st: InverterState) => states.push(st));
    inv.on("found", (...args: unknown[]) => found.push(args));
    const r = await inv.read(["acPowerTotal"]);
    assert.equal(r.values.acPower, 1001);
    assert.equal(r.device.serial, 3000000302);
    assert.equal(inv.foundAddress, "127.0.0.32");
    assert.deepEqual(found, [["127.0.0.32", undefined]]);
    assert.deepEqual(states.slice(0, 2), ["searching", "connecting"]);
    assert.deepEqual(
      s.map((x) => x.stats.logins),
      [0, 1, 0],
      "logged in at the found device only",
    );
    await inv.read(["acPowerTotal"]);
    assert.equal(s[1].stats.discovery, 1, "no second search while the device answers");
  });

  it("following on, the host stops answering (new DHCP address): the next read finds the serial at its new address", async () => {
    const {
      port,
      sims: [old],
    } = await plant([41], () => ({ serial: 3000000401, values: { acPower: 4100 } }));
    const inv = session(port, [41, 42], { host: "127.0.0.41", serial: 3000000401, follow: true });
    assert.equal((await inv.read(["acPowerTotal"])).values.acPower, 4100);
    assert.equal(inv.foundAddress, undefined);
    await old.stop();
    const moved = new SimulatedInverter({
      address: "127.0.0.42",
      port,
      serial: 3000000401,
      timeVarying: false,
      values: { acPower: 4200 },
    });
    sims.push(moved);
    await moved.start();
    const found: unknown[][] = [];
    inv.on("found", (...args: unknown[]) => found.push(args));
    const r = await inv.read(["acPowerTotal"]);
    assert.equal(r.values.acPower, 4200);
    assert.equal(inv.foundAddress, "127.0.0.42");
    assert.deepEqual(found, [["127.0.0.42", "127.0.0.41"]]);
    assert.equal(moved.stats.logins, 1, "logged in again at the new address");
    assert.equal(inv.state, "ok");
  });

  it("another device at the configured host is not taken for the serial: following on, the serial is found elsewhere", async () => {
    const hosts = [51, 52];
    const { port, sims: s } = await plant(hosts, (i) => ({ serial: 3000000501 + i, values: { acPower: 5100 + i } }));
    const inv = session(port, hosts, { host: "127.0.0.51", serial: 3000000502, follow: true });
    const r = await inv.read(["acPowerTotal"]);
    assert.equal(r.values.acPower, 5101);
    assert.equal(r.device.serial, 3000000502);
    assert.equal(inv.foundAddress, "127.0.0.52");
    assert.equal(s[1].stats.logins, 1);
  });

  it("another device at the configured host, following off: EOTHERDEVICE naming its serial, no search, no login anywhere else", async () => {
    const hosts = [53, 54];
    const { port, sims: s } = await plant(hosts, (i) => ({ serial: 3000000531 + i }));
    const inv = session(port, hosts, { host: "127.0.0.53", serial: 3000000532 });
    await assert.rejects(
      inv.read(["acPowerTotal"]),
      (e: unknown) =>
        e instanceof SmaError &&
        e.code === "EOTHERDEVICE" &&
        e.foundSerial === 3000000531 &&
        /device at 127\.0\.0\.53 is SN 3000000531, not 3000000532/.test(e.message),
    );
    assert.equal(
      s[1].stats.discovery + s[1].stats.identify + s[1].stats.logins,
      0,
      "the device with the serial heard nothing",
    );
    assert.equal(inv.foundAddress, undefined);
  });

  it("a serial nobody has: ENOTFOUND, then fast quiet failures until the search back-off ends", async () => {
    const hosts = [61];
    const {
      port,
      sims: [s],
    } = await plant(hosts, () => ({ serial: 3000000601 }));
    const inv = session(port, hosts, { serial: 3000000699, discoveryBackoffMs: 60_000 });
    const first = await inv.read(["acPowerTotal"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(first instanceof SmaError);
    assert.equal(first.code, "ENOTFOUND");
    assert.equal(first.quiet, false);
    assert.match(first.message, /3000000699/);
    const second = await inv.read(["acPowerTotal"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(second instanceof SmaError);
    assert.equal(second.code, "ENOTFOUND");
    assert.equal(second.quiet, true, "the repeat is not logged again");
    assert.equal(s.stats.discovery, 1, "one search per back-off window");
    assert.equal(s.stats.logins, 0);
  });

  it("following on, the inverter asleep for the night: reads time out, at most one search per back-off window", async () => {
    const hosts = [71];
    const {
      port,
      sims: [s],
    } = await plant(hosts, () => ({ serial: 3000000701 }));
    // silentAfterMs 0: asleep by the count of unanswered attempts alone (the default also wants a minute of silence).
    const inv = session(port, hosts, {
      host: "127.0.0.71",
      serial: 3000000701,
      discoveryBackoffMs: 60_000,
      silentAfterMs: 0,
      follow: true,
    });
    await inv.read(["acPowerTotal"]);
    // Each search sends from a socket of its own: distinct senders other than the session's are searches.
    const senders = new Set<string>();
    s.on("request", (r: { kind: string; from: string }) => {
      if (r.kind === "asleep") senders.add(r.from);
    });
    s.setSleeping(true);
    for (let i = 0; i < 5; i++) {
      const e = await inv.read(["acPowerTotal"]).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(e instanceof SmaError && e.code === "ETIMEDOUT", String(e));
    }
    assert.equal(inv.state, "asleep");
    assert.equal(senders.size, 2, `the session's socket and one search: ${[...senders].join(", ")}`);
    s.setSleeping(false);
    const r = await inv.read(["acPowerTotal"]);
    assert.equal(r.device.serial, 3000000701);
    assert.equal(inv.foundAddress, undefined, "same address: nothing was relocated");
  });

  it("neither host nor serial: EINVAL without touching the network", async () => {
    const inv = client().inverter({ host: "", password: "0000" });
    await assert.rejects(inv.read(["acPowerTotal"]), (e: unknown) => e instanceof SmaError && e.code === "EINVAL");
  });
});

describe("an impostor claiming the inverter's serial", () => {
  const SERIAL = 3000000801;
  const session = (port: number, hosts: number[], o: Partial<InverterOptions>) =>
    client().inverter({
      host: "127.0.0.81",
      port,
      serial: SERIAL,
      password: "0000",
      timeoutMs: 200,
      retries: 0,
      discovery: { targets: targets(port, hosts), devicePort: port, timeoutMs: 400 },
      discoveryBackoffMs: 50,
      ...o,
    });
  /** The real inverter on 127.0.0.<real>, the impostor (same serial, its own values) on 127.0.0.<evil>. */
  async function pair(real: number, evil: number) {
    const {
      port,
      sims: [r, e],
    } = await plant([real, evil], (i) => ({ serial: SERIAL, values: { acPower: i === 0 ? 1000 : 6666 } }));
    return { port, real: r, evil: e, hosts: [real, evil] };
  }
  const fails = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => assert.fail("read succeeded"),
      (e: unknown) => e,
    );

  it("following off (the default): the real inverter asleep, no login datagram ever reaches the impostor", async () => {
    const { port, real, evil, hosts } = await pair(81, 82);
    const inv = session(port, hosts, {});
    assert.equal((await inv.read(["acPowerTotal"])).values.acPower, 1000);
    real.setSleeping(true);
    for (let i = 0; i < 3; i++) {
      const e = await fails(inv.read(["acPowerTotal"]));
      assert.ok(e instanceof SmaError && e.code === "ETIMEDOUT", String(e));
      await new Promise((r) => setTimeout(r, 60));
    }
    assert.equal(evil.stats.logins, 0, "no login at the impostor");
    assert.equal(evil.stats.discovery, 0, "not even a search");
    real.setSleeping(false);
    assert.equal((await inv.read(["acPowerTotal"])).values.acPower, 1000);
    assert.equal(evil.stats.logins, 0);
  });

  it("following on: moves to the one claimant while the inverter sleeps, and back to the host once it answers again", async () => {
    const { port, real, evil, hosts } = await pair(83, 84);
    const inv = session(port, hosts, { host: "127.0.0.83", follow: true });
    const found: unknown[][] = [];
    inv.on("found", (...a: unknown[]) => found.push(a));
    await inv.read(["acPowerTotal"]);
    real.setSleeping(true);
    assert.equal((await inv.read(["acPowerTotal"])).values.acPower, 6666, "the user opted in: the impostor is read");
    assert.equal(inv.foundAddress, "127.0.0.84");
    assert.equal(evil.stats.logins, 1);
    real.setSleeping(false);
    // The look for the host runs in the background; a later read goes back to it.
    let back = 0;
    for (let i = 0; i < 50 && back !== 1000; i++) {
      back = (await inv.read(["acPowerTotal"])).values.acPower as number;
      await new Promise((r) => setTimeout(r, 60));
    }
    assert.equal(back, 1000, "back at the configured host");
    assert.equal(inv.foundAddress, undefined);
    assert.deepEqual(found, [
      ["127.0.0.84", "127.0.0.83"],
      ["127.0.0.83", "127.0.0.84"],
    ]);
    assert.equal(real.stats.logins, 2, "logged in again at the host");
  });

  it("following on, the host gone and two addresses claim the serial: EAMBIGUOUS, no login at either", async () => {
    const { port, real, evil } = await pair(85, 86);
    const other = new SimulatedInverter({ address: "127.0.0.87", port, serial: SERIAL, timeVarying: false });
    sims.push(other);
    await other.start();
    const inv = session(port, [85, 86, 87], { host: "127.0.0.85", follow: true });
    await inv.read(["acPowerTotal"]);
    real.setSleeping(true);
    const e = await fails(inv.read(["acPowerTotal"]));
    assert.ok(e instanceof SmaError && e.code === "EAMBIGUOUS", String(e));
    assert.match(e.message, /127\.0\.0\.86/);
    assert.equal(inv.state, "error");
    assert.equal(evil.stats.logins + other.stats.logins, 0);
  });

  it("serial only (empty host) and two addresses claim it: EAMBIGUOUS, no login at either", async () => {
    const { port, real, evil, hosts } = await pair(88, 89);
    const inv = session(port, hosts, { host: "" });
    const e = await fails(inv.read(["acPowerTotal"]));
    assert.ok(e instanceof SmaError && e.code === "EAMBIGUOUS", String(e));
    assert.equal(real.stats.logins + evil.stats.logins, 0);
    const again = await fails(inv.read(["acPowerTotal"]));
    assert.ok(
      again instanceof SmaError && again.code === "EAMBIGUOUS" && again.quiet,
      "repeated quietly within the back-off",
    );
  });
});
