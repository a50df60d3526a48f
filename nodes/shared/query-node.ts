/**
 * Every query node is this: on any input, ask the config node's session for the node's queries,
 * shape the payload, send; on failure done(err) so Catch nodes see it, with a status that says why.
 */
import { SmaError, type InverterSession } from "../../src/client";
import type { Node, NodeAPI, NodeDef } from "node-red";
import type { QueryNodeSpec } from "./payloads";
import { ReadStatus, errorStatus, noConfigStatus } from "./status";

/** What a query node needs from its sma-inverter config node. */
export interface InverterConfigNode extends Node<{ password?: string }> {
  session?: InverterSession;
  /** A setting of the config node is wrong: no session; every read fails with this (EINVAL naming the field). */
  invalid?: SmaError;
}

/** A node's hold on its inverter's session: state shown as status, a read ending in ok or in an error. */
export interface SessionBinding {
  session: InverterSession;
  /** True once the node was closed (redeployed alone while its read was under way). */
  closed(): boolean;
  /** This node starts a read: its dot says "reading" until ok() or fail(). */
  start(): void;
  /** The status after a good read; nothingSupported as the session's read result says, unknown: all 0x0014. */
  ok(nothingSupported?: boolean, unknown?: boolean): void;
  /** Ends a failed read: done(err) so Catch nodes see it, quietly for a known outage. */
  fail(e: unknown, done: (e?: Error) => void): void;
}

/**
 * Binds a node to the session of its sma-inverter config node (def.inverter); its dot is set by one ReadStatus.
 * Without a session it sets "no inverter set", fails every input with EINVAL and returns undefined.
 */
export function bindSession(RED: NodeAPI, node: Node, def: NodeDef & { inverter?: string }): SessionBinding | undefined {
  const inverter = def.inverter ? (RED.nodes.getNode(def.inverter) as InverterConfigNode | null) : null;
  const session = inverter?.session;
  if (!session) {
    const invalid = inverter?.invalid;
    node.status(invalid ? errorStatus(RED, invalid) : noConfigStatus(RED));
    node.on("input", (_msg, _send, done) => done(invalid ?? new SmaError("EINVAL", "no sma-inverter configured")));
    return undefined;
  }
  const status = new ReadStatus(RED, node, session);
  session.on("state", status.onState);
  let closed = false;
  node.on("close", () => {
    closed = true;
    session.off("state", status.onState);
  });
  return {
    session,
    closed: () => closed,
    start: () => status.start(),
    ok: (nothingSupported = false, unknown = false) => status.read(nothingSupported, unknown),
    fail: (e, done) => {
      const err = e instanceof SmaError ? e : new SmaError("EPROTOCOL", String(e));
      // An inverter asleep for the night (or not answering since deploy) fails every poll: say it once; the
      // status ("asleep" or "no answer") was set when it stopped answering and stays until it answers again.
      if (closed || err.code === "ECLOSED" || err.quiet) {
        status.ended();
        return done();
      }
      status.failed(err);
      done(err);
    },
  };
}

export function registerQueryNode(RED: NodeAPI, spec: QueryNodeSpec): void {
  RED.nodes.registerType(spec.type, function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const config: Record<string, unknown> & { inverter?: string; topic?: string } = { ...def };
    const bound = bindSession(RED, this, def as NodeDef & { inverter?: string });
    if (!bound) return;
    const { session } = bound;

    this.on("input", (msg, send, done) => {
      const queries = spec.queries(config);
      bound.start();
      session.read(queries).then((result) => {
        // Redeployed alone while its read was under way (the inverter's session lives on): nothing to say.
        if (bound.closed()) return done();
        Object.assign(msg, {
          payload: spec.payload(result, config),
          topic: config.topic || `sma/${result.device.serial}/${spec.topic}`,
          sma: { serial: result.device.serial, susyId: result.device.susyId, timestamp: result.timestamp, address: session.address, link: session.linkFigures },
        });
        bound.ok(result.nothingSupported, result.nothingSupported && result.unsupported.length === 0);
        send(msg);
        done();
      }, (e: unknown) => bound.fail(e, done));
    });
  });
}
