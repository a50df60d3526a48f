/**
 * Serves a session trace (InverterSession.trace(), `sma-speedwire trace`) as a device: each request is answered
 * with the answers the traced device gave to the same command and value range, re-addressed to the asking client
 * (its SUSyID, serial and packet id). A login is answered ok whatever the password (the trace holds none); a
 * query before a login gets "not logged in", as from a real device. A range the trace did not ask exactly is
 * answered with the traced records inside it, or "not supported" when there are none.
 */
import type * as dgram from "node:dgram";
import { EventEmitter } from "node:events";
import {
  Command,
  ErrorCode,
  LOGIN_TIMEOUT_S,
  decodeAnswer,
  decodeInverterDatagram,
  decodeLoginRequest,
  isAnswerCode,
  isDeviceTimeHeader,
  recordSize,
  answerCode,
  type Address,
  type Net2Header,
} from "../protocol";
import { parseTrace, type SessionTrace } from "../client/trace";
import { buildErrorAnswer, buildLoginAnswer } from "./answer-builders";
import { bindDeviceSocket, buildFragmentedAnswer } from "./sim-support";

export interface ReplayOptions {
  /** Default "127.0.0.1". */ address?: string;
  /** Default 0 (ephemeral). */ port?: number;
}

export interface ReplayStats {
  received: number;
  malformed: number;
  logins: number;
  replayed: number;
  composed: number;
  refused: number;
}

/** One traced request and the answer datagrams it got, in the order they came. */
interface Exchange {
  command: number;
  first: number;
  last: number;
  answers: Buffer[];
}

const key = (command: number, first: number, last: number): string => `${command}/${first}/${last}`;

export class ReplayInverter extends EventEmitter {
  readonly trace: SessionTrace;
  readonly stats: ReplayStats = { received: 0, malformed: 0, logins: 0, replayed: 0, composed: 0, refused: 0 };
  /** The traced device's SUSyID and serial (its answers' source). */
  readonly device: Address;
  private readonly exchanges = new Map<string, Exchange>();
  private readonly timeRecords: Buffer[] = [];
  private readonly sessions = new Set<string>();
  private socket?: dgram.Socket;

  constructor(
    trace: SessionTrace | string,
    private readonly options: ReplayOptions = {},
  ) {
    super();
    this.trace = parseTrace(trace);
    const byId = new Map<number, Exchange>();
    let device: Address | undefined = this.trace.device.identity ?? undefined;
    for (const e of this.trace.entries) {
      const buf = Buffer.from(e.hex, "hex");
      let h: Net2Header;
      try {
        h = decodeInverterDatagram(buf).header;
      } catch {
        continue;
      }
      if (e.dir === "out") {
        if (isAnswerCode(h.command) || h.command === Command.LOGIN || h.command === Command.LOGOFF) continue;
        // A resend keeps its packet id and its answers so far.
        const known = byId.get(h.packetId);
        if (!known || key(known.command, known.first, known.last) !== key(h.command, h.first, h.last)) {
          byId.set(h.packetId, { command: h.command, first: h.first, last: h.last, answers: [] });
        }
      } else if (isDeviceTimeHeader(h)) {
        this.timeRecords.push(buf);
      } else {
        device ??= h.source;
        const x = byId.get(h.packetId);
        if (!x || h.command !== answerCode(x.command) || x.answers.some((a) => a.equals(buf))) continue;
        x.answers.push(buf);
        // The latest complete answer to a range wins (a trace may hold several reads).
        if (h.fragment === 0) this.exchanges.set(key(x.command, x.first, x.last), { ...x, answers: [...x.answers] });
      }
    }
    this.device = device ?? { susyId: 0xffff, serial: this.trace.device.serial ?? 0xffffffff };
  }

  get address(): string {
    return this.socket?.address().address ?? this.options.address ?? "127.0.0.1";
  }

  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  /** How many distinct requests (command and range) the trace can answer exactly. */
  get size(): number {
    return this.exchanges.size;
  }

  async start(): Promise<{ address: string; port: number }> {
    if (!this.socket) {
      const s = await bindDeviceSocket(
        this.options.address ?? "127.0.0.1",
        this.options.port ?? 0,
        false,
        (msg, rinfo) => this.onMessage(msg, rinfo),
        (err) => this.emit("socketError", err),
      );
      this.socket = s;
    }
    return { address: this.address, port: this.port };
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Sends the trace's last device-time record (as traced) to every client logged in; resolves with how many. */
  async pushTime(): Promise<number> {
    const s = this.socket;
    const record = this.timeRecords[this.timeRecords.length - 1];
    if (!s || !record) return 0;
    const to = [...this.sessions].map((k) => k.split("/")[0]);
    await Promise.all(
      to.map(
        (who) =>
          new Promise<void>((resolve) => {
            const i = who.lastIndexOf(":");
            s.send(record, Number(who.slice(i + 1)), who.slice(0, i), () => resolve());
          }),
      ),
    );
    return to.length;
  }

  private onMessage(msg: Buffer, from: dgram.RemoteInfo): void {
    this.stats.received++;
    try {
      this.handle(msg, from);
    } catch {
      this.stats.malformed++;
    }
  }

  private handle(msg: Buffer, from: dgram.RemoteInfo): void {
    const { header: h, payload } = decodeInverterDatagram(msg);
    if (isAnswerCode(h.command) || isDeviceTimeHeader(h)) return;
    const who = `${from.address}:${from.port}/${h.source.susyId}/${h.source.serial}`;
    const base = { source: this.device, destination: h.source, packetId: h.packetId };
    if (h.command === Command.LOGIN) {
      const { time } = decodeLoginRequest(payload);
      this.stats.logins++;
      this.sessions.add(who);
      return this.send(
        [
          buildLoginAnswer({
            ...base,
            errorCode: ErrorCode.OK,
            group: h.first,
            timeoutS: h.last || LOGIN_TIMEOUT_S,
            time,
          }),
        ],
        from,
      );
    }
    if (h.command === Command.LOGOFF) return void this.sessions.delete(who);
    if (!this.sessions.has(who)) {
      return this.send(
        [
          buildErrorAnswer({
            ...base,
            command: h.command,
            first: h.first,
            last: h.last,
            errorCode: ErrorCode.NOT_LOGGED_IN,
          }),
        ],
        from,
      );
    }
    const exact = this.exchanges.get(key(h.command, h.first, h.last));
    if (exact) {
      this.stats.replayed++;
      return this.send(
        exact.answers.map((a) => readdress(a, h)),
        from,
      );
    }
    const records = this.recordsIn(h.command, h.first, h.last);
    if (records.length === 0) {
      this.stats.refused++;
      return this.send(
        [
          buildErrorAnswer({
            ...base,
            command: h.command,
            first: h.first,
            last: h.last,
            errorCode: ErrorCode.NOT_SUPPORTED,
          }),
        ],
        from,
      );
    }
    this.stats.composed++;
    this.send(buildFragmentedAnswer({ ...base, command: h.command, firstIndex: 1, records }), from);
  }

  /** Every traced record of that command whose value id (LRI and class) lies in first..last, each once. */
  private recordsIn(command: number, first: number, last: number): Buffer[] {
    const out = new Map<string, Buffer>();
    for (const x of this.exchanges.values()) {
      if (x.command !== command) continue;
      for (const a of x.answers) {
        const { header, payload } = decodeAnswer(a);
        if (header.errorCode !== 0 || payload.length === 0) continue;
        const size = recordSize(header, payload.length);
        for (let off = 0; off + size <= payload.length; off += size) {
          const r = payload.subarray(off, off + size);
          const id = ((r.readUInt16LE(1) << 8) | r.readUInt8(0)) >>> 0;
          if (id >= first && id <= last && !out.has(r.toString("hex"))) out.set(r.toString("hex"), Buffer.from(r));
        }
      }
    }
    return [...out.values()];
  }

  private send(datagrams: Buffer[], to: dgram.RemoteInfo): void {
    for (const d of datagrams) {
      try {
        this.socket?.send(d, to.port, to.address, () => undefined);
      } catch {
        // Closed meanwhile.
      }
    }
  }
}

/** A traced answer for another client: its SUSyID, serial and packet id (the traced packet-id flag kept). */
function readdress(answer: Buffer, request: Net2Header): Buffer {
  const out = Buffer.from(answer);
  out.writeUInt16LE(request.source.susyId & 0xffff, 20);
  out.writeUInt32LE(request.source.serial >>> 0, 22);
  out.writeUInt16LE((out.readUInt16LE(40) & 0x8000) | (request.packetId & 0x7fff), 40);
  return out;
}
