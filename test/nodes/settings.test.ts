/**
 * Wrong settings are never silently reinterpreted: EINVAL with a status naming the field (and nothing sent to
 * the network), or a number clamped into its documented range with a warning. sma-read reads value-table names only.
 */
import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { helper, load, nextMessage, type TestNode } from "../harness/red-helper";
import { until } from "../harness/runtimes";
import { SimulatedInverter } from "../../src/simulator";
import { SpeedwireClient, rules } from "../../src/client";
import inverterNode = require("../../nodes/sma-inverter/sma-inverter");
import queryNodes = require("../../nodes/sma-query/sma-query");
import readNode = require("../../nodes/sma-read/sma-read");
import meterNode = require("../../nodes/sma-energy-meter/sma-energy-meter");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require("@node-red/nodes/core/common/25-catch.js");

const NODES = [inverterNode, queryNodes, readNode, meterNode, catchNode];
const sims: SimulatedInverter[] = [];
afterEach(() => helper.unload());
after(() => Promise.all(sims.map((s) => s.stop())));

async function sim(): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, timeVarying: false });
  sims.push(s);
  await s.start();
  return s;
}

const calls = (n: TestNode, method: string): unknown[][] => {
  const out: unknown[][] = [];
  (n as unknown as NodeJS.EventEmitter).on(`call:${method}`, (c: { args: unknown[] }) => out.push(c.args));
  return out;
};

/** Deploys an inverter with `inv` over sane settings and a spot-ac node; one read; what came out. */
async function readWith(inv: Record<string, unknown>, s: SimulatedInverter) {
  await load(
    NODES,
    [
      {
        id: "inv",
        type: "sma-inverter",
        host: "127.0.0.1",
        port: String(s.port),
        serial: "",
        group: "user",
        timeout: "200",
        retries: "0",
        ...inv,
      },
      { id: "q", type: "sma-spot-ac", inverter: "inv", topic: "", wires: [["out"]] },
      { id: "out", type: "helper" },
      { id: "c", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper" },
    ],
    { inv: { password: "0000" } },
  );
  const q = helper.getNode("q");
  const statuses = calls(q, "status");
  const caught = nextMessage(helper.getNode("caught"));
  q.receive({ payload: "go" });
  return { err: (await caught).error as { code?: string; message?: string }, statuses };
}

describe("sma-inverter settings", () => {
  const bad: [string, Record<string, unknown>, string][] = [
    ["serial 0", { serial: "0" }, "serial"],
    ["serial 2^32", { serial: "4294967296" }, "serial"],
    ["serial with letters", { serial: "30001x" }, "serial"],
    ["a host that is an object", { host: { a: 1 } }, "host"],
    ["a host with a space", { host: "my inverter" }, "host"],
    ["port 70000", { port: "70000" }, "port"],
    ["an unknown user group", { group: "admin" }, "group"],
    ["timeout not a number", { timeout: "fast" }, "timeout"],
  ];
  for (const [what, inv, field] of bad) {
    it(`${what}: EINVAL at the Catch node, status "bad ${field}", nothing sent`, async () => {
      const s = await sim();
      const { err, statuses } = await readWith(inv, s);
      assert.equal(err.code, "EINVAL");
      assert.match(String(err.message), new RegExp(`^(SmaError: )?${field}:`));
      // The test helper has no message catalogue: a status text is its key.
      assert.ok(
        statuses.some(([st]) => (st as { text?: string }).text?.endsWith(`status.bad.${field}`)),
        JSON.stringify(statuses),
      );
      assert.equal(s.stats.received, 0, "nothing reached the network");
    });
  }

  it("retries 12 and timeout 50 are clamped to 10 and 200, with a warning each", async () => {
    const s = await sim();
    await load(
      NODES,
      [
        {
          id: "inv",
          type: "sma-inverter",
          host: "127.0.0.1",
          port: String(s.port),
          serial: "",
          group: "user",
          timeout: "50",
          retries: "12",
        },
      ],
      { inv: { password: "0000" } },
    );
    const session = (
      helper.getNode("inv") as unknown as { session: { options: { retries: number; timeoutMs: number } } }
    ).session;
    assert.equal(session.options.retries, 10);
    assert.equal(session.options.timeoutMs, 200);
  });

  it("the client refuses a host that is not text without a DNS lookup", async () => {
    const c = new SpeedwireClient();
    const inv = c.inverter({ host: { toString: () => "example.invalid" } as unknown as string, password: "0000" });
    await assert.rejects(
      inv.read(["acPowerTotal"]),
      (e: { code?: string; field?: string }) => e.code === "EINVAL" && e.field === "host",
    );
    await c.close();
  });
});

describe("sma-read values", () => {
  it("__proto__, constructor and toString are not read: only value-table names reach msg.payload", async () => {
    const s = await sim();
    await load(
      NODES,
      [
        {
          id: "inv",
          type: "sma-inverter",
          host: "127.0.0.1",
          port: String(s.port),
          serial: "",
          group: "user",
          timeout: "300",
          retries: "1",
        },
        {
          id: "q",
          type: "sma-read",
          inverter: "inv",
          topic: "",
          values: ["__proto__", "constructor", "toString", "acPower", "hasOwnProperty"],
          wires: [["out"]],
        },
        { id: "out", type: "helper" },
      ],
      { inv: { password: "0000" } },
    );
    const got = nextMessage(helper.getNode("out"));
    helper.getNode("q").receive({ payload: "go" });
    const p = (await got).payload as Record<string, unknown>;
    assert.deepEqual(Object.keys(p), ["acPower"]);
    assert.equal(typeof p.acPower, "number");
    assert.ok(Object.values(p).every((v) => typeof v !== "function"));
  });
});

describe("sma-energy-meter settings", () => {
  it("a watchdog of 0.001 s is clamped to 1 s (warned): the status changes at most about once a second", async () => {
    const port = await new Promise<number>((r) => {
      const x = dgram.createSocket("udp4");
      x.bind(0, "127.0.0.1", () => {
        const p = x.address().port;
        x.close(() => r(p));
      });
    });
    await load(NODES, [
      {
        id: "m",
        type: "sma-energy-meter",
        group: "127.0.0.1",
        port: String(port),
        iface: "",
        serial: "",
        throttle: "0",
        onlyChanges: false,
        watchdog: "0.001",
        wires: [[]],
      },
    ]);
    const m = helper.getNode("m");
    const statuses = calls(m, "status");
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(statuses.length <= 4, `${statuses.length} status updates in 2.5 s`);
    await until("a no-data status", () => (statuses.length > 0 ? true : undefined), 3000);
  });

  it("a meter serial filter of 0 or a non-IPv4 interface: the node does not listen and says which setting", async () => {
    const cases: [Record<string, string>, string][] = [
      [{ serial: "0" }, "serial"],
      [{ iface: "eth0" }, "iface"],
      [{ throttle: "soon" }, "throttle"],
    ];
    for (const [extra, field] of cases) {
      const base = {
        id: "m",
        type: "sma-energy-meter",
        group: "127.0.0.1",
        port: "19522",
        iface: "",
        serial: "",
        throttle: "5",
        onlyChanges: false,
        watchdog: "10",
        wires: [[]],
      };
      await load(NODES, [Object.assign(base, extra)]);
      const m = helper.getNode("m") as unknown as { status: { args: unknown[] }[] } & TestNode;
      const s = (m.status as unknown as { lastCall?: { args: { text?: string }[] } }).lastCall?.args[0];
      assert.match(String(s?.text), new RegExp(`status\\.bad\\.${field}$`));
      await helper.unload();
    }
  });
});

describe("settings-rules", () => {
  it("accepts what the editor saves and refuses or clamps the rest", () => {
    const serial = (v: unknown) => rules.wholeNumberRule(v, "serial", rules.INVERTER_SERIAL);
    assert.deepEqual(serial(""), { ok: true, value: undefined });
    assert.deepEqual(serial("3000000001"), { ok: true, value: 3000000001 });
    assert.equal(serial(0xffffffff).ok, false);
    assert.equal(serial({}).ok, false);
    assert.equal(rules.hostRule("192.168.1.300").ok, false);
    assert.equal(rules.hostRule({ a: 1 }).ok, false);
    assert.deepEqual(rules.hostRule(" sma.local "), { ok: true, value: "sma.local" });
    assert.deepEqual(rules.clampedRule("12", "retries", rules.RETRIES, { integer: true }), {
      ok: true,
      value: 10,
      clamped: { from: 12, to: 10 },
    });
    assert.deepEqual(rules.clampedRule("0", "watchdog", rules.WATCHDOG_S, { zeroIsOff: true }), { ok: true, value: 0 });
    assert.deepEqual(rules.clampedRule("0.01", "throttle", rules.THROTTLE_S, { zeroIsOff: true }), {
      ok: true,
      value: 0.1,
      clamped: { from: 0.01, to: 0.1 },
    });
    assert.deepEqual(rules.valueNames(["acPower", "__proto__"], new Set(["acPower"])).ok, false);
    const r = rules.inverterSettings({ host: "", serial: "" });
    assert.deepEqual(r.ok ? undefined : r.field, "host");
  });
});
