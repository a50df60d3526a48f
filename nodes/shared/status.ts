/** One mapping from client states and errors to status dots, so every node looks alike. */
import { ErrorCode, hexCode } from "../../src/protocol";
import { SmaError, type InverterSession, type InverterState, type SmaErrorCode } from "../../src/client";
import type { Node, NodeAPI, NodeStatus } from "node-red";

const NS = "@speedwire/node-red-sma/sma-inverter:status.";

const ERROR_KEYS: Record<SmaErrorCode, string> = {
  ETIMEDOUT: "timeout",
  EAUTH: "auth",
  EREFUSED: "refused",
  EENCRYPTED: "encrypted",
  EOTHERDEVICE: "otherDevice",
  ENOTSUPPORTED: "notSupported",
  EUNREACHABLE: "unreachable",
  ENOTFOUND: "notFound",
  EAMBIGUOUS: "ambiguous",
  EPROTOCOL: "protocol",
  ECLOSED: "closed",
  EBUSY: "busy",
  EINVAL: "error",
  ESOCKET: "error",
  EHANDLER: "error",
};

export function hhmmss(d: Date = new Date()): string {
  return d.toTimeString().slice(0, 8);
}

export function errorStatus(RED: NodeAPI, err: SmaError): NodeStatus {
  if (err.code === "EINVAL" && err.missing && err.field === "password")
    return { fill: "red", shape: "ring", text: RED._(NS + "noPassword") };
  if (err.code === "EAUTH" && err.paused) return { fill: "red", shape: "ring", text: RED._(NS + "backoff") };
  if (err.code === "EAUTH" && err.noSession) return { fill: "red", shape: "ring", text: RED._(NS + "noSession") };
  if (err.code === "ENOTFOUND" && err.lookup)
    return { fill: "red", shape: "ring", text: RED._(NS + (err.lookup === "timeout" ? "dnsTimeout" : "nameNotFound")) };
  if (err.code === "EBUSY" && err.lane === "archive")
    return { fill: "red", shape: "ring", text: RED._(NS + "busyArchive") };
  if (err.code === "ENOTSUPPORTED") {
    return {
      fill: "grey",
      shape: "ring",
      text: RED._(NS + (err.deviceCode === ErrorCode.UNKNOWN_COMMAND ? "unknownObject" : "notSupported")),
    };
  }
  // The device's own code, in hex as the sources print it ("device error 0x0123").
  if (err.code === "EPROTOCOL" && err.deviceCode !== undefined) {
    return { fill: "red", shape: "ring", text: RED._(NS + "deviceError", { hex: hexCode(err.deviceCode) }) };
  }
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
      return err ? errorStatus(RED, err) : { fill: "red", shape: "ring", text: RED._(NS + "auth") };
    case "error":
      return err ? errorStatus(RED, err) : { fill: "red", shape: "ring", text: RED._(NS + "error", { code: "?" }) };
    default:
      // "ok" is set by each node with its own time; idle and closed leave the dot as it is.
      return undefined;
  }
}

/**
 * "ok 12:00:01"; "ok 12:00:01 · lossy" while the link loses many datagrams (it says more than where it was
 * found); else "ok 12:00:01 via SN" when the inverter was found by its serial (the address is logged); else
 * "ok 192.168.178.23" when its host name now points to another address than at first (`movedTo`).
 */
export function okStatus(
  RED: NodeAPI,
  at: Date = new Date(),
  foundBySerial = false,
  poorLink = false,
  movedTo?: string,
): NodeStatus {
  const key = poorLink ? "okPoor" : foundBySerial ? "okFound" : movedTo ? "okMoved" : "ok";
  const text = RED._(NS + key, { time: hhmmss(at), address: movedTo ?? "" });
  return { fill: "green", shape: "dot", text };
}

export function noConfigStatus(RED: NodeAPI): NodeStatus {
  return { fill: "red", shape: "ring", text: RED._(NS + "noConfig") };
}

/** Errors about the inverter or its settings, not about one node's read: every node of the inverter may show them. */
const SESSION_WIDE: ReadonlySet<SmaErrorCode> = new Set<SmaErrorCode>([
  "ETIMEDOUT",
  "EAUTH",
  "EREFUSED",
  "EENCRYPTED",
  "EOTHERDEVICE",
  "EUNREACHABLE",
  "ENOTFOUND",
  "EAMBIGUOUS",
  "ESOCKET",
]);

/**
 * The one place a reading node's dot is set. Its own read's progress ("reading" only while its own read is under
 * way), its own outcome (its time, its errors), and the session-wide states every node of the inverter shares
 * (asleep, wrong password, no answer): a node never triggered shows only those, else nothing.
 */
export class ReadStatus {
  private lastOk?: Date;
  /** This node's reads under way (queued or running). */
  private pending = 0;
  /** The dot of this node's last outcome, shown again when a session-wide state clears. */
  private own?: NodeStatus;
  /** The dot shows a session-wide state, not this node's own. */
  private shared = false;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    private readonly session: InverterSession,
  ) {}

  /** Listener for the session's "state" event. */
  readonly onState = (state: InverterState, err?: SmaError): void => {
    if (state === "searching" || state === "connecting" || state === "reading") {
      // Progress of some node's read: this node's dot says it only while its own read waits for it.
      if (this.pending > 0) this.node.status(stateStatus(this.RED, state) ?? {});
    } else if (state === "asleep" || state === "auth" || (state === "error" && err && SESSION_WIDE.has(err.code))) {
      this.shared = true;
      this.node.status(stateStatus(this.RED, state, err) ?? {});
    } else if (state === "ok" && this.shared && this.pending === 0) {
      // The inverter answers again: back to this node's own last outcome (nothing if it never read).
      this.shared = false;
      this.node.status(this.own ?? {});
    }
  };

  /** This node starts a read: the session's progress (searching, connecting, reading) shows until it ends. */
  start(): void {
    this.pending++;
  }

  /**
   * This node's read succeeded; nothingSupported as the session's read result says (ReadResult.nothingSupported),
   * unknown when the device does not know any of the objects asked for (0x0014 to every query).
   */
  read(nothingSupported: boolean, unknown = false): void {
    this.lastOk = new Date();
    const none = new SmaError("ENOTSUPPORTED", "", unknown ? ErrorCode.UNKNOWN_COMMAND : ErrorCode.NOT_SUPPORTED);
    this.settle(nothingSupported ? errorStatus(this.RED, none) : this.ok());
  }

  /** This node's read failed (and the failure is worth a dot: not quiet, not closed). */
  failed(err: SmaError): void {
    // Its own (EBUSY, EPROTOCOL, ...): stays until its next read, whatever other nodes' reads do.
    if (!SESSION_WIDE.has(err.code)) return this.settle(errorStatus(this.RED, err));
    // About the inverter, not this node: it clears when any node's read gets an answer again.
    this.pending = Math.max(0, this.pending - 1);
    this.shared = true;
    this.node.status(errorStatus(this.RED, err));
  }

  /** This node's read ended quietly (a known outage: the session-wide dot stays) or was abandoned. */
  ended(): void {
    this.pending = Math.max(0, this.pending - 1);
    if (this.pending === 0 && !this.shared) this.node.status(this.own ?? {});
  }

  private settle(status: NodeStatus): void {
    this.pending = Math.max(0, this.pending - 1);
    this.own = status;
    this.shared = false;
    this.node.status(status);
  }

  private ok(): NodeStatus {
    const s = this.session;
    return okStatus(
      this.RED,
      this.lastOk,
      s.foundAddress !== undefined,
      s.poorLink,
      s.nameMoved ? s.address : undefined,
    );
  }
}

const METER = "@speedwire/node-red-sma/sma-energy-meter:status.";

/**
 * The energy meter node's dot, the one place it is set. Data, too many meters and no data repeat only what changes
 * (up to 10 datagrams/s arrive without throttle); an error always shows, and whatever comes next shows after it.
 */
export class MeterStatus {
  private last = "";

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
  ) {}

  /** A wrong setting: the node reads nothing. */
  invalid(field: string): void {
    this.node.status({ fill: "red", shape: "ring", text: this.RED._(METER + "bad." + field) });
  }

  /** Listening, no datagram yet. */
  waiting(): void {
    this.node.status({ fill: "yellow", shape: "ring", text: this.RED._(METER + "waiting") });
  }

  /** A reading was sent: its power (W), or "too many meters" while datagrams of further meters are dropped. */
  sent(power: number | null, tooMany: boolean): void {
    if (tooMany) return this.tooMany();
    this.show({
      fill: "green",
      shape: "dot",
      text: this.RED._(METER + "ok", { power: power === null ? "–" : String(Math.round(power)) }),
    });
  }

  /** Datagrams of more meters than are tracked arrive (they are dropped). */
  tooMany(): void {
    this.show({ fill: "yellow", shape: "dot", text: this.RED._(METER + "tooMany") });
  }

  /** No datagram for s seconds (the watchdog). */
  noData(s: number): void {
    this.show({ fill: "yellow", shape: "ring", text: this.RED._(METER + "noData", { s: String(s) }) });
  }

  /** The listener failed: the system's code (EADDRINUSE ...) or the error's. */
  error(code: string): void {
    this.last = "";
    this.node.status({ fill: "red", shape: "ring", text: this.RED._(METER + "error", { code }) });
  }

  private show(status: NodeStatus & { text: string }): void {
    if (status.text !== this.last) this.node.status(status);
    this.last = status.text;
  }
}
