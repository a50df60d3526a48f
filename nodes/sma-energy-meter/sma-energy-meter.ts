/**
 * sma-energy-meter: sends the SMA Energy Meter / Sunny Home Manager readings as datagrams arrive,
 * per meter throttled (latest frame wins), optionally only on change, with a watchdog status.
 *
 * The node is its settings (readSettings), a MeterRelay that turns the listener's datagrams into messages (filter,
 * meters tracked, throttle, payload, status), its subscription to the shared listener (subscribe) and its timers
 * (startTimers); closing undoes the last two and releases the listener.
 */
import {
  MeterListener,
  guarded,
  type MeterEvent,
  type MeterListenerError,
  type MeterListenerOptions,
} from "../../src/client";
import { MULTICAST_GROUP, OBIS_CHANNELS, SPEEDWIRE_PORT, type MeterDatagram } from "../../src/protocol";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { isMulticast, meterSettings } from "../../src/client/settings-rules";
import { registerAdminEndpoints } from "../shared/admin";
import { MeterStatus } from "../shared/status";

const NS = "@speedwire/node-red-sma/sma-energy-meter:";
const CAUSES =
  "IGMP snooping on a switch, the meter in another subnet/VLAN, Docker without host networking, " +
  "the Home Manager set to unicast to another address, another program on port 9522 without address reuse, or the wrong interface";

/** Meters tracked without a serial filter (a plant has a few): datagrams of further serials are dropped and counted. */
const MAX_METERS = 32;
/** A meter not heard for this long is forgotten (its state, its pending frame). */
const METER_IDLE_MS = 5 * 60_000;
/** The "many meters" warning repeats at most this often, with the counts so far. */
const TOO_MANY_WARN_MS = 10 * 60_000;
/**
 * One serial heard from an address, then from another, then from the first again within this time: two devices send
 * with one serial (a meter that moved to a new address once is no such case). Meters send every second or faster.
 */
const SHARED_SERIAL_MS = 60_000;
/** Source addresses remembered per meter (the one heard from longest ago goes first). */
const MAX_ADDRESSES = 4;

/** Every channel of the OBIS table, null where this datagram has none (frequency from a 600-byte meter). */
function payloadOf(d: MeterDatagram): Record<string, number | null> {
  const p: Record<string, number | null> = {};
  for (const c of OBIS_CHANNELS) p[c.field] = d.values[c.field] ?? null;
  return { ...p, power: d.power, powerL1: d.powerL1, powerL2: d.powerL2, powerL3: d.powerL3 };
}

/** What the node keeps of one meter (one serial). */
interface MeterState {
  lastSent: number;
  lastHeard: number;
  /** The last payload sent, as JSON (onlyChanges). */
  lastPayload?: string;
  /** The newest frame, held by the throttle until `timer` fires. */
  pending?: MeterEvent;
  timer?: NodeJS.Timeout;
  /** Source address -> when last heard; the most recent last. */
  addresses: Map<string, number>;
  /** The "one serial, two addresses" warning was given. */
  sharedWarned?: boolean;
}

/** The node's settings, read and checked. */
interface MeterNodeSettings {
  listen: MeterListenerOptions;
  serialFilter: number | undefined;
  throttleMs: number;
  watchdogMs: number;
  onlyChanges: boolean;
}

/** Names an unnamed node by its label (the meter's serial or the default): its log lines say that, not its id. */
function nameNode(RED: NodeAPI, node: Node, def: NodeDef): void {
  const serialSet = String((def as NodeDef & { serial?: unknown }).serial ?? "").trim();
  if (!def.name)
    node.name = serialSet ? RED._(NS + "label.bySerial", { serial: serialSet }) : RED._(NS + "label.default");
}

/** The settings, or undefined when one is wrong (the status names it, the log says why). Clamped ones are warned. */
function readSettings(RED: NodeAPI, node: Node, def: NodeDef, status: MeterStatus): MeterNodeSettings | undefined {
  const checked = meterSettings(def as unknown as Record<string, unknown>);
  if (!checked.ok) {
    status.invalid(checked.field);
    node.error(RED._(NS + "log.invalid", { field: checked.field, reason: checked.reason }));
    return undefined;
  }
  for (const w of checked.warnings) node.warn(RED._(NS + "log.clamped", { field: w.field, from: w.from, to: w.to }));
  const c = checked.value;
  const group = (def as { group?: unknown }).group === undefined ? MULTICAST_GROUP : c.group;
  return {
    listen: {
      group: isMulticast(group) ? group : null,
      port: c.port ?? SPEEDWIRE_PORT,
      interfaceAddress: c.iface || undefined,
    },
    serialFilter: c.serial,
    // Seconds, decimals allowed (the editor accepts 0.5); floors in settings-rules (THROTTLE_S, WATCHDOG_S).
    throttleMs: (c.throttleS ?? 5) * 1000,
    watchdogMs: (c.watchdogS ?? 10) * 1000,
    onlyChanges: c.onlyChanges,
  };
}

/** Turns one node's datagrams into messages: serial filter, meters tracked, throttle, onlyChanges, status, watchdog. */
class MeterRelay {
  private readonly meters = new Map<number, MeterState>();
  private dropped = 0;
  private droppedSinceSweep = 0;
  private lastWarnAt = -Infinity;
  private lastData = Date.now();
  private warned = false;

  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node,
    private readonly status: MeterStatus,
    private readonly s: MeterNodeSettings,
  ) {}

  /** A timer callback that throws would end Node-RED: report it on the node instead. */
  readonly failed = (e: unknown): void => this.node.error(`energy meter node: ${String(e)}`);

  /** The listener's "meter" handler: one datagram in, at once or when its meter's throttle interval has passed. */
  readonly onMeter = (e: MeterEvent): void => {
    const d = e.datagram;
    if (this.s.serialFilter !== undefined && d.serial !== this.s.serialFilter) return;
    const now = Date.now();
    this.lastData = now;
    this.warned = false;
    const state = this.track(d.serial, now);
    if (!state) return;
    state.lastHeard = now;
    this.noteAddress(state, d.serial, e.from.address, now);
    const wait = state.lastSent + this.s.throttleMs - now;
    if (wait <= 0) return this.emit(e);
    this.hold(state, e, wait);
  };

  /** Throttled: keeps the newest frame and sends it when the interval has passed. */
  private hold(state: MeterState, e: MeterEvent, wait: number): void {
    state.pending = e;
    state.timer ??= setTimeout(
      guarded(() => {
        state.timer = undefined;
        const pending = state.pending;
        state.pending = undefined;
        if (pending) this.emit(pending);
      }, this.failed),
      wait,
    );
  }

  private emit(e: MeterEvent): void {
    const d = e.datagram;
    const payload = payloadOf(d);
    const state = this.meters.get(d.serial);
    if (!state) return; // forgotten meanwhile
    if (this.s.onlyChanges) {
      const text = JSON.stringify(payload);
      if (state.lastPayload === text) return;
      state.lastPayload = text;
    }
    state.lastSent = Date.now();
    const sma: Record<string, unknown> = {
      serial: d.serial,
      susyId: d.susyId,
      firmware: d.firmware,
      address: e.from.address,
    };
    if (this.dropped > 0) sma.dropped = this.dropped;
    this.node.send({ payload, topic: `sma/${d.serial}/meter`, sma });
    this.status.sent(d.power, this.droppedSinceSweep > 0);
  }

  /** The state of this datagram's meter, or undefined when MAX_METERS others are tracked (then counted as dropped). */
  private track(serial: number, now: number): MeterState | undefined {
    const known = this.meters.get(serial);
    if (known) return known;
    const unfiltered = this.s.serialFilter === undefined;
    if (unfiltered && this.meters.size >= MAX_METERS) this.sweep(now);
    if (unfiltered && this.meters.size >= MAX_METERS) {
      this.tooMany(now);
      return undefined;
    }
    const state: MeterState = { lastSent: 0, lastHeard: now, addresses: new Map() };
    this.meters.set(serial, state);
    return state;
  }

  /** A datagram of a meter beyond MAX_METERS: counted, status, a warning at most every TOO_MANY_WARN_MS. */
  private tooMany(now: number): void {
    this.dropped++;
    this.droppedSinceSweep++;
    this.status.tooMany();
    if (now - this.lastWarnAt < TOO_MANY_WARN_MS) return;
    this.lastWarnAt = now;
    this.node.warn(this.RED._(NS + "log.tooMany", { tracked: this.meters.size, dropped: this.dropped }));
  }

  /**
   * Notes where the meter's datagram came from. Back at an address after another one within SHARED_SERIAL_MS: two
   * devices send this serial, said once per meter in the log (msg.sma.address tells their messages apart).
   */
  private noteAddress(state: MeterState, serial: number, address: string, now: number): void {
    const seen = state.addresses;
    const before = seen.get(address);
    const latest = [...seen.keys()].pop();
    seen.delete(address);
    seen.set(address, now);
    if (seen.size > MAX_ADDRESSES) seen.delete(seen.keys().next().value as string);
    if (state.sharedWarned || before === undefined || latest === address || now - before > SHARED_SERIAL_MS) return;
    state.sharedWarned = true;
    this.node.warn(this.RED._(NS + "log.sharedSerial", { serial, first: address, second: latest ?? "" }));
  }

  /** Forgets the meters not heard for METER_IDLE_MS. */
  sweep(now: number): void {
    for (const [serial, m] of this.meters) {
      if (now - m.lastHeard <= METER_IDLE_MS) continue;
      clearTimeout(m.timer);
      this.meters.delete(serial);
    }
  }

  /** Each minute: idle meters forgotten; "too many meters" ends once no datagram was dropped since the last round. */
  readonly sweepTick = (): void => {
    this.sweep(Date.now());
    this.droppedSinceSweep = 0;
  };

  /** The watchdog's round: status "no data" after watchdogMs of silence, and one warning per silence. */
  readonly watchdogTick = (): void => {
    const silent = Date.now() - this.lastData;
    if (silent < this.s.watchdogMs) return;
    this.status.noData(Math.round(silent / 1000));
    if (!this.warned)
      this.node.warn(`no energy meter data for ${Math.round(silent / 1000)} s; usual causes: ${CAUSES}`);
    this.warned = true;
  };

  /** Drops every held frame. */
  close(): void {
    for (const m of this.meters.values()) clearTimeout(m.timer);
  }
}

/** Subscribes the relay to the listener (and its errors to the node); returns the unsubscribe. */
function subscribe(node: Node, listener: MeterListener, relay: MeterRelay, status: MeterStatus): () => void {
  const onError = (err: MeterListenerError): void => {
    // The system's code (EADDRINUSE ...) says more than ESOCKET.
    status.error(err.systemCode ?? err.code);
    node.error(`energy meter listener: ${err.message}`);
  };
  listener.on("meter", relay.onMeter);
  listener.on("error", onError);
  return () => {
    listener.off("meter", relay.onMeter);
    listener.off("error", onError);
  };
}

/** The watchdog (when on: every watchdogMs, at most every second) and the minute's sweep; returns their stop. */
function startTimers(relay: MeterRelay, watchdogMs: number): () => void {
  const watchdog =
    watchdogMs > 0 ? setInterval(guarded(relay.watchdogTick, relay.failed), Math.min(watchdogMs, 1000)) : undefined;
  const sweeper = setInterval(guarded(relay.sweepTick, relay.failed), 60_000);
  return () => {
    clearInterval(watchdog);
    clearInterval(sweeper);
  };
}

export = (RED: NodeAPI): void => {
  // Its editor lists interfaces through them: it must work with sma-inverter disabled in the palette.
  registerAdminEndpoints(RED);
  RED.nodes.registerType("sma-energy-meter", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    nameNode(RED, this, def);
    const status = new MeterStatus(RED, this);
    const settings = readSettings(RED, this, def, status);
    if (!settings) return;
    const listener = MeterListener.acquire(settings.listen);
    const relay = new MeterRelay(RED, this, status, settings);
    status.waiting();
    const unsubscribe = subscribe(this, listener, relay, status);
    const stopTimers = startTimers(relay, settings.watchdogMs);
    this.on("close", (_removed: boolean, done: () => void) => {
      stopTimers();
      relay.close();
      unsubscribe();
      listener
        .release()
        .catch(() => undefined)
        .finally(done);
    });
  });
};
