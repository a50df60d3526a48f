/** The small part of the Node-RED runtime API the nodes use (typed here so 4.x and 5.x both fit). */
import type { EventEmitter } from "node:events";

export interface NodeStatus {
  fill?: "red" | "green" | "yellow" | "blue" | "grey";
  shape?: "ring" | "dot";
  text?: string;
}

export interface NodeMessage {
  _msgid?: string;
  payload?: unknown;
  topic?: string;
  [key: string]: unknown;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  [key: string]: unknown;
}

export interface Node extends EventEmitter {
  id: string;
  type: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  status(s: NodeStatus | Record<string, never>): void;
  send(msg: NodeMessage | NodeMessage[] | null): void;
  log(msg: unknown): void;
  warn(msg: unknown): void;
  error(msg: unknown, m?: NodeMessage): void;
  debug(msg: unknown): void;
  trace(msg: unknown): void;
}

export interface HttpRequest {
  query: Record<string, string | undefined>;
  params: Record<string, string | undefined>;
}
export interface HttpResponse {
  json(body: unknown): void;
  status(code: number): HttpResponse;
}
type Middleware = (req: HttpRequest, res: HttpResponse, next: () => void) => void;

export interface NodeAPI {
  nodes: {
    createNode(node: Node, def: NodeDef): void;
    registerType(type: string, ctor: (this: Node, def: NodeDef) => void, opts?: { credentials?: Record<string, { type: string }> }): void;
    getNode(id: string): Node | null;
  };
  httpAdmin: {
    get(path: string, ...handlers: Middleware[]): void;
  };
  auth: { needsPermission(permission: string): Middleware };
  _(key: string, substitutions?: Record<string, string | number>): string;
  log: { warn(msg: unknown): void; info(msg: unknown): void };
  /** settings.js, as the runtime exposes it to nodes (absent in some test stubs). */
  settings?: Record<string, unknown>;
}
