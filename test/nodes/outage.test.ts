/**
 * A reading node's "outage" setting, against a simulated inverter that does not answer: every input message ends,
 * and how it ends is the setting's: "status" (the default, and flows saved without the field) says the first failure
 * to Catch and ends the later ones quietly (done(): Complete nodes see them); "error" says every one to Catch;
 * "null" sends every one on with null values and msg.sma.state / msg.sma.error. An HTTP-in flow gets an answer to
 * every request in the "error" and "null" modes.
 */
import { after, afterEach, describe, it } from "node:test";
import request = require("supertest");
import type { NodeAPI } from "node-red";
import assert from "node:assert/strict";
import { helper, load, type TestNode } from "../harness/red-helper";
import { SimulatedInverter, type SimulatedInverterOptions } from "../../src/simulator";
import inverterNode = require("../../nodes/sma-inverter/sma-inverter");
import queryNodes = require("../../nodes/sma-query/sma-query");
import readNode = require("../../nodes/sma-read/sma-read");
import archiveNode = require("../../nodes/sma-archive/sma-archive");
/* eslint-disable @typescript-eslint/no-require-imports */
const catchNode = require("@node-red/nodes/core/common/25-catch.js");
const completeNode = require("@node-red/nodes/core/common/24-complete.js");
const httpInNode = require("@node-red/nodes/core/network/21-httpin.js");
const functionNode = require("@node-red/nodes/core/function/10-function.js");
/* eslint-enable @typescript-eslint/no-require-imports */

const NODES = [inverterNode, queryNodes, readNode, archiveNode, catchNode, completeNode];
/** The config node's timeout and retries: a read without an answer ends after TIMEOUT_MS x (RETRIES + 1). */
const TIMEOUT_MS = 200;
const RETRIES = 1;
/** Generous: a message that has not ended by then never will (a read ends after 400 ms here). */
const END_WAIT_MS = 20 * TIMEOUT_MS * (RETRIES + 1);

const sims: SimulatedInverter[] = [];
async function sim(opts: Partial<SimulatedInverterOptions> = {}): Promise<SimulatedInverter> {
  const s = new SimulatedInverter({ address: "127.0.0.1", port: 0, ...opts });
  sims.push(s);
  await s.start();
  return s;
}

afterEach(async () => {
  await helper.unload();
});
after(async () => {
  await Promise.all(sims.map((x) => x.stop()));
});

const inverter = (s: SimulatedInverter) => ({
  id: "inv",
  type: "sma-inverter",
  host: "127.0.0.1",
  port: String(s.port),
  serial: "",
  group: "user",
  timeout: String(TIMEOUT_MS),
  retries: String(RETRIES),
});

/** q wired to out; Catch and Complete scoped to q. */
function flow(s: SimulatedInverter, q: Record<string, unknown>) {
  return [
    inverter(s),
    { id: "q", inverter: "inv", topic: "", wires: [["out"]], ...q },
    { id: "out", type: "helper" },
    { id: "c", type: "catch", scope: ["q"], uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper" },
    { id: "k", type: "complete", scope: ["q"], uncaught: false, wires: [["completed"]] },
    { id: "completed", type: "helper" },
  ];
}

type Ending = { how: "out" | "caught" | "completed"; msg: Record<string, unknown> };

/** Every ending of the messages sent to q, by msg.tag. */
function endings(): Map<number, Ending[]> {
  const seen = new Map<number, Ending[]>();
  for (const how of ["out", "caught", "completed"] as const) {
    helper.getNode(how).on("input", (m: unknown) => {
      const msg = m as Record<string, unknown>;
      const tag = Number(msg.tag);
      seen.set(tag, [...(seen.get(tag) ?? []), { how, msg }]);
    });
  }
  return seen;
}

/** Sends `count` messages one after the other, each when the one before has ended; resolves with how each ended. */
async function sendAll(q: TestNode, seen: Map<number, Ending[]>, count: number): Promise<string[][]> {
  for (let tag = 0; tag < count; tag++) {
    q.receive({ payload: "go", tag });
    const deadline = Date.now() + END_WAIT_MS;
    while (!seen.has(tag) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(seen.has(tag), `message ${tag} ended (output, Catch or Complete)`);
    // Out and Complete of one message come one after the other: let the second arrive.
    await new Promise((r) => setTimeout(r, 50));
  }
  return [...Array(count).keys()].map((tag) => (seen.get(tag) ?? []).map((e) => e.how));
}

const codeOf = (e: Ending): unknown => (e.msg.error as Record<string, unknown> | undefined)?.code;

describe("outage setting of the query nodes (inverter silent since deploy)", () => {
  it("no field (a flow saved before it) and 'status': the first failure at Catch, the later ones end quietly (Complete), no output", async () => {
    for (const outage of [undefined, "status"]) {
      const s = await sim({ sleeping: true });
      await load(NODES, flow(s, { type: "sma-spot-ac", ...(outage ? { outage } : {}) }), { inv: { password: "0000" } });
      const seen = endings();
      const how = await sendAll(helper.getNode("q"), seen, 4);
      assert.deepEqual(how, [["caught"], ["completed"], ["completed"], ["completed"]], `outage ${String(outage)}`);
      assert.equal(codeOf(seen.get(0)![0]), "ETIMEDOUT");
      await helper.unload();
    }
  });

  it("'error': every failed read reaches Catch with its code, none ends quietly", async () => {
    const s = await sim({ sleeping: true });
    await load(NODES, flow(s, { type: "sma-spot-ac", outage: "error" }), { inv: { password: "0000" } });
    const seen = endings();
    const how = await sendAll(helper.getNode("q"), seen, 4);
    assert.deepEqual(how, [["caught"], ["caught"], ["caught"], ["caught"]]);
    for (const [, e] of seen) assert.equal(codeOf(e[0]), "ETIMEDOUT");
  });

  it("'null': every failed read sends the message on with every field null and msg.sma.state / .error, and completes", async () => {
    const s = await sim({ sleeping: true });
    await load(NODES, flow(s, { type: "sma-spot-ac", outage: "null" }), { inv: { password: "0000" } });
    const seen = endings();
    const how = await sendAll(helper.getNode("q"), seen, 4);
    assert.deepEqual(how, [
      ["out", "completed"],
      ["out", "completed"],
      ["out", "completed"],
      ["out", "completed"],
    ]);
    for (const [, e] of seen) {
      const msg = e[0].msg;
      const payload = msg.payload as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(payload).sort(),
        [
          "currentL1",
          "currentL2",
          "currentL3",
          "frequency",
          "power",
          "powerL1",
          "powerL2",
          "powerL3",
          "voltageL1",
          "voltageL2",
          "voltageL3",
        ].sort(),
      );
      assert.ok(
        Object.values(payload).every((v) => v === null),
        JSON.stringify(payload),
      );
      const sma = msg.sma as Record<string, unknown>;
      assert.deepEqual(sma.error && (sma.error as Record<string, unknown>).code, "ETIMEDOUT");
      assert.ok(sma.state === "error" || sma.state === "asleep", String(sma.state));
      assert.equal(msg.topic, "sma/unknown/ac", "no serial known yet: the topic says so");
    }
  });

  it("'null' after the inverter answered once: the null message has its serial and topic; readings come back", async () => {
    const s = await sim();
    await load(NODES, flow(s, { type: "sma-energy", outage: "null" }), { inv: { password: "0000" } });
    const seen = endings();
    const q = helper.getNode("q");
    await sendAll(q, seen, 1);
    const good = seen.get(0)![0].msg;
    s.setSleeping(true);
    const more = await sendAll(q, seen, 3);
    assert.deepEqual(more.slice(1), [
      ["out", "completed"],
      ["out", "completed"],
    ]);
    const failed = seen.get(2)![0].msg;
    assert.equal(failed.topic, good.topic);
    assert.equal((failed.sma as Record<string, unknown>).serial, (good.sma as Record<string, unknown>).serial);
    assert.deepEqual(failed.payload, { totalYield: null, dayYield: null, operatingTime: null, feedInTime: null });
  });

  it("sma-read 'null': the ticked values, each null", async () => {
    const s = await sim({ sleeping: true });
    await load(NODES, flow(s, { type: "sma-read", values: ["acPower", "dayYield"], outage: "null" }), {
      inv: { password: "0000" },
    });
    const seen = endings();
    await sendAll(helper.getNode("q"), seen, 2);
    for (const [, e] of seen) assert.deepEqual(e[0].msg.payload, { acPower: null, dayYield: null });
  });

  it("sma-archive 'null' and 'error': one message without records, or Catch every time", async () => {
    const s = await sim({ sleeping: true });
    await load(NODES, flow(s, { type: "sma-archive", archive: "day", span: "2", output: "each", outage: "null" }), {
      inv: { password: "0000" },
    });
    let seen = endings();
    assert.deepEqual(await sendAll(helper.getNode("q"), seen, 3), [
      ["out", "completed"],
      ["out", "completed"],
      ["out", "completed"],
    ]);
    const msg = seen.get(2)![0].msg;
    assert.equal(msg.payload, null);
    assert.equal(((msg.sma as Record<string, unknown>).error as Record<string, unknown>).code, "ETIMEDOUT");
    await helper.unload();
    await load(NODES, flow(s, { type: "sma-archive", archive: "day", span: "2", output: "array", outage: "error" }), {
      inv: { password: "0000" },
    });
    seen = endings();
    assert.deepEqual(await sendAll(helper.getNode("q"), seen, 3), [["caught"], ["caught"], ["caught"]]);
  });

  it("a wrong input is an error whatever the mode (sma-archive with a bad range in 'null' mode)", async () => {
    const s = await sim();
    await load(NODES, flow(s, { type: "sma-archive", archive: "day", span: "2", outage: "null" }), {
      inv: { password: "0000" },
    });
    const seen = endings();
    helper.getNode("q").receive({ payload: { from: "never" }, tag: 0 });
    const deadline = Date.now() + END_WAIT_MS;
    while (!seen.has(0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      seen.get(0)?.map((e) => e.how),
      ["caught"],
    );
    assert.equal(codeOf(seen.get(0)![0]), "EINVAL");
  });
});

describe("an HTTP-in flow during an outage (http in -> read -> http response; Catch -> http response)", () => {
  function httpFlow(s: SimulatedInverter, outage: string) {
    return [
      inverter(s),
      { id: "in", type: "http in", url: "/pv", method: "get", wires: [["q"]] },
      { id: "q", type: "sma-spot-ac", inverter: "inv", topic: "", outage, wires: [["res"]] },
      { id: "res", type: "http response", statusCode: "", headers: {} },
      { id: "c", type: "catch", scope: ["q"], uncaught: false, wires: [["f"]] },
      {
        id: "f",
        type: "function",
        func: "msg.statusCode = 503; msg.payload = { error: msg.error.message }; return msg;",
        outputs: 1,
        wires: [["res"]],
      },
    ];
  }

  /** The runtime's HTTP app of the http in nodes (the helper's request() is the admin app). */
  let httpNodeApp: unknown;
  const grabHttpApp = (RED: NodeAPI): void => void (httpNodeApp = RED.httpNode);

  for (const [outage, status] of [
    ["null", 200],
    ["error", 503],
  ] as const) {
    it(`'${outage}': every request gets an answer (${status})`, async () => {
      const s = await sim({ sleeping: true });
      await load([...NODES, httpInNode, functionNode, grabHttpApp], httpFlow(s, outage), { inv: { password: "0000" } });
      for (let i = 0; i < 3; i++) {
        const res = await request(httpNodeApp as Parameters<typeof request>[0])
          .get("/pv")
          .timeout(END_WAIT_MS);
        assert.equal(res.status, status, `request ${i}: ${JSON.stringify(res.body)}`);
        if (outage === "null") assert.equal((res.body as Record<string, unknown>).power, null);
      }
    });
  }
});

describe("unnamed nodes in errors and logs", () => {
  it("Catch names an unnamed reading node by its default label and its inverter, a named one by its name; never by its id", async () => {
    const s = await sim({ sleeping: true });
    const nodes: Record<string, unknown>[] = flow(s, { type: "sma-spot-ac", outage: "error" });
    nodes.push({
      id: "q2",
      type: "sma-energy",
      inverter: "inv",
      topic: "",
      name: "roof energy",
      outage: "error",
      wires: [[]],
    });
    nodes[3].scope = ["q", "q2"];
    await load(NODES, nodes, { inv: { password: "0000" } });
    const seen: Record<string, unknown>[] = [];
    helper
      .getNode("caught")
      .on("input", (m: unknown) => seen.push((m as { error: { source: Record<string, unknown> } }).error.source));
    helper.getNode("q").receive({ payload: 1 });
    helper.getNode("q2").receive({ payload: 1 });
    const deadline = Date.now() + END_WAIT_MS;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const byId = new Map(seen.map((src) => [src.id, src.name]));
    // The helper's RED._ gives the catalog key: the default label's key, then the inverter (no name: its host).
    assert.equal(byId.get("q"), "@speedwire/node-red-sma/sma-query:sma-spot-ac.default (127.0.0.1)");
    assert.equal(byId.get("q2"), "roof energy");
    assert.equal(
      (helper.getNode("inv") as TestNode & { name?: string }).name,
      "127.0.0.1",
      "the config node by its host",
    );
  });
});
