/**
 * The package's example flows as a user imports them (Import > Examples) and edits them in the node dialogs, and
 * the box each node takes on the canvas, estimated as the editor draws it: a label-wide rectangle, ports on its
 * sides, a status line below it.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./fixtures";

export type FlowNode = Record<string, unknown> & { id: string; type: string };

/** The id of the sma-inverter config node every example shares (a second import reuses it). */
export const SHARED_INVERTER = "sma-inverter-shared";

export function exampleFiles(): string[] {
  return fs
    .readdirSync(path.join(repoRoot(), "examples"))
    .filter((f) => f.endsWith(".json"))
    .sort();
}

export function loadExample(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(repoRoot(), "examples", file), "utf8")) as FlowNode[];
}

/**
 * Several examples imported one after the other as the editor does it when the user answers "Import copy" to
 * "some nodes already exist": a config node already there (the shared inverter) is kept and used, not added again;
 * any other id two examples share is a clash.
 */
export function importExamples(files: string[]): FlowNode[] {
  const flows: FlowNode[] = [];
  const ids = new Set<string>();
  for (const file of files) {
    for (const n of loadExample(file)) {
      const isConfig = !("x" in n || "y" in n || "wires" in n) && n.type !== "tab";
      if (ids.has(n.id) && isConfig) continue;
      assert.ok(!ids.has(n.id), `${file}: ${n.id} (${n.type}) clashes with an example imported before`);
      ids.add(n.id);
      flows.push(n);
    }
  }
  return flows;
}

/**
 * What a user edits in the dialog of each node of this type (one per imported example; the examples share their
 * sma-inverter config node, SHARED_INVERTER): only fields the node has.
 */
export function edit(
  flows: FlowNode[],
  type: string,
  changes: Record<string, unknown>,
  credentials?: Record<string, string>,
): FlowNode[] {
  const matching = flows.filter((n) => n.type === type);
  assert.ok(matching.length > 0, `the examples have a ${type} node`);
  for (const node of matching) {
    for (const key of Object.keys(changes)) assert.ok(key in node, `the example's ${type} node has the field ${key}`);
    Object.assign(node, changes);
    if (credentials) node.credentials = credentials;
  }
  return matching;
}

const LANGS = ["en-US", "de"];

export interface NodeTypeInfo {
  type: string;
  /** The node set (package.json "node-red".nodes key) and its runtime file, e.g. dist/nodes/sma-query/sma-query.js. */
  set: string;
  js: string;
}

/** Every node type the package registers: per node set of package.json, the types its built editor file registers. */
export function packageNodeTypes(): NodeTypeInfo[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), "package.json"), "utf8")) as {
    "node-red": { nodes: Record<string, string> };
  };
  return Object.entries(pkg["node-red"].nodes).flatMap(([set, js]) => {
    const html = fs.readFileSync(path.join(repoRoot(), js.replace(/\.js$/, ".html")), "utf8");
    return [...html.matchAll(/RED\.nodes\.registerType\(\s*"([^"]+)"/g)].map((m) => ({ type: m[1], set, js }));
  });
}

/** The label an unnamed node of the package shows, the longest over the languages (from its set's built catalog). */
function packageLabel(type: string): string | undefined {
  const info = packageNodeTypes().find((t) => t.type === type);
  if (!info) return undefined;
  const labels = LANGS.map((lang) => {
    const file = path.join(repoRoot(), path.dirname(info.js), "locales", lang, `${path.basename(info.js, ".js")}.json`);
    const catalog = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, { default?: unknown } | undefined> & {
      label?: { default?: unknown };
    };
    const label = catalog[type]?.default ?? catalog.label?.default;
    // A label per mode (sma-archive: day, month, events): the longest.
    const texts =
      typeof label === "string"
        ? [label]
        : label && typeof label === "object"
          ? Object.values(label).filter((v) => typeof v === "string")
          : [];
    return texts.reduce((a: string, b: string) => (b.length > a.length ? b : a), type);
  });
  return labels.reduce((a, b) => (b.length > a.length ? b : a));
}

/** What the editor writes on a node: its name, else its type's default label. */
export function labelOf(n: FlowNode): string {
  if (typeof n.name === "string" && n.name) return n.name;
  if (n.type === "debug") return n.complete === "true" ? "msg" : `msg.${String(n.complete ?? "payload")}`;
  if (n.type === "mqtt out" || n.type === "mqtt in") return typeof n.topic === "string" && n.topic ? n.topic : "mqtt";
  // node-red-contrib-influxdb writes its server's label and the measurement: "[v1.x] host:8086/database measurement".
  if (n.type === "influxdb out") return `[v1.x] 192.168.100.100:8086/database ${String(n.measurement ?? "")}`;
  return packageLabel(n.type) ?? n.type;
}

/** Nodes that show a status line under them while they run. */
export function showsStatus(n: FlowNode): boolean {
  return (
    n.type.startsWith("sma-") ||
    n.type.startsWith("mqtt") ||
    n.type.startsWith("influxdb") ||
    (n.type === "debug" && n.tostatus === true) ||
    (n.type === "function" && /node\.status\(/.test(String(n.func ?? "")))
  );
}

export interface Box {
  id: string;
  label: string;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

// The editor's sizes: 100 px minimum width in steps of 20, 30 px high, ports 10 px wide half outside, status 20 px,
// the inject's button 20 px left of it, the debug's 20 px right of it.
const CHAR_W = 8; // px per character at the editor's 14 px font, a little more than the average of its fonts
const ICON_AND_PADDING = 50;
const STATUS_H = 20;
const STATUS_W = 150; // a status of up to 20 characters

/** The node's box on the canvas (x/y are its centre), with its ports and its status line. */
export function boxOf(n: FlowNode): Box {
  const label = labelOf(n);
  const w = Math.max(100, 20 * Math.ceil((label.length * CHAR_W + ICON_AND_PADDING) / 20));
  const outputs = Array.isArray(n.wires) ? n.wires.length : 0;
  const h = Math.max(30, outputs * 15);
  const x = Number(n.x);
  const y = Number(n.y);
  const left = x - w / 2 - (n.type === "inject" ? 25 : 5);
  return {
    id: n.id,
    label,
    left,
    top: y - h / 2,
    right: Math.max(x + w / 2 + (n.type === "debug" ? 25 : 5), showsStatus(n) ? x - w / 2 + STATUS_W : 0),
    bottom: y + h / 2 + (showsStatus(n) ? STATUS_H : 0),
  };
}

export function overlap(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/** Seconds between two messages of an inject node, or undefined when it does not repeat. */
export function injectInterval(n: FlowNode): number | undefined {
  const s = Number(n.repeat);
  return n.repeat !== "" && n.repeat !== undefined && Number.isFinite(s) && s > 0 ? s : undefined;
}

/**
 * The interval an inject's name promises ("every 30 s", "every minute", "on deploy and every hour"), "once" for a
 * name that says it fires once ("once at start", "on deploy"), or undefined when the name says neither.
 */
export function intervalInName(name: string): number | "once" | undefined {
  const m = /\bevery (\d+ )?(s|seconds?|min|minutes?|h|hours?)$/.exec(name);
  if (!m) return /^(once|on deploy)\b/.test(name) ? "once" : undefined;
  const k = m[2].startsWith("s") ? 1 : m[2].startsWith("m") ? 60 : 3600;
  return Number(m[1] ?? "1") * k;
}
