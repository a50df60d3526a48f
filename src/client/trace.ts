/**
 * The last exchanges of one inverter session, kept in a ring bounded in entries and bytes, and written out as a
 * trace (JSON) for bug reports: `sma-speedwire-sim --replay` serves a trace's answers, so a report becomes a test.
 * Password bytes never enter the ring: a login request's (and a login answer's echo of) the 12 encoded password
 * bytes are replaced by the encoding of the empty password (the group's key 12 times), which no device accepts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  Command,
  LOGIN_PASSWORD_OFFSET,
  PASSWORD_KEY,
  PASSWORD_LENGTH,
  PAYLOAD_OFFSET,
  UserGroup,
  answerCode,
  decodeInverterDatagram,
  type Address,
  type UserGroupName,
} from "../protocol";

/** At most this many datagrams and this many datagram bytes are kept (the oldest go first). */
export const TRACE_LIMITS = { entries: 400, bytes: 128 * 1024 } as const;
/** A trace's JSON stays under this (hex doubles the bytes; each entry adds under 150 characters). */
export const TRACE_MAX_JSON = 2 * TRACE_LIMITS.bytes + TRACE_LIMITS.entries * 150 + 4096;
export const TRACE_FORMAT = "sma-speedwire-trace";

export interface TraceEntry {
  /** When it was sent or received, ms since epoch. */
  t: number;
  /** out: to the device; in: from it. */
  dir: "out" | "in";
  address: string;
  port: number;
  /** The datagram's packet id (15 bits) and command, for reading the trace by eye. */
  packetId: number | null;
  command: string | null;
  hex: string;
}

export interface SessionTrace {
  format: typeof TRACE_FORMAT;
  version: 1;
  created: string;
  package: { name: string; version: string };
  nodeRed: string | null;
  node: string;
  /** The session's settings (never its password). */
  device: {
    host: string;
    port: number;
    serial: number | null;
    group: UserGroupName;
    address: string | null;
    identity: Address | null;
  };
  limits: typeof TRACE_LIMITS;
  /** Datagrams dropped from the ring to keep it in its bounds. */
  dropped: number;
  entries: TraceEntry[];
}

const LOGIN_CODES = new Set([Command.LOGIN, answerCode(Command.LOGIN)]);
const PASSWORD_AT = PAYLOAD_OFFSET + LOGIN_PASSWORD_OFFSET;

/**
 * A copy of the datagram with its password bytes replaced when it is a login request or answer (the group's key
 * 12 times: the encoding of the empty password; zeros for an unknown group). Anything else is returned as it is.
 */
export function redactPassword(buf: Buffer): Buffer {
  let header;
  let payload: Buffer;
  try {
    ({ header, payload } = decodeInverterDatagram(buf));
  } catch {
    // Not an inverter datagram: it cannot be a login, but keep nothing of it that could be one.
    return buf.length >= PASSWORD_AT
      ? Buffer.concat([buf.subarray(0, PASSWORD_AT), Buffer.alloc(buf.length - PASSWORD_AT)])
      : buf;
  }
  // Short login answers (66 bytes) carry no password echo: their last bytes are the end tag.
  if (!LOGIN_CODES.has(header.command) || payload.length < LOGIN_PASSWORD_OFFSET + PASSWORD_LENGTH) return buf;
  const group = (Object.keys(UserGroup) as UserGroupName[]).find((g) => UserGroup[g] === header.first);
  const out = Buffer.from(buf);
  out.fill(group ? PASSWORD_KEY[group] : 0, PASSWORD_AT, PASSWORD_AT + PASSWORD_LENGTH);
  return out;
}

/** Kept as bytes (hex only when written out): half the memory. */
type Kept = Omit<TraceEntry, "hex"> & { buf: Buffer };

export class TraceRing {
  private readonly list: Kept[] = [];
  private bytes = 0;
  private droppedCount = 0;

  constructor(private readonly limits: { entries: number; bytes: number } = TRACE_LIMITS) {}

  record(dir: "out" | "in", datagram: Buffer, address: string, port: number): void {
    // A copy: the socket's buffer is not kept alive by a slice of it.
    const buf = Buffer.from(redactPassword(datagram).subarray(0, this.limits.bytes));
    let packetId: number | null = null;
    let command: string | null = null;
    try {
      const h = decodeInverterDatagram(buf).header;
      packetId = h.packetId;
      command = "0x" + h.command.toString(16).padStart(8, "0");
    } catch {
      // Kept as bytes only.
    }
    this.list.push({ t: Date.now(), dir, address, port, packetId, command, buf });
    this.bytes += buf.length;
    while (this.list.length > this.limits.entries || this.bytes > this.limits.bytes) {
      const gone = this.list.shift() as Kept;
      this.bytes -= gone.buf.length;
      this.droppedCount++;
    }
  }

  get dropped(): number {
    return this.droppedCount;
  }

  entries(): TraceEntry[] {
    return this.list.map(({ buf, ...e }) => ({ ...e, hex: buf.toString("hex") }));
  }

  /** The ring as a trace (InverterSession.trace()): with the session's settings and the package's and Node's versions. */
  trace(device: SessionTrace["device"], nodeRed?: string): SessionTrace {
    return {
      format: TRACE_FORMAT,
      version: 1,
      created: new Date().toISOString(),
      package: packageInfo(),
      nodeRed: nodeRed ?? null,
      node: process.version,
      device,
      limits: TRACE_LIMITS,
      dropped: this.dropped,
      entries: this.entries(),
    };
  }
}

let pkg: { name: string; version: string } | undefined;
/** This package's name and version (from its package.json above this file, in dist/ or build/). */
export function packageInfo(): { name: string; version: string } {
  if (pkg) return pkg;
  let dir = __dirname;
  for (;;) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      try {
        const j = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
        if (j.name === "@speedwire/node-red-sma") return (pkg = { name: j.name, version: String(j.version) });
      } catch {
        // Not ours: look further up.
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return (pkg = { name: "@speedwire/node-red-sma", version: "unknown" });
    dir = up;
  }
}

/** Reads a trace written by InverterSession.trace() (JSON text or parsed); throws Error naming what is wrong. */
export function parseTrace(input: string | unknown): SessionTrace {
  const t = (typeof input === "string" ? JSON.parse(input) : input) as Partial<SessionTrace> | null;
  if (!t || typeof t !== "object" || t.format !== TRACE_FORMAT) throw new Error(`not a ${TRACE_FORMAT} file`);
  if (t.version !== 1) throw new Error(`trace version ${String(t.version)} is not known`);
  if (!Array.isArray(t.entries)) throw new Error("trace without entries");
  for (const e of t.entries) {
    if (!e || (e.dir !== "in" && e.dir !== "out") || typeof e.hex !== "string" || !/^([0-9a-f]{2})*$/i.test(e.hex)) {
      throw new Error("trace entry is not a datagram");
    }
  }
  return t as SessionTrace;
}
