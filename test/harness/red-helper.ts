/** node-red-node-test-helper with the few types the tests use (the package ships none). */

export interface TestNode {
  id: string;
  receive(msg: Record<string, unknown>): void;
  on(event: string, cb: (...args: never[]) => void): void;
  status(...args: unknown[]): void;
  error(...args: unknown[]): void;
  warn(...args: unknown[]): void;
}

interface Helper {
  init(nodeRedPath: string): void;
  load(nodes: unknown[], flow: unknown[], credentials: Record<string, unknown>, cb: () => void): void;
  unload(): Promise<void>;
  getNode(id: string): TestNode;
  startServer(cb: () => void): void;
  stopServer(cb: () => void): void;
  request(): { get(path: string): { expect(code: number): Promise<{ body: unknown }> } };
  settings(s: Record<string, unknown>): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper: Helper = require("node-red-node-test-helper");
helper.init(require.resolve("node-red"));

export function load(nodes: unknown[], flow: unknown[], credentials: Record<string, unknown> = {}): Promise<void> {
  return new Promise((resolve) => helper.load(nodes, flow, credentials, resolve));
}

export const startServer = (): Promise<void> => new Promise((r) => helper.startServer(r));
export const stopServer = (): Promise<void> => new Promise((r) => helper.stopServer(r));

/** Resolves with the next message a helper node receives. */
export function nextMessage(node: TestNode, timeoutMs = 3000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message at ${node.id} within ${timeoutMs} ms`)), timeoutMs);
    node.on("input", ((msg: Record<string, unknown>) => {
      clearTimeout(t);
      resolve(msg);
    }) as (...args: never[]) => void);
  });
}
