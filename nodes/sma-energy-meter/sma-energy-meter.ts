/**
 * sma-energy-meter: sends the SMA Energy Meter / Sunny Home Manager readings as datagrams arrive,
 * per meter throttled (latest frame wins), optionally only on change, with a watchdog status.
 */
import { MeterListener, type MeterEvent, type MeterListenerError } from "../../src/client";
import { MULTICAST_GROUP, SPEEDWIRE_PORT, type MeterDatagram } from "../../src/protocol";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { METER_SECONDS, METER_SERIAL, PORT, isMulticast, seconds, wholeNumber } from "../../src/client/settings-rules";
import { registerAdminEndpoints } from "../shared/admin";

const NS = "@speedwire/node-red-sma/sma-energy-meter:";
const CAUSES = "IGMP snooping on a switch, the meter in another subnet/VLAN, Docker without host networking, "
  + "the Home Manager set to unicast to another address, another program on port 9522 without address reuse, or the wrong interface";

interface MeterDef extends NodeDef {
  group?: string; port?: string | number; iface?: string; serial?: string | number;
  throttle?: string | number; onlyChanges?: boolean; watchdog?: string | number;
}

function payloadOf(d: MeterDatagram): Record<string, number | null> {
  return { ...d.values, power: d.power, powerL1: d.powerL1, powerL2: d.powerL2, powerL3: d.powerL3 };
}

export = (RED: NodeAPI): void => {
  // Its editor lists interfaces through them: it must work with sma-inverter disabled in the palette.
  registerAdminEndpoints(RED);
  RED.nodes.registerType("sma-energy-meter", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const c = def as MeterDef;
    const group = String(c.group ?? MULTICAST_GROUP).trim();
    const serialFilter = wholeNumber(c.serial, METER_SERIAL);
    // Seconds, decimals allowed (the editor accepts 0.5).
    const throttleMs = (seconds(c.throttle, METER_SECONDS) ?? 5) * 1000;
    const watchdogMs = (seconds(c.watchdog, METER_SECONDS) ?? 10) * 1000;
    const listener = MeterListener.acquire({
      group: isMulticast(group) ? group : null,
      port: wholeNumber(c.port, PORT) ?? SPEEDWIRE_PORT,
      interfaceAddress: c.iface ? String(c.iface).trim() || undefined : undefined,
    });
    const meters = new Map<number, { lastSent: number; lastPayload?: string; pending?: MeterDatagram; timer?: NodeJS.Timeout }>();
    let lastData = Date.now();
    let warned = false;
    let lastStatus = "";
    this.status({ fill: "yellow", shape: "ring", text: RED._(NS + "status.waiting") });

    const emit = (d: MeterDatagram): void => {
      const payload = payloadOf(d);
      const state = meters.get(d.serial) ?? { lastSent: 0 };
      meters.set(d.serial, state);
      if (c.onlyChanges) {
        const text = JSON.stringify(payload);
        if (state.lastPayload === text) return;
        state.lastPayload = text;
      }
      state.lastSent = Date.now();
      this.send({ payload, topic: `sma/${d.serial}/meter`, sma: { serial: d.serial, susyId: d.susyId, firmware: d.firmware } });
      const p = d.power;
      const statusText = RED._(NS + "status.ok", { power: p === null ? "–" : String(Math.round(p)) });
      // At 10 datagrams/s without throttle, repeat only what changes on the dot.
      if (statusText !== lastStatus) this.status({ fill: "green", shape: "dot", text: statusText });
      lastStatus = statusText;
    };

    const onMeter = (e: MeterEvent): void => {
      const d = e.datagram;
      if (serialFilter !== undefined && d.serial !== serialFilter) return;
      lastData = Date.now();
      warned = false;
      const state = meters.get(d.serial) ?? { lastSent: 0 };
      meters.set(d.serial, state);
      const wait = state.lastSent + throttleMs - Date.now();
      if (wait <= 0) return emit(d);
      // Throttled: keep the newest frame and send it when the interval has passed.
      state.pending = d;
      state.timer ??= setTimeout(() => {
        state.timer = undefined;
        if (state.pending) emit(state.pending);
        state.pending = undefined;
      }, wait);
    };
    const onError = (err: MeterListenerError): void => {
      lastStatus = "";
      // The system's code (EADDRINUSE ...) says more than ESOCKET.
      this.status({ fill: "red", shape: "ring", text: RED._(NS + "status.error", { code: err.systemCode ?? err.code }) });
      this.error(`energy meter listener: ${err.message}`);
    };
    listener.on("meter", onMeter);
    listener.on("error", onError);

    const watchdog = watchdogMs > 0 ? setInterval(() => {
      const silent = Date.now() - lastData;
      if (silent < watchdogMs) return;
      lastStatus = "";
      this.status({ fill: "yellow", shape: "ring", text: RED._(NS + "status.noData", { s: String(Math.round(silent / 1000)) }) });
      if (!warned) this.warn(`no energy meter data for ${Math.round(silent / 1000)} s; usual causes: ${CAUSES}`);
      warned = true;
    }, Math.min(watchdogMs, 1000)) : undefined;

    this.on("close", (_removed: boolean, done: () => void) => {
      clearInterval(watchdog);
      for (const m of meters.values()) clearTimeout(m.timer);
      listener.off("meter", onMeter);
      listener.off("error", onError);
      listener.release().catch(() => undefined).finally(done);
    });
  });
};
