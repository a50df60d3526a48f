/**
 * sma-energy-meter: sends the SMA Energy Meter / Sunny Home Manager readings as datagrams arrive,
 * per meter throttled (latest frame wins), optionally only on change, with a watchdog status.
 */
import { MeterListener, guarded, type MeterEvent, type MeterListenerError } from "../../src/client";
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

/** Every channel of the OBIS table, null where this datagram has none (frequency from a 600-byte meter). */
function payloadOf(d: MeterDatagram): Record<string, number | null> {
  const p: Record<string, number | null> = {};
  for (const c of OBIS_CHANNELS) p[c.field] = d.values[c.field] ?? null;
  return { ...p, power: d.power, powerL1: d.powerL1, powerL2: d.powerL2, powerL3: d.powerL3 };
}

export = (RED: NodeAPI): void => {
  // Its editor lists interfaces through them: it must work with sma-inverter disabled in the palette.
  registerAdminEndpoints(RED);
  RED.nodes.registerType("sma-energy-meter", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    // Its log lines name it by its label (the meter's serial or the default), not by its id.
    const serialSet = String((def as NodeDef & { serial?: unknown }).serial ?? "").trim();
    if (!def.name)
      this.name = serialSet ? RED._(NS + "label.bySerial", { serial: serialSet }) : RED._(NS + "label.default");
    const status = new MeterStatus(RED, this);
    const checked = meterSettings(def as unknown as Record<string, unknown>);
    if (!checked.ok) {
      status.invalid(checked.field);
      this.error(RED._(NS + "log.invalid", { field: checked.field, reason: checked.reason }));
      return;
    }
    for (const w of checked.warnings) this.warn(RED._(NS + "log.clamped", { field: w.field, from: w.from, to: w.to }));
    const c = checked.value;
    const group = (def as { group?: unknown }).group === undefined ? MULTICAST_GROUP : c.group;
    const serialFilter = c.serial;
    // Seconds, decimals allowed (the editor accepts 0.5); floors in settings-rules (THROTTLE_S, WATCHDOG_S).
    const throttleMs = (c.throttleS ?? 5) * 1000;
    const watchdogMs = (c.watchdogS ?? 10) * 1000;
    const listener = MeterListener.acquire({
      group: isMulticast(group) ? group : null,
      port: c.port ?? SPEEDWIRE_PORT,
      interfaceAddress: c.iface || undefined,
    });
    const meters = new Map<
      number,
      { lastSent: number; lastHeard: number; lastPayload?: string; pending?: MeterDatagram; timer?: NodeJS.Timeout }
    >();
    let dropped = 0;
    let droppedSinceSweep = 0;
    let lastWarnAt = -Infinity;
    let lastData = Date.now();
    let warned = false;
    status.waiting();

    const emit = (d: MeterDatagram): void => {
      const payload = payloadOf(d);
      const state = meters.get(d.serial);
      if (!state) return; // forgotten meanwhile
      if (c.onlyChanges) {
        const text = JSON.stringify(payload);
        if (state.lastPayload === text) return;
        state.lastPayload = text;
      }
      state.lastSent = Date.now();
      const sma: Record<string, unknown> = { serial: d.serial, susyId: d.susyId, firmware: d.firmware };
      if (dropped > 0) sma.dropped = dropped;
      this.send({ payload, topic: `sma/${d.serial}/meter`, sma });
      status.sent(d.power, droppedSinceSweep > 0);
    };

    /** Forgets the meters not heard for METER_IDLE_MS. */
    const sweep = (now: number): void => {
      for (const [serial, m] of meters) {
        if (now - m.lastHeard <= METER_IDLE_MS) continue;
        clearTimeout(m.timer);
        meters.delete(serial);
      }
    };

    /** The state of this datagram's meter, or undefined when MAX_METERS others are tracked (then counted as dropped). */
    const track = (
      serial: number,
      now: number,
    ):
      | { lastSent: number; lastHeard: number; lastPayload?: string; pending?: MeterDatagram; timer?: NodeJS.Timeout }
      | undefined => {
      const known = meters.get(serial);
      if (known) return known;
      if (serialFilter === undefined && meters.size >= MAX_METERS) sweep(now);
      if (serialFilter === undefined && meters.size >= MAX_METERS) {
        dropped++;
        droppedSinceSweep++;
        status.tooMany();
        if (now - lastWarnAt >= TOO_MANY_WARN_MS) {
          lastWarnAt = now;
          this.warn(RED._(NS + "log.tooMany", { tracked: meters.size, dropped }));
        }
        return undefined;
      }
      const state = { lastSent: 0, lastHeard: now };
      meters.set(serial, state);
      return state;
    };

    // A timer callback that throws would end Node-RED: report it on the node instead.
    const failed = (e: unknown): void => this.error(`energy meter node: ${String(e)}`);
    const onMeter = (e: MeterEvent): void => {
      const d = e.datagram;
      if (serialFilter !== undefined && d.serial !== serialFilter) return;
      const now = Date.now();
      lastData = now;
      warned = false;
      const state = track(d.serial, now);
      if (!state) return;
      state.lastHeard = now;
      const wait = state.lastSent + throttleMs - now;
      if (wait <= 0) return emit(d);
      // Throttled: keep the newest frame and send it when the interval has passed.
      state.pending = d;
      state.timer ??= setTimeout(
        guarded(() => {
          state.timer = undefined;
          const pending = state.pending;
          state.pending = undefined;
          if (pending) emit(pending);
        }, failed),
        wait,
      );
    };
    const onError = (err: MeterListenerError): void => {
      // The system's code (EADDRINUSE ...) says more than ESOCKET.
      status.error(err.systemCode ?? err.code);
      this.error(`energy meter listener: ${err.message}`);
    };
    listener.on("meter", onMeter);
    listener.on("error", onError);

    const watchdog =
      watchdogMs > 0
        ? setInterval(
            guarded(() => {
              const silent = Date.now() - lastData;
              if (silent < watchdogMs) return;
              status.noData(Math.round(silent / 1000));
              if (!warned)
                this.warn(`no energy meter data for ${Math.round(silent / 1000)} s; usual causes: ${CAUSES}`);
              warned = true;
            }, failed),
            Math.min(watchdogMs, 1000),
          )
        : undefined;

    const sweeper = setInterval(
      guarded(() => {
        sweep(Date.now());
        droppedSinceSweep = 0;
      }, failed),
      60_000,
    );

    this.on("close", (_removed: boolean, done: () => void) => {
      clearInterval(watchdog);
      clearInterval(sweeper);
      for (const m of meters.values()) clearTimeout(m.timer);
      listener.off("meter", onMeter);
      listener.off("error", onError);
      listener
        .release()
        .catch(() => undefined)
        .finally(done);
    });
  });
};
