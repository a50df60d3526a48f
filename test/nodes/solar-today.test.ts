/**
 * The function node "today" of the example "Solar dashboard", run as Node-RED runs it (its body in a function with
 * `msg`, a `context` of its own, the clock faked) on the readings of one plant across midnight, a restart of
 * Node-RED, a meter that reports later and a replaced meter. Each of today's figures must either be the whole day's
 * (the counters' growth since local midnight) or say where it starts ("since 12:03") and be the growth since then.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vm from "node:vm";
import { repoRoot } from "../harness/fixtures";

interface FlowNode {
  id: string;
  type: string;
  func?: string;
  outputs?: number;
  wires?: string[][];
}

const flow = JSON.parse(
  fs.readFileSync(path.join(repoRoot(), "examples", "Solar dashboard.json"), "utf8"),
) as FlowNode[];
const today = flow.find((n) => n.id === "solar-today");

/**
 * A context store: memory (lost on a restart) or one that keeps JSON across restarts, as localfilesystem does. The
 * node names no store (Node-RED warns of a store name it does not have): it uses the default one, synchronously.
 */
class Store {
  private readonly data = new Map<string, string>();
  get(key: string, ...rest: unknown[]): unknown {
    assert.deepEqual(rest, [], `context.get("${key}") names no store and takes no callback`);
    const v = this.data.get(key);
    return v === undefined ? undefined : JSON.parse(v);
  }
  set(key: string, value: unknown, ...rest: unknown[]): void {
    assert.deepEqual(rest, [], `context.set("${key}") names no store and takes no callback`);
    this.data.set(key, JSON.stringify(value));
  }
}

/** One start of the function node: its code in a sandbox whose Date reads `clock.now`. */
function startNode(store: Store): { clock: { now: number }; send: (topic: string, payload: object) => unknown } {
  assert.ok(today?.func, "the example has the function node solar-today");
  const clock = { now: 0 };
  const sandbox = vm.createContext({ context: store, __clock: clock, node: {}, flow: new Store() });
  vm.runInContext(
    "const RealDate = Date; Date = class extends RealDate { constructor(...a) { if (a.length) super(...a); " +
      "else super(__clock.now); } static now() { return __clock.now; } };",
    sandbox,
  );
  const fn = vm.runInContext(`(function (msg) {\n${today.func}\n})`, sandbox) as (msg: object) => unknown;
  return { clock, send: (topic, payload) => fn({ topic, payload }) };
}

// One plant, counters in Wh by hours since the midnight that starts DAY (local time; no DST change near it).
const DAY = new Date(2026, 5, 15);
const at = (h: number): number => DAY.getTime() + h * 3_600_000;
const RATES = { yield: 800, import: 300, export: 400, charge: 100, discharge: 50 }; // W: house 650 W
const counter = (k: keyof typeof RATES, h: number): number =>
  ({ yield: 1e6, import: 5e5, export: 2e5, charge: 1e5, discharge: 9e4 })[k] + RATES[k] * h;
const HOUSE_W = RATES.yield + RATES.import - RATES.export + RATES.discharge - RATES.charge;

/** The figures (yield, house, self-consumption, autarky) over [from, to] in hours since midnight. */
function figures(from: number, to: number): number[] {
  const yld = RATES.yield * (to - from);
  const house = HOUSE_W * (to - from);
  return [
    yld,
    house,
    (100 * (RATES.yield - RATES.export)) / RATES.yield,
    (100 * (house - RATES.import * (to - from))) / house,
  ];
}

type Node = ReturnType<typeof startNode>;
/**
 * One round of readings at hour h as the flow gets them: the meter's datagram, then the battery and the energy read
 * (the inject); the figures are computed on the energy read. Returns the four texts.
 */
function round(
  node: Node,
  h: number,
  opts: { meter?: boolean; meterOffset?: { import: number; export: number } } = {},
): string[] {
  node.clock.now = at(h);
  if (opts.meter !== false) {
    const off = opts.meterOffset ?? { import: 0, export: 0 };
    node.send("sma/1901234567/meter", {
      energyImport: counter("import", h) - off.import,
      energyExport: counter("export", h) - off.export,
    });
  }
  node.send("sma/1900000001/battery", { chargeTotal: counter("charge", h), dischargeTotal: counter("discharge", h) });
  const out = node.send("sma/1900000001/energy", {
    totalYield: counter("yield", h),
    dayYield: h >= 0 ? RATES.yield * h : RATES.yield * (h + 24),
  }) as { payload: string }[];
  // Array.from: the sandbox's arrays have the sandbox's prototype.
  return Array.from(out, (m) => m.payload);
}

const hhmm = (h: number): string => new Date(at(h)).toTimeString().slice(0, 5);

/**
 * Every figure shown at hour `to` is the whole day's, or says "since HH:MM" and is the growth since then.
 * Returns the start (hours) each figure claims: 0 for the whole day.
 */
function assertHonest(texts: string[], to: number): number[] {
  const labels = ["yield", "house consumption", "self-consumption", "autarky"];
  return texts.map((text, i) => {
    const m = /^(-?\d+(?:\.\d+)?) (kWh|%)(?: since (\d\d):(\d\d))?$/.exec(text);
    assert.ok(m, `${labels[i]}: ${JSON.stringify(text)} is a figure`);
    const from = m[3] === undefined ? 0 : (Number(m[3]) * 60 + Number(m[4])) / 60;
    const want = figures(from, to)[i];
    const shown = m[2] === "kWh" ? (want / 1000).toFixed(2) + " kWh" : Math.round(want) + " %";
    assert.equal(
      m[1] + " " + m[2],
      shown,
      `${labels[i]} at ${hhmm(to)}: ${JSON.stringify(text)} must be ${m[3] === undefined ? "the whole day's" : "the growth since " + m[3] + ":" + m[4]}`,
    );
    return from;
  });
}

describe("Solar dashboard example: today's figures", () => {
  it("after a restart of Node-RED at noon without a kept context: the yield is the whole day's, the rest says since when", () => {
    const before = startNode(new Store());
    for (const h of [-10 / 60, -1 / 360, 6, 11.5]) round(before, h);
    // Restart at 12:03: the memory context is gone.
    const after = startNode(new Store());
    round(after, 12 + 3 / 60);
    const texts = round(after, 13 + 3 / 60);
    const from = assertHonest(texts, 13 + 3 / 60);
    assert.equal(from[0], 0, `the yield is the whole day's (the inverter's day counter): ${texts[0]}`);
    assert.deepEqual(from.slice(1), [12.05, 12.05, 12.05], `the others say since 12:03: ${JSON.stringify(texts)}`);
  });

  it("with a kept context (persistent store), a restart at noon keeps the whole day's figures", () => {
    const store = new Store();
    const before = startNode(store);
    for (const h of [-10 / 60, -1 / 360, 6, 11.5]) round(before, h);
    const after = startNode(store);
    round(after, 12);
    const texts = round(after, 13);
    assert.deepEqual(assertHonest(texts, 13), [0, 0, 0, 0], JSON.stringify(texts));
  });

  it("a meter that first reports at 10:00 neither zeroes the day's yield nor passes figures off as the whole day", () => {
    const node = startNode(new Store());
    for (const h of [-10 / 60, -1 / 360, 6]) round(node, h, { meter: false });
    const morning = round(node, 8, { meter: false });
    assert.deepEqual(morning, ["6.40 kWh", "no value", "no value", "no value"], "no meter: no house figures");
    round(node, 10);
    const texts = round(node, 11);
    const from = assertHonest(texts, 11);
    assert.equal(from[0], 0, `the yield is still the whole day's: ${texts[0]}`);
    assert.deepEqual(from.slice(1), [10, 10, 10], `the others say since 10:00: ${JSON.stringify(texts)}`);
  });

  it("a replaced meter (its counters start again at 0) keeps what was counted today", () => {
    const node = startNode(new Store());
    for (const h of [-10 / 60, -1 / 360, 6, 12]) round(node, h);
    // At 12:00 the new meter counts from 0.
    const offset = { import: counter("import", 12), export: counter("export", 12) };
    round(node, 12, { meterOffset: offset });
    round(node, 12.5, { meterOffset: offset });
    const texts = round(node, 14, { meterOffset: offset });
    assert.deepEqual(assertHonest(texts, 14), [0, 0, 0, 0], JSON.stringify(texts));
  });

  it("a meter silent in the last hour before midnight: its evening is not counted into today's figures", () => {
    const node = startNode(new Store());
    for (const h of [-3, -2]) round(node, h);
    // 22:00 to 00:30 no meter datagram (a multicast hiccup); the inverter and the battery are read up to midnight.
    for (const h of [-1, -1 / 360]) round(node, h, { meter: false });
    round(node, 0.5);
    const texts = round(node, 13);
    assertHonest(texts, 13);
  });

  it("an inverter asleep from the evening (its total unchanged overnight) keeps the whole day's figures", () => {
    const node = startNode(new Store());
    const sleepTotal = counter("yield", -4);
    node.clock.now = at(-4);
    node.send("sma/1900000001/energy", { totalYield: sleepTotal, dayYield: 5000 });
    for (const h of [-1, -1 / 360, 0.5, 6]) {
      node.clock.now = at(h);
      node.send("sma/1901234567/meter", { energyImport: counter("import", h), energyExport: counter("export", h) });
      node.send("sma/1900000001/battery", {
        chargeTotal: counter("charge", h),
        dischargeTotal: counter("discharge", h),
      });
    }
    // Its first reading of the day: the total as at sleep, the day counter still yesterday's.
    node.clock.now = at(6);
    node.send("sma/1900000001/energy", { totalYield: sleepTotal, dayYield: 5000 });
    node.clock.now = at(7);
    node.send("sma/1901234567/meter", { energyImport: counter("import", 7), energyExport: counter("export", 7) });
    node.send("sma/1900000001/battery", { chargeTotal: counter("charge", 7), dischargeTotal: counter("discharge", 7) });
    const out = node.send("sma/1900000001/energy", { totalYield: sleepTotal + 8000, dayYield: 8000 }) as {
      payload: string;
    }[];
    const texts = Array.from(out, (m) => m.payload);
    // House: 8000 Wh of yield plus the night's grid and battery figures since midnight, no "since".
    const grid = RATES.import * 7 - RATES.export * 7 + (RATES.discharge - RATES.charge) * 7;
    assert.deepEqual(
      texts.slice(0, 2),
      ["8.00 kWh", ((8000 + grid) / 1000).toFixed(2) + " kWh"],
      JSON.stringify(texts),
    );
  });

  it("an inverter without a value shows no value, never 0", () => {
    const node = startNode(new Store());
    for (const h of [-10 / 60, -1 / 360, 6]) round(node, h);
    node.clock.now = at(7);
    const out = node.send("sma/1900000001/energy", { totalYield: null, dayYield: null }) as { payload: string }[];
    assert.deepEqual(
      Array.from(out, (m) => m.payload),
      ["no value", "no value", "no value", "no value"],
    );
  });
});
