/**
 * The README's way to combine several inverters: the example flow "Sum AC power of several inverters" as
 * shipped (inject -> one sma-spot-ac per inverter -> join -> function), run against two simulated inverters.
 */
import { after, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { helper, load, nextMessage } from "../harness/red-helper";
import { repoRoot } from "../harness/fixtures";
import { SimulatedInverter } from "../../src/simulator";
import inverterNode = require("../../nodes/sma-inverter/sma-inverter");
import queryNodes = require("../../nodes/sma-query/sma-query");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const joinNode = require("@node-red/nodes/core/sequence/17-split.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const functionNode = require("@node-red/nodes/core/function/10-function.js");

interface FlowNode {
  id: string;
  type: string;
  wires?: string[][];
  [k: string]: unknown;
}

const sims: SimulatedInverter[] = [];
after(async () => {
  await helper.unload();
  await Promise.all(sims.map((s) => s.stop()));
});

interface Run {
  /** What the debug node at the end receives. */
  msg: Record<string, unknown>;
  /** The function node's status, as last set. */
  status: unknown;
}

/**
 * Runs the example as shipped against one simulated inverter per entry (null: an inverter that answers nothing at
 * all; night: one that answers without values), triggers both reads once and returns what the debug node would show.
 */
async function runExample(inverters: ({ watts: number; night?: boolean } | null)[]): Promise<Run> {
  const file = path.join(repoRoot(), "examples", "Sum AC power of several inverters.json");
  const flow = JSON.parse(fs.readFileSync(file, "utf8")) as FlowNode[];
  const mine: SimulatedInverter[] = [];
  for (const inv of inverters) {
    const s = new SimulatedInverter({
      address: "127.0.0.1",
      port: 0,
      timeVarying: false,
      sleeping: inv === null,
      values: { acPower: inv?.watts ?? 0 },
    });
    if (inv?.night) s.setNight(true);
    await s.start();
    sims.push(s);
    mine.push(s);
  }
  // What a user edits after import: each config node's address and password. Nothing else.
  const configs = flow.filter((n) => n.type === "sma-inverter");
  assert.equal(configs.length, 2);
  const credentials: Record<string, unknown> = {};
  configs.forEach((c, i) => {
    Object.assign(c, { host: "127.0.0.1", port: String(mine[i].port) });
    credentials[c.id] = { password: "0000" };
  });
  // The debug node at the end is replaced by a helper node that receives what it would show.
  const debug = flow.find((n) => n.type === "debug");
  assert.ok(debug, "the example ends in a debug node");
  const fn = flow.find((n) => n.type === "function");
  assert.ok(fn, "the example sums in a function node");
  const join = flow.find((n) => n.type === "join");
  assert.ok(join, "the example collects the readings in a join node");
  // The inject node (core, timer-driven) is left out: the test sends its message to what it is wired to.
  const inject = flow.find((n) => n.type === "inject") as FlowNode;
  const nodes = flow
    .filter((n) => n.type !== "tab" && n.type !== "comment" && n !== inject)
    .map((n) => {
      if (n === debug) return { id: n.id, type: "helper" };
      // The helper runs one flow without tabs; a node with x/y but no tab would be taken for a global one.
      const { z: _z, x: _x, y: _y, ...rest } = n;
      return rest;
    });
  await helper.unload();
  await load([inverterNode, queryNodes, joinNode, functionNode], nodes, credentials);
  let status: unknown;
  const fnNode = helper.getNode(fn.id);
  const setStatus = fnNode.status.bind(fnNode);
  fnNode.status = (s: unknown) => {
    status = s;
    return setStatus(s as Parameters<typeof setStatus>[0]);
  };
  // An inverter that does not answer holds the join node up to its timeout: wait that long and a margin.
  const got = nextMessage(helper.getNode(debug.id), Number(join.timeout) * 1000 + 15_000);
  const targets = (inject.wires ?? [])[0] ?? [];
  assert.equal(targets.length, 2, "the inject triggers both inverters");
  for (const id of targets) helper.getNode(id).receive({ payload: Date.now() });
  const msg = await got;
  return { msg, status };
}

it("example 'Sum AC power of several inverters' adds up the AC power of two inverters", async () => {
  const { msg } = await runExample([{ watts: 3000 }, { watts: 1234 }]);
  assert.equal(msg.payload, 4234);
  assert.equal(msg.topic, "sma/total/ac/power");
  assert.equal(msg.partial, undefined);
  assert.equal(msg.missing, undefined);
});

it("example 'Sum AC power of several inverters' gives no total when an inverter does not answer", async () => {
  // Inverter 2 answers nothing (network down, fault): inverter 1's 3000 W alone is not the total.
  const { msg, status } = await runExample([{ watts: 3000 }, null]);
  assert.equal(msg.payload, null, "no total without every inverter");
  assert.equal(msg.topic, "sma/total/ac/power");
  assert.equal(msg.partial, true);
  // The function node runs in its own context: its array is compared by its items.
  assert.ok(Array.isArray(msg.missing));
  assert.deepEqual(Array.from(msg.missing as string[]), ["inverter2"]);
  assert.equal(msg.partialPower, 3000);
  assert.match(String((status as { text?: unknown } | undefined)?.text), /inverter2/);
});

it("example 'Sum AC power of several inverters' counts an inverter that answers without a value (night) as nothing", async () => {
  // Inverter 2 answers, with power null (its night values): the total is inverter 1's power, not flagged.
  const { msg } = await runExample([{ watts: 3000 }, { watts: 1234, night: true }]);
  assert.equal(msg.payload, 3000);
  assert.equal(msg.partial, undefined);
  assert.equal(msg.missing, undefined);
});
