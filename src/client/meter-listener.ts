/**
 * Listens for SMA Energy Meter / Sunny Home Manager datagrams (multicast 239.12.255.254:9522, or unicast).
 *
 * One UDP socket per (port, group, interfaceAddress, bindAddress), shared in the process:
 *   const l = MeterListener.acquire({ group, port, interfaceAddress });   // refcount + 1, binds on first use
 *   l.on("meter", onMeter); l.on("error", onError);
 *   ...; l.off("meter", onMeter); l.off("error", onError); await l.release(); // refcount - 1, closes at 0
 * Port 0 (ephemeral, tests) is never shared: each acquire gets its own socket. `new MeterListener(opts)` makes an
 * unshared listener that `close()` ends. A listener whose bind failed leaves the registry: acquire again to retry.
 *
 * Events: "listening" ({address, port}), "meter" (MeterEvent), "error" (MeterListenerError, an SmaError; only emitted when
 * someone listens; otherwise kept in `lastError` so that it never becomes an uncaught exception), "close".
 * Socket handlers never throw: other protocols and garbage are counted in `stats.ignored`, broken meter
 * datagrams in `stats.malformed`, copies of a frame (one per interface, or resent) in `stats.duplicates`.
 *
 * With reuseAddr (default) several programs can listen on 9522 and each gets the multicast datagrams; the
 * kernel gives a unicast datagram to one of them only. Interfaces are enumerated when the socket binds.
 */
import * as dgram from "node:dgram";
import { ipv4Interfaces } from "./interfaces";
import { answerable, guarded } from "./guard";
import { EventEmitter } from "node:events";
import { MULTICAST_GROUP, SPEEDWIRE_PORT } from "../protocol/constants";
import { DecodeError } from "../protocol/errors";
import { SmaError } from "./errors";
import { noteKeyExchange } from "./key-exchanges";
import { hasSignature } from "../protocol/framing";
import { decodeMeterDatagram, type MeterDatagram } from "../protocol/meter";

export interface MeterListenerOptions {
  /** Multicast group to join; null = unicast only. Default 239.12.255.254. */
  group?: string | null;
  /** Default 9522. 0 = an ephemeral port (read it from `address()` after "listening"). */
  port?: number;
  /** Local IPv4 address of the interface to join on; undefined = every non-internal IPv4 interface. */
  interfaceAddress?: string;
  /** Address the socket binds to. Default 0.0.0.0: on Linux a socket bound to one address gets no multicast. */
  bindAddress?: string;
  /** Share the port with other listeners (SO_REUSEADDR). Default true. */
  reuseAddr?: boolean;
  /** Copies of a frame (same SUSyID, serial, ticker and bytes) within this time are dropped. Default 2000 ms. */
  duplicateWindowMs?: number;
}

export interface Endpoint {
  address: string;
  port: number;
}

export interface MeterEvent {
  datagram: MeterDatagram;
  from: Endpoint;
  receivedAt: Date;
}

export interface MeterListenerStats {
  /** Every datagram: received = decoded + duplicates + ignored + malformed. */
  received: number;
  /** Meter datagrams decoded and emitted. */
  decoded: number;
  duplicates: number;
  /** Not SMA, or an SMA protocol other than 0x6069 / 0x6081 (inverter data, discovery, 0x6073). */
  ignored: number;
  /** Meter protocol but undecodable (DecodeError other than EPROTOCOL). */
  malformed: number;
  /** Of the ignored: Speedwire encryption key exchanges (0x6075), noted for the inverter sessions of this process. */
  keyExchanges: number;
}

export type MeterListenerPhase = "bind" | "join" | "socket" | "handler";

/**
 * What went wrong, as an SmaError: EHANDLER when a "meter" handler threw, ECLOSED when closed while binding, else
 * ESOCKET with the system's code (EADDRINUSE, EACCES, ENODEV, ...) in systemCode; and the phase it failed in.
 */
export class MeterListenerError extends SmaError {
  readonly phase: MeterListenerPhase;
  /** The interface a join failed on. */
  readonly interfaceAddress?: string;
  constructor(
    phase: MeterListenerPhase,
    systemCode: string,
    message: string,
    options?: { cause?: unknown; interfaceAddress?: string },
  ) {
    const code = phase === "handler" ? "EHANDLER" : systemCode === "ECLOSED" ? "ECLOSED" : "ESOCKET";
    super(code, message, { cause: options?.cause, systemCode: code === "ESOCKET" ? systemCode : undefined });
    this.name = "MeterListenerError";
    this.phase = phase;
    if (options?.interfaceAddress !== undefined) this.interfaceAddress = options.interfaceAddress;
  }
}

type State = "binding" | "listening" | "failed" | "closed";
/** Frames remembered for duplicate detection (a plant sends a few per second per interface). */
const MAX_RECENT = 256;
/** The options with their defaults filled in. */
export interface ResolvedMeterListenerOptions {
  group: string | null;
  port: number;
  interfaceAddress: string | undefined;
  bindAddress: string;
  reuseAddr: boolean;
  duplicateWindowMs: number;
}

function resolve(o: MeterListenerOptions): ResolvedMeterListenerOptions {
  return {
    group: o.group === undefined ? MULTICAST_GROUP : o.group,
    port: o.port ?? SPEEDWIRE_PORT,
    interfaceAddress: o.interfaceAddress,
    bindAddress: o.bindAddress ?? "0.0.0.0",
    reuseAddr: o.reuseAddr ?? true,
    duplicateWindowMs: o.duplicateWindowMs ?? 2000,
  };
}

const codeOf = (e: unknown, fallback: string): string =>
  typeof (e as { code?: unknown } | null)?.code === "string" ? (e as { code: string }).code : fallback;

/** A meter whose datagrams a listener of this process decoded (for Diagnose: who sends here, from where, how). */
export interface HeardMeter {
  serial: number;
  susyId: number;
  /** Net 2 protocol id (0x6069, 0x6081). */
  protocol: number;
  address: string;
  port: number;
  /**
   * "unicast": heard on a socket that joined no group (so sent to this host's address); "group": on a socket that
   * joined the multicast group (the socket cannot tell multicast from unicast to this host).
   */
  cast: "unicast" | "group";
  firstAt: number;
  lastAt: number;
  count: number;
}

/** Meters remembered by (serial, source address, port); the one heard from longest ago goes first beyond this. */
export const MAX_HEARD_METERS = 64;
const heardMeters = new Map<string, HeardMeter>();

function noteMeter(d: MeterDatagram, from: Endpoint, cast: HeardMeter["cast"], at: number): void {
  const key = `${d.serial}|${from.address}|${from.port}|${cast}`;
  const h = heardMeters.get(key);
  heardMeters.delete(key);
  heardMeters.set(
    key,
    h
      ? { ...h, lastAt: at, count: h.count + 1 }
      : {
          serial: d.serial,
          susyId: d.susyId,
          protocol: d.protocol,
          address: from.address,
          port: from.port,
          cast,
          firstAt: at,
          lastAt: at,
          count: 1,
        },
  );
  if (heardMeters.size > MAX_HEARD_METERS) heardMeters.delete(heardMeters.keys().next().value as string);
}

/** The meters any listener of this process heard within the last sinceMs, newest first. */
export function metersHeard(sinceMs: number, now = Date.now()): HeardMeter[] {
  return [...heardMeters.values()]
    .filter((h) => now - h.lastAt <= sinceMs)
    .reverse()
    .map((h) => ({ ...h }));
}

/** Listeners open in this process (shared or not): whether anything could have heard a meter. */
let openListeners = 0;
export function meterListenersOpen(): number {
  return openListeners;
}

/** Addresses of the non-internal IPv4 interfaces, where meters are. */
export class MeterListener extends EventEmitter {
  private static readonly registry = new Map<string, MeterListener>();

  /** The shared listener for these options (created and bound on first use); call `release()` when done. */
  static acquire(options: MeterListenerOptions = {}): MeterListener {
    const o = resolve(options);
    const key = MeterListener.keyOf(o);
    let l = o.port === 0 ? undefined : MeterListener.registry.get(key);
    if (!l || l.state === "failed" || l.state === "closed") {
      l = new MeterListener(options);
      if (o.port !== 0) MeterListener.registry.set(key, l);
    }
    l.refs++;
    return l;
  }

  /** Shared listeners currently open (for diagnostics and tests). */
  static sharedCount(): number {
    return MeterListener.registry.size;
  }

  private static keyOf(o: ResolvedMeterListenerOptions): string {
    return [o.port, o.group ?? "-", o.interfaceAddress ?? "*", o.bindAddress].join("|");
  }

  readonly options: Readonly<ResolvedMeterListenerOptions>;
  readonly stats: MeterListenerStats = {
    received: 0,
    decoded: 0,
    duplicates: 0,
    ignored: 0,
    malformed: 0,
    keyExchanges: 0,
  };
  /** Interfaces the group was joined on. */
  readonly joined: string[] = [];
  lastError: MeterListenerError | null = null;
  private readonly key: string;
  private readonly socket: dgram.Socket;
  private state: State = "binding";
  private refs = 0;
  /** "susyId/serial/ticker" -> when first seen and its bytes; insertion order = age order. */
  private readonly recent = new Map<string, { at: number; bytes: Buffer }>();
  /** Callers of ready() while binding. */
  private waiters: { resolveReady: (a: Endpoint) => void; rejectReady: (e: Error) => void }[] = [];

  constructor(options: MeterListenerOptions = {}) {
    super();
    this.options = Object.freeze(resolve(options));
    this.key = MeterListener.keyOf(this.options);
    this.socket = dgram.createSocket({ type: "udp4", reuseAddr: this.options.reuseAddr });
    const failed = (e: unknown): void =>
      this.report(new MeterListenerError("socket", "ESOCKET", `message handling failed: ${String(e)}`, { cause: e }));
    this.socket.on(
      "message",
      guarded((msg: Buffer, rinfo: dgram.RemoteInfo) => this.onMessage(msg, rinfo), failed),
    );
    this.socket.on(
      "error",
      guarded((e: Error) => this.onSocketError(e), failed),
    );
    this.socket.once(
      "listening",
      guarded(() => this.onListening(), failed),
    );
    try {
      this.socket.bind(this.options.port, this.options.bindAddress);
    } catch (e) {
      // bind throws synchronously only for bad arguments; report it like an asynchronous failure
      process.nextTick(() => this.onSocketError(e as Error));
    }
  }

  /** Bound address and port, or null before "listening" / after close. */
  address(): Endpoint | null {
    if (this.state !== "listening") return null;
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  get listening(): boolean {
    return this.state === "listening";
  }

  /** Resolves when bound; rejects with the MeterListenerError when binding failed or the listener was closed. */
  ready(): Promise<Endpoint> {
    const now = this.address();
    if (now) return Promise.resolve(now);
    if (this.state !== "binding")
      return Promise.reject(this.lastError ?? new MeterListenerError("bind", "ECLOSED", "listener closed"));
    return new Promise((resolveReady, rejectReady) => this.waiters.push({ resolveReady, rejectReady }));
  }

  /** Drops one reference taken by `acquire`; the last one closes the socket. */
  release(): Promise<void> {
    if (this.refs > 0) this.refs--;
    return this.refs === 0 ? this.close() : Promise.resolve();
  }

  /** Closes the socket now, whatever the reference count. Idempotent. */
  close(): Promise<void> {
    if (MeterListener.registry.get(this.key) === this) MeterListener.registry.delete(this.key);
    if (this.state === "closed") return Promise.resolve();
    const wasOpen = this.state !== "failed";
    if (this.state === "binding")
      this.settle(new MeterListenerError("bind", "ECLOSED", "listener closed while binding"));
    if (this.state === "listening") openListeners--;
    this.state = "closed";
    this.recent.clear();
    return new Promise((res) => {
      const done = (): void => {
        this.emit("close");
        res();
      };
      if (!wasOpen) return done();
      try {
        this.socket.close(done);
      } catch {
        done(); /* already closed by the runtime */
      }
    });
  }

  private onListening(): void {
    if (this.state !== "binding") return;
    this.state = "listening";
    openListeners++;
    const group = this.options.group;
    if (group) {
      const wanted = this.options.interfaceAddress
        ? [this.options.interfaceAddress]
        : ipv4Interfaces({ external: true }).map((i) => i.address);
      // no external interface: let the kernel pick (loopback-only hosts)
      for (const iface of wanted.length > 0 ? wanted : [undefined]) this.join(group, iface);
    }
    const a = this.address();
    if (a) {
      this.settle(a);
      this.emit("listening", a);
    }
  }

  private settle(result: Endpoint | MeterListenerError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (result instanceof MeterListenerError) w.rejectReady(result);
      else w.resolveReady(result);
    }
  }

  private join(group: string, iface: string | undefined): void {
    try {
      this.socket.addMembership(group, iface);
      this.joined.push(iface ?? "default");
    } catch (e) {
      this.report(
        new MeterListenerError(
          "join",
          codeOf(e, "EJOIN"),
          `cannot join ${group} on ${iface ?? "the default interface"}: ${String(e)}`,
          { cause: e, interfaceAddress: iface },
        ),
      );
    }
  }

  private onSocketError(e: Error): void {
    if (this.state === "closed") return;
    const binding = this.state === "binding";
    const err = new MeterListenerError(
      binding ? "bind" : "socket",
      codeOf(e, "ESOCKET"),
      binding ? `cannot listen on ${this.options.bindAddress}:${this.options.port}: ${e.message}` : e.message,
      { cause: e },
    );
    if (binding) {
      this.state = "failed";
      if (MeterListener.registry.get(this.key) === this) MeterListener.registry.delete(this.key);
      try {
        this.socket.close();
      } catch {
        /* a socket that never bound may refuse close: nothing to free */
      }
      this.settle(err);
    }
    this.report(err);
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.stats.received++;
    // Port 0 is no real sender (meters send from 9522); such a source would also break a flow that answers it.
    if (!hasSignature(msg) || !answerable(rinfo)) {
      this.stats.ignored++;
      return;
    }
    let datagram: MeterDatagram;
    try {
      datagram = decodeMeterDatagram(msg);
    } catch (e) {
      if (e instanceof DecodeError && e.code === "EPROTOCOL") {
        this.stats.ignored++;
        // A plant with Speedwire encryption on exchanges keys on the group: inverter sessions of this process ask.
        if (noteKeyExchange(msg, rinfo.address, rinfo.port)) this.stats.keyExchanges++;
      } else this.stats.malformed++;
      return;
    }
    const now = Date.now();
    if (this.isDuplicate(datagram, msg, now)) {
      this.stats.duplicates++;
      return;
    }
    this.stats.decoded++;
    noteMeter(datagram, { address: rinfo.address, port: rinfo.port }, this.options.group ? "group" : "unicast", now);
    this.dispatch({ datagram, from: { address: rinfo.address, port: rinfo.port }, receivedAt: new Date(now) });
  }

  /** Calls each "meter" subscriber on its own: one that throws must not starve the others sharing the socket. */
  private dispatch(event: MeterEvent): void {
    for (const fn of this.rawListeners("meter") as ((e: MeterEvent) => void)[]) {
      try {
        fn.call(this, event);
      } catch (e) {
        this.report(
          new MeterListenerError("handler", "EHANDLER", `meter event handler failed: ${String(e)}`, { cause: e }),
        );
      }
    }
  }

  private isDuplicate(d: MeterDatagram, bytes: Buffer, now: number): boolean {
    const window = this.options.duplicateWindowMs;
    for (const [k, v] of this.recent) {
      if (now - v.at <= window) break;
      this.recent.delete(k);
    }
    const key = `${d.susyId}/${d.serial}/${d.tickerMs}`;
    const seen = this.recent.get(key);
    if (seen && seen.bytes.equals(bytes)) return true;
    this.recent.delete(key);
    // A flood of distinct frames (fake serials) must not pile up within the window: the oldest go first.
    if (this.recent.size >= MAX_RECENT) this.recent.delete(this.recent.keys().next().value as string);
    this.recent.set(key, { at: now, bytes });
    return false;
  }

  /** Emits "error" only when someone listens, so that an unobserved error never crashes the process. */
  private report(err: MeterListenerError): void {
    this.lastError = err;
    if (this.listenerCount("error") === 0) return;
    try {
      this.emit("error", err);
    } catch {
      /* a throwing error handler must not escape a socket callback */
    }
  }
}
