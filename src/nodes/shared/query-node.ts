/**
 * Every query node is this: on any input, ask the config node's session for the node's queries,
 * shape the payload, send; on failure done(err) so Catch nodes see it, with a status that says why.
 */
import { SmaError, type InverterSession, type InverterState } from "../../client";
import type { Node, NodeAPI, NodeDef } from "./red";
import type { QueryNodeSpec } from "./payloads";
import { errorStatus, noConfigStatus, okStatus, stateStatus } from "./status";

/** What a query node needs from its sma-inverter config node. */
export interface InverterConfigNode extends Node {
  session?: InverterSession;
  /** A setting of the config node is wrong: no session; every read fails with this (EINVAL naming the field). */
  invalid?: SmaError;
}

export function registerQueryNode(RED: NodeAPI, spec: QueryNodeSpec): void {
  RED.nodes.registerType(spec.type, function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const config = def as NodeDef & { inverter?: string; topic?: string };
    const inverter = config.inverter ? (RED.nodes.getNode(config.inverter) as InverterConfigNode | null) : null;
    const session = inverter?.session;
    if (!session) {
      const invalid = inverter?.invalid;
      this.status(invalid ? errorStatus(RED, invalid) : noConfigStatus(RED));
      this.on("input", (_msg, _send, done: (e?: Error) => void) => done(invalid ?? new SmaError("EINVAL", "no sma-inverter configured")));
      return;
    }
    let lastOk: Date | undefined;
    const onState = (state: InverterState, err?: SmaError): void => {
      const s = stateStatus(RED, state, err);
      if (s) this.status(s);
      else if (state === "ok" && lastOk) this.status(okStatus(RED, lastOk, session.foundAddress !== undefined));
    };
    session.on("state", onState);
    let closed = false;
    this.on("close", () => {
      closed = true;
      session.off("state", onState);
    });

    this.on("input", (msg: Record<string, unknown>, send: (m: unknown) => void, done: (e?: Error) => void) => {
      const queries = spec.queries(config);
      session.read(queries).then((result) => {
        // Redeployed alone while its read was under way (the inverter's session lives on): nothing to say.
        if (closed) return done();
        msg.payload = spec.payload(result, config);
        msg.topic = config.topic || `sma/${result.device.serial}/${spec.topic}`;
        msg.sma = { serial: result.device.serial, susyId: result.device.susyId, timestamp: result.timestamp, address: session.address };
        lastOk = new Date();
        const unsupported = result.unsupported.length > 0 && result.unsupported.length === queries.length;
        this.status(unsupported ? errorStatus(RED, new SmaError("ENOTSUPPORTED", "")) : okStatus(RED, lastOk, session.foundAddress !== undefined));
        send(msg);
        done();
      }, (e: unknown) => {
        const err = e instanceof SmaError ? e : new SmaError("EPROTOCOL", String(e));
        if (closed || err.code === "ECLOSED") return done();
        // An inverter asleep for the night (or not answering since deploy) fails every poll: say it once; the
        // status ("asleep" or "no answer") was set when it stopped answering and stays until it answers again.
        if (err.quiet) return done();
        this.status(errorStatus(RED, err));
        done(err);
      });
    });
  });
}
