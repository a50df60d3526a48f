/**
 * Every query node is this: on any input, ask the config node's session for the node's queries,
 * shape the payload, send; on failure done(err) so Catch nodes see it, with a status that says why.
 */
import { SmaError, type InverterSession } from "../../src/client";
import type { Node, NodeAPI, NodeDef } from "node-red";
import type { QueryNodeSpec } from "./payloads";
import { ReadStatus, noConfigStatus } from "./status";

/** What a query node needs from its sma-inverter config node. */
export interface InverterConfigNode extends Node<{ password?: string }> {
  session?: InverterSession;
}

export function registerQueryNode(RED: NodeAPI, spec: QueryNodeSpec): void {
  RED.nodes.registerType(spec.type, function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const config: Record<string, unknown> & { inverter?: string; topic?: string } = { ...def };
    const inverter = config.inverter ? (RED.nodes.getNode(config.inverter) as InverterConfigNode | null) : null;
    const session = inverter?.session;
    if (!session) {
      this.status(noConfigStatus(RED));
      this.on("input", (_msg, _send, done) => done(new SmaError("EINVAL", "no sma-inverter configured")));
      return;
    }
    const status = new ReadStatus(RED, this, session);
    session.on("state", status.onState);
    let closed = false;
    this.on("close", () => {
      closed = true;
      session.off("state", status.onState);
    });

    this.on("input", (msg, send, done) => {
      const queries = spec.queries(config);
      session.read(queries).then((result) => {
        // Redeployed alone while its read was under way (the inverter's session lives on): nothing to say.
        if (closed) return done();
        Object.assign(msg, {
          payload: spec.payload(result, config),
          topic: config.topic || `sma/${result.device.serial}/${spec.topic}`,
          sma: { serial: result.device.serial, susyId: result.device.susyId, timestamp: result.timestamp, address: session.address },
        });
        status.read(result);
        send(msg);
        done();
      }, (e: unknown) => {
        const err = e instanceof SmaError ? e : new SmaError("EPROTOCOL", String(e));
        if (closed || err.code === "ECLOSED") return done();
        // An inverter asleep for the night (or not answering since deploy) fails every poll: say it once; the
        // status ("asleep" or "no answer") was set when it stopped answering and stays until it answers again.
        if (err.quiet) return done();
        status.failed(err);
        done(err);
      });
    });
  });
}
