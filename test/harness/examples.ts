/** The package's example flows as a user imports them (Import > Examples) and edits them in the node dialogs. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./fixtures";

export type FlowNode = Record<string, unknown> & { id: string; type: string };

export function loadExample(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(repoRoot(), "examples", file), "utf8")) as FlowNode[];
}

/** What a user edits in a node's dialog: only fields the example node has. */
export function edit(flows: FlowNode[], type: string, changes: Record<string, unknown>, credentials?: Record<string, string>): FlowNode {
  const matching = flows.filter((n) => n.type === type);
  assert.equal(matching.length, 1, `the examples have one ${type} node`);
  const node = matching[0];
  for (const key of Object.keys(changes)) assert.ok(key in node, `the example's ${type} node has the field ${key}`);
  Object.assign(node, changes);
  if (credentials) node.credentials = credentials;
  return node;
}
