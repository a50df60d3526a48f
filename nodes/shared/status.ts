/** One mapping from client states and errors to status dots, so every node looks alike. */
import { SmaError, type InverterSession, type InverterState, type SmaErrorCode } from "../../src/client";
import type { Node, NodeAPI, NodeStatus } from "node-red";

const NS = "@speedwire/node-red-sma/sma-inverter:status.";

const ERROR_KEYS: Record<SmaErrorCode, string> = {
  ETIMEDOUT: "timeout",
  EAUTH: "auth",
  ENOTSUPPORTED: "notSupported",
  EUNREACHABLE: "unreachable",
  ENOTFOUND: "notFound",
  EAMBIGUOUS: "ambiguous",
  EPROTOCOL: "protocol",
  ECLOSED: "closed",
  EINVAL: "error",
  ESOCKET: "error",
  EHANDLER: "error",
};

export function hhmmss(d: Date = new Date()): string {
  return d.toTimeString().slice(0, 8);
}

export function errorStatus(RED: NodeAPI, err: SmaError): NodeStatus {
  if (err.code === "EAUTH" && err.paused) return { fill: "red", shape: "ring", text: RED._(NS + "backoff") };
  if (err.code === "ENOTSUPPORTED") return { fill: "grey", shape: "ring", text: RED._(NS + "notSupported") };
  if (err.code === "EINVAL" && err.field) return { fill: "red", shape: "ring", text: RED._(NS + "bad." + err.field) };
  return { fill: "red", shape: "ring", text: RED._(NS + ERROR_KEYS[err.code], { code: err.code }) };
}

export function stateStatus(RED: NodeAPI, state: InverterState, err?: SmaError): NodeStatus | undefined {
  switch (state) {
    case "searching":
      return { fill: "yellow", shape: "ring", text: RED._(NS + "searching") };
    case "connecting":
      return { fill: "yellow", shape: "ring", text: RED._(NS + "connecting") };
    case "reading":
      return { fill: "blue", shape: "dot", text: RED._(NS + "reading") };
    case "asleep":
      return { fill: "grey", shape: "ring", text: RED._(NS + "asleep") };
    case "auth":
      return { fill: "red", shape: "ring", text: RED._(NS + "auth") };
    case "error":
      return err ? errorStatus(RED, err) : { fill: "red", shape: "ring", text: RED._(NS + "error", { code: "?" }) };
    default:
      // "ok" is set by each node with its own time; idle and closed leave the dot as it is.
      return undefined;
  }
}

/** "ok 12:00:01", or "ok 12:00:01 via SN" when the inverter was found by its serial (the address is logged). */
export function okStatus(RED: NodeAPI, at: Date = new Date(), foundBySerial = false): NodeStatus {
  const text = RED._(NS + (foundBySerial ? "okFound" : "ok"), { time: hhmmss(at) });
  return { fill: "green", shape: "dot", text };
}

export function noConfigStatus(RED: NodeAPI): NodeStatus {
  return { fill: "red", shape: "ring", text: RED._(NS + "noConfig") };
}

/**
 * The one place a reading node's dot is set: from the session's state (shared by every node of the inverter)
 * and from the outcome of this node's own reads, which the state alone cannot tell (its time, nothing supported).
 */
export class ReadStatus {
  private lastOk?: Date;

  constructor(private readonly RED: NodeAPI, private readonly node: Node, private readonly session: InverterSession) {}

  /** Listener for the session's "state" event. */
  readonly onState = (state: InverterState, err?: SmaError): void => {
    const s = stateStatus(this.RED, state, err);
    if (s) this.node.status(s);
    else if (state === "ok" && this.lastOk) this.node.status(this.ok());
  };

  /** This node's read succeeded; nothingSupported as the session's read result says (ReadResult.nothingSupported). */
  read(nothingSupported: boolean): void {
    this.lastOk = new Date();
    this.node.status(nothingSupported ? errorStatus(this.RED, new SmaError("ENOTSUPPORTED", "")) : this.ok());
  }

  /** This node's read failed (and the failure is worth a dot: not quiet, not closed). */
  failed(err: SmaError): void {
    this.node.status(errorStatus(this.RED, err));
  }

  private ok(): NodeStatus {
    return okStatus(this.RED, this.lastOk, this.session.foundAddress !== undefined);
  }
}
