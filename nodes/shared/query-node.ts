/**
 * Every query node is this: on any input, ask the config node's session for the node's queries,
 * shape the payload, send; on failure done(err) so Catch nodes see it, with a status that says why.
 */
import { SmaError, type InverterSession, type InverterState } from "../../src/client";
import type { Node, NodeAPI, NodeDef } from "./red";
import type { QueryNodeSpec } from "./payloads";
import { errorStatus, noConfigStatus, okStatus, stateStatus } from "./status";

/** What a query node needs from its sma-inverter config node. */
export interface InverterConfigNode extends Node {
  session?: InverterSession;
  /** A setting of the config node is wrong: no session; every read fails with this (EINVAL naming the field). */
  invalid?: SmaError;
}

/** A node's hold on its inverter's session: state shown as status, a read ending in ok or in an error. */
export interface SessionBinding {
  session: InverterSession;
  /** True once the node was closed (redeployed alone while its read was under way). */
  closed(): boolean;
  /** The status after a good read (or "not supported"). */
  ok(unsupported?: boolean): void;
  /** Ends a failed read: done(err) so Catch nodes see it, quietly for a known outage. */
  fail(e: unknown, done: (e?: Error) => void): void;
}

/**
 * Binds a node to the session of its sma-inverter config node (def.inverter), mirroring the session's state in the
 * node's status. Without one it sets "no inverter set", fails every input with EINVAL and returns undefined.
 */
export function bindSession(RED: NodeAPI, node: Node, def: NodeDef & { inverter?: string }): SessionBinding | undefined {
  const inverter = def.inverter ? (RED.nodes.getNode(def.inverter) as InverterConfigNode | null) : null;
  const session = inverter?.session;
  if (!session) {
    const invalid = inverter?.invalid;
    node.status(invalid ? errorStatus(RED, invalid) : noConfigStatus(RED));
    node.on("input", (_msg, _send, done: (e?: Error) => void) => done(invalid ?? new SmaError("EINVAL", "no sma-inverter configured")));
    return undefined;
  }
  let lastOk: Date | undefined;
  const onState = (state: InverterState, err?: SmaError): void => {
    const s = stateStatus(RED, state, err);
    if (s) node.status(s);
    else if (state === "ok" && lastOk) node.status(okStatus(RED, lastOk, session.foundAddress !== undefined));
  };
  session.on("state", onState);
  let closed = false;
  node.on("close", () => {
    closed = true;
    session.off("state", onState);
  });
  return {
    session,
    closed: () => closed,
    ok: (unsupported = false) => {
      lastOk = new Date();
      node.status(unsupported ? errorStatus(RED, new SmaError("ENOTSUPPORTED", "")) : okStatus(RED, lastOk, session.foundAddress !== undefined));
    },
    fail: (e, done) => {
      const err = e instanceof SmaError ? e : new SmaError("EPROTOCOL", String(e));
      if (closed || err.code === "ECLOSED") return done();
      // An inverter asleep for the night (or not answering since deploy) fails every poll: say it once; the
      // status ("asleep" or "no answer") was set when it stopped answering and stays until it answers again.
      if (err.quiet) return done();
      node.status(errorStatus(RED, err));
      done(err);
    },
  };
}

export function registerQueryNode(RED: NodeAPI, spec: QueryNodeSpec): void {
  RED.nodes.registerType(spec.type, function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const config = def as NodeDef & { inverter?: string; topic?: string };
    const bound = bindSession(RED, this, config);
    if (!bound) return;
    const { session } = bound;

    this.on("input", (msg: Record<string, unknown>, send: (m: unknown) => void, done: (e?: Error) => void) => {
      const queries = spec.queries(config);
      session.read(queries).then((result) => {
        // Redeployed alone while its read was under way (the inverter's session lives on): nothing to say.
        if (bound.closed()) return done();
        msg.payload = spec.payload(result, config);
        msg.topic = config.topic || `sma/${result.device.serial}/${spec.topic}`;
        msg.sma = { serial: result.device.serial, susyId: result.device.susyId, timestamp: result.timestamp, address: session.address };
        bound.ok(result.unsupported.length > 0 && result.unsupported.length === queries.length);
        send(msg);
        done();
      }, (e: unknown) => bound.fail(e, done));
    });
  });
}
