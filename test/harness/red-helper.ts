/** node-red-node-test-helper (typed by @types/node-red-node-test-helper), loaded with the Node-RED under test. */
import helper = require("node-red-node-test-helper");
import type { Node, NodeInitializer } from "node-red";

export type TestNode = Node;
export { helper };
helper.init(require.resolve("node-red"));

/** Loads nodes (their module functions; core nodes come untyped from require) with a flow and credentials. */
export function load(nodes: unknown[], flow: unknown[], credentials: Record<string, unknown> = {}): Promise<void> {
  return new Promise(
    (resolve) => void helper.load(nodes as NodeInitializer[], flow as helper.TestFlows, credentials, resolve),
  );
}

/** helper.settings with this package's own entry (smaSpeedwire), which Node-RED's settings type does not know. */
export function settings(s: Record<string, unknown>): void {
  helper.settings(s as Parameters<typeof helper.settings>[0]);
}

export const startServer = (): Promise<void> => new Promise((r) => helper.startServer(r));
export const stopServer = (): Promise<void> => new Promise((r) => helper.stopServer(r));

/** Resolves with the next message a helper node receives. */
export function nextMessage(node: TestNode, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message at ${node.id} within ${timeoutMs} ms`)), timeoutMs);
    node.on("input", (msg) => {
      clearTimeout(t);
      resolve(msg as Record<string, unknown>);
    });
  });
}
