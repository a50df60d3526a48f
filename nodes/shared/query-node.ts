/**
 * Every query node is this: on any input, ask the config node's session for the node's queries,
 * shape the payload, send; on failure the node's outage setting says how the message ends (see OutageMode), with a
 * status that says why. Every input message ends: done(), done(err) or a message sent and done().
 */
import { SmaError, type InverterSession, type ReadResult } from "../../src/client";
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import type { QueryNodeSpec } from "./payloads";
import { ReadStatus, errorStatus, noConfigStatus } from "./status";

/**
 * What a reading node does with a failed read (its "outage" setting; missing in flows saved before it: "status"):
 * - "status": the first failure of an outage (and any other error) ends with done(err), so Catch nodes see it; later
 *   failures while the inverter stays silent end with done() only (Complete nodes see them): the status dot says it.
 * - "error": every failed read ends with done(err), also those of a known outage: Catch sees each one.
 * - "null": every failed read sends the message on, its payload fields null and msg.sma.state / msg.sma.error saying
 *   why, and ends with done(); errors other than a known outage are also logged as a warning.
 */
export type OutageMode = "status" | "error" | "null";

export function outageMode(v: unknown): OutageMode {
  return v === "error" || v === "null" ? v : "status";
}

/** msg.sma.state and msg.sma.error of the message a failed read sends in "null" mode. */
export function failureInfo(
  session: InverterSession,
  err: SmaError,
): { state: string; error: { code: string; message: string } } {
  return { state: session.state, error: { code: err.code, message: err.message } };
}

/** The label of a node in logs and errors when the user gave it no name: its type's default label and its inverter's. */
export function defaultName(RED: NodeAPI, key: string, inverter?: Node | null): string {
  const label = RED._(key);
  const inv = inverter ? inverterLabel(inverter as InverterConfigNode) : "";
  return inv ? `${label} (${inv})` : label;
}

/** The config node's name, else its host, else its serial, else "". */
export function inverterLabel(n: { name?: string; host?: unknown; serial?: unknown }): string {
  const host = typeof n.host === "string" ? n.host.trim() : "";
  const serial = n.serial === undefined || n.serial === null ? "" : String(n.serial).trim();
  return n.name || host || (serial ? `SN ${serial}` : "");
}

/** What a query node needs from its sma-inverter config node. */
export interface InverterConfigNode extends Node<{ password?: string }> {
  session?: InverterSession;
  host?: string;
  serial?: string | number;
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
  /**
   * Ends a failed read as the node's outage mode says. `answer` sends the message of "null" mode (null values,
   * msg.sma.state and .error); without it (the input itself was wrong) the read ends with done(err) whatever the mode.
   */
  fail(e: unknown, done: (e?: Error) => void, answer?: (err: SmaError) => void): void;
}

/**
 * Binds a node to the session of its sma-inverter config node (def.inverter); its dot is set by one ReadStatus.
 * Without a session it sets "no inverter set", fails every input with EINVAL and returns undefined.
 */
export function bindSession(
  RED: NodeAPI,
  node: Node,
  def: NodeDef & { inverter?: string; outage?: string },
  labelKey?: string,
): SessionBinding | undefined {
  const inverter = def.inverter ? (RED.nodes.getNode(def.inverter) as InverterConfigNode | null) : null;
  // Logs and errors (Catch's msg.error.source.name) name an unnamed node by its label and inverter, not its id.
  if (!def.name && labelKey) node.name = defaultName(RED, labelKey, inverter);
  const mode = outageMode(def.outage);
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
    fail: (e, done, answer) => {
      const err = SmaError.from(e);
      // Closed (redeploy) while the read waited: nobody waits for this message any more.
      if (closed || err.code === "ECLOSED") {
        status.ended();
        return done();
      }
      // An inverter asleep for the night (or not answering since deploy) fails every poll: the status ("asleep" or
      // "no answer") was set when it stopped answering and stays until it answers again.
      if (err.quiet) status.ended();
      else status.failed(err);
      if (mode === "null" && answer) {
        if (!err.quiet) node.warn(err.message);
        answer(err);
        return done();
      }
      // "status": said once (the first failure), later ones end quietly; "error": every time.
      if (err.quiet && mode === "status") return done();
      done(err);
    },
  };
}

/** The catalog key of a node type's default label (the label an unnamed node shows on the canvas). */
export function labelKeyOf(type: string): string {
  return type === "sma-read"
    ? "@speedwire/node-red-sma/sma-read:label.default"
    : `@speedwire/node-red-sma/sma-query:${type}.default`;
}

/**
 * What a query node's payload is without any value (every field null): its shape for a read that got nothing,
 * with the device as far as the session knows it.
 */
export function emptyResult(session: InverterSession): ReadResult {
  const serial =
    session.identity?.serial ?? (typeof session.options.serial === "number" ? session.options.serial : null);
  return {
    values: {},
    readings: [],
    unsupported: [],
    unknown: [],
    nothingSupported: false,
    timestamp: Date.now(),
    device: { serial, susyId: session.identity?.susyId ?? null } as unknown as ReadResult["device"],
  };
}

export function registerQueryNode(RED: NodeAPI, spec: QueryNodeSpec): void {
  RED.nodes.registerType(spec.type, function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const config: Record<string, unknown> & { inverter?: string; topic?: string } = { ...def };
    const bound = bindSession(RED, this, def as NodeDef & { inverter?: string }, labelKeyOf(spec.type));
    if (!bound) return;
    const { session } = bound;
    const topicOf = (serial: number | null): string => config.topic || `sma/${serial ?? "unknown"}/${spec.topic}`;

    this.on("input", (msg: NodeMessageInFlow, send: (m: NodeMessage) => void, done: (e?: Error) => void) => {
      const queries = spec.queries(config);
      bound.start();
      session.read(queries).then(
        (result) => {
          // Redeployed alone while its read was under way (the inverter's session lives on): nothing to say.
          if (bound.closed()) return done();
          Object.assign(msg, {
            payload: spec.payload(result, config),
            topic: topicOf(result.device.serial),
            sma: {
              serial: result.device.serial,
              susyId: result.device.susyId,
              timestamp: result.timestamp,
              address: session.address,
              link: session.linkFigures,
            },
          });
          bound.ok(result.nothingSupported, result.nothingSupported && result.unsupported.length === 0);
          send(msg);
          done();
        },
        (e: unknown) =>
          bound.fail(e, done, (err) => {
            const empty = emptyResult(session);
            Object.assign(msg, {
              payload: spec.payload(empty, config),
              topic: topicOf(empty.device.serial),
              sma: {
                serial: empty.device.serial,
                susyId: empty.device.susyId,
                timestamp: empty.timestamp,
                address: session.address,
                link: session.linkFigures,
                ...failureInfo(session, err),
              },
            });
            send(msg);
          }),
      );
    });
  });
}
