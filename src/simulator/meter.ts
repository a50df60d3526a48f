/**
 * A simulated SMA Energy Meter / Sunny Home Manager: sends meter datagrams (built by src/protocol/meter.ts) at
 * a fixed interval to a multicast group or a unicast address. For tests it can send each frame twice and
 * send non-meter datagrams in between.
 *
 *   const m = new SimulatedMeter({ address: "127.0.0.1", port, variant: "shm20", serial: 3000000001 });
 *   await m.start();   // binds, sends one frame now and then every intervalMs
 *   const frame = await m.sendNow();  // frame.datagram.values = what went on the wire
 *   await m.stop();
 */
import * as dgram from "node:dgram";
import { EventEmitter } from "node:events";
import { MULTICAST_GROUP, SPEEDWIRE_PORT } from "../protocol/constants";
import {
  decodeMeterDatagram,
  encodeMeterDatagram,
  type MeterDatagram,
  type MeterProtocol,
  type MeterVariant,
} from "../protocol/meter";
import { LOAD_SHARE as PLANT_SHARE, type PlantModel } from "./energy";

/** Field names of src/protocol/obis.ts in their units (W, Wh, V, A, Hz, ...). */
export type MeterValues = Record<string, number>;
export type MeterProfile = (at: Date, elapsedMs: number) => MeterValues;

export interface SimulatedMeterOptions {
  /** Default "shm20" (608 bytes with frequency); "emeter10" / "emeter20" send 600 bytes. */
  variant?: MeterVariant;
  /** Default 3000000001 (Home Manager range) or 1900000001 (Energy Meter range). */
  serial?: number;
  /** Default: the variant's SUSyID (270, 349, 372). */
  susyId?: number;
  /** Default: the variant's firmware; null sends no firmware record. */
  firmware?: string | null;
  /** Default 0x6069; 0x6081 is the newer Home Manager framing. */
  protocol?: MeterProtocol;
  /** Target address: default 239.12.255.254 (multicast); a unicast address such as 127.0.0.1 works too. */
  address?: string;
  /** Default 9522. */
  port?: number;
  /** Default 1000 ms. */
  intervalMs?: number;
  /** Fixed values or a function of time; default houseProfile. Missing energy counters are integrated. */
  values?: MeterValues | MeterProfile;
  /** Send every frame twice (duplicate-frame tests). */
  duplicate?: boolean;
  /** After every frame send one non-meter datagram: random bytes, 0x6065, 0x6073, a truncated meter frame. */
  garbage?: boolean;
  /** Local interface for multicast, e.g. "127.0.0.1" in tests. */
  multicastInterface?: string;
  /** Local address to bind the sending socket to; default all. */
  bindAddress?: string;
  /** Ticker value of the first frame; default 0. */
  startTickerMs?: number;
  /** Clock in ms, default Date.now (tests may pass a fake one). */
  clock?: () => number;
}

export interface SentFrame {
  bytes: Buffer;
  /** The frame decoded again: exactly what a listener should see. */
  datagram: MeterDatagram;
  at: Date;
}

const PHASES = ["L1", "L2", "L3"] as const;
const LOAD_SHARE = [0.45, 0.3, 0.25];

/** Rounds to the resolution on the wire so that what the profile says and what arrives agree closely. */
const r = (v: number, digits: number): number => Number(Math.max(0, v).toFixed(digits));

/** Plausible house: 350 W base load, morning and evening peaks, 5.5 kWp PV peaking at noon (local time). */
export function houseProfile(at: Date): MeterValues {
  const h = at.getHours() + at.getMinutes() / 60 + at.getSeconds() / 3600;
  const bell = (centre: number, width: number): number => Math.exp(-(((h - centre) / width) ** 2));
  const load = 350 + 600 * bell(7.5, 0.7) + 1200 * bell(19.5, 1.5) + 80 * Math.sin(at.getSeconds() / 9.5);
  const pv = h > 6 && h < 20 ? 5500 * Math.sin((Math.PI * (h - 6)) / 14) : 0;
  const v: MeterValues = {};
  let net = 0;
  let reactive = 0;
  PHASES.forEach((ph, i) => {
    const p = load * LOAD_SHARE[i] - pv / 3;
    const q = 0.12 * load * LOAD_SHARE[i];
    const s = Math.hypot(p, q);
    const u = 230 + 1.5 * Math.sin(h + i) - 0.004 * p;
    net += p;
    reactive += q;
    Object.assign(v, {
      [`powerImport${ph}`]: r(p, 1),
      [`powerExport${ph}`]: r(-p, 1),
      [`reactivePowerImport${ph}`]: r(q, 1),
      [`reactivePowerExport${ph}`]: 0,
      [`apparentPowerImport${ph}`]: p >= 0 ? r(s, 1) : 0,
      [`apparentPowerExport${ph}`]: p < 0 ? r(s, 1) : 0,
      [`voltage${ph}`]: r(u, 3),
      [`current${ph}`]: r(s / u, 3),
      [`powerFactor${ph}`]: s > 0 ? r(Math.abs(p) / s, 3) : 1,
    });
  });
  const s = Math.hypot(net, reactive);
  return Object.assign(v, {
    powerImport: r(net, 1),
    powerExport: r(-net, 1),
    reactivePowerImport: r(reactive, 1),
    reactivePowerExport: 0,
    apparentPowerImport: net >= 0 ? r(s, 1) : 0,
    apparentPowerExport: net < 0 ? r(s, 1) : 0,
    powerFactor: s > 0 ? r(Math.abs(net) / s, 3) : 1,
    frequency: r(50 + 0.02 * Math.sin(at.getTime() / 60000), 3),
  });
}

/** Reactive power drawn by the house per W of load. */
const REACTIVE = 0.12;

/**
 * What an energy meter at the grid connection point of `plant` sends at time `at` (the plant's time, e.g. a
 * compressedDay's): power per phase from the plant's one energy balance and its counters, so that they agree with
 * the grid counters of an inverter on the same plant and keep growing from the plant's commissioning on.
 */
export function plantMeterValues(plant: PlantModel, at: Date): MeterValues {
  const st = plant.at(at);
  const h = at.getHours() + at.getMinutes() / 60 + at.getSeconds() / 3600;
  const v: MeterValues = {};
  let reactive = 0;
  PHASES.forEach((ph, i) => {
    const p = st.gridL[i];
    const q = REACTIVE * st.houseL[i];
    const s = Math.hypot(p, q);
    const u = 230 + 1.5 * Math.sin(h + i) - 0.004 * p;
    reactive += q;
    Object.assign(v, {
      [`powerImport${ph}`]: r(p, 1),
      [`powerExport${ph}`]: r(-p, 1),
      [`reactivePowerImport${ph}`]: r(q, 1),
      [`reactivePowerExport${ph}`]: 0,
      [`apparentPowerImport${ph}`]: p >= 0 ? r(s, 1) : 0,
      [`apparentPowerExport${ph}`]: p < 0 ? r(s, 1) : 0,
      [`voltage${ph}`]: r(u, 3),
      [`current${ph}`]: r(s / u, 3),
      [`powerFactor${ph}`]: s > 0 ? r(Math.abs(p) / s, 3) : 1,
      [`energyImport${ph}`]: st.counters.importL[i],
      [`energyExport${ph}`]: st.counters.exportL[i],
      [`reactiveEnergyImport${ph}`]: REACTIVE * PLANT_SHARE[i] * st.counters.house,
      [`reactiveEnergyExport${ph}`]: 0,
      // Apparent energy from its active and reactive parts: never below the active energy, growing with it.
      [`apparentEnergyImport${ph}`]: Math.hypot(st.counters.importL[i], REACTIVE * PLANT_SHARE[i] * st.counters.house),
      [`apparentEnergyExport${ph}`]: st.counters.exportL[i],
    });
  });
  const net = st.gridW;
  const s = Math.hypot(net, reactive);
  return Object.assign(v, {
    powerImport: r(net, 1),
    powerExport: r(-net, 1),
    reactivePowerImport: r(reactive, 1),
    reactivePowerExport: 0,
    apparentPowerImport: net >= 0 ? r(s, 1) : 0,
    apparentPowerExport: net < 0 ? r(s, 1) : 0,
    powerFactor: s > 0 ? r(Math.abs(net) / s, 3) : 1,
    frequency: r(50 + 0.02 * Math.sin(at.getTime() / 60000), 3),
    energyImport: st.counters.import,
    energyExport: st.counters.export,
    reactiveEnergyImport: REACTIVE * st.counters.house,
    reactiveEnergyExport: 0,
    apparentEnergyImport: Math.hypot(st.counters.import, REACTIVE * st.counters.house),
    apparentEnergyExport: st.counters.export,
  });
}

/** Power fields whose counter the simulator integrates: "powerImportL1" -> "energyImportL1". */
const POWER_FIELD = /^(power|reactivePower|apparentPower)(Import|Export)(L[123])?$/;
const energyOf = (field: string): string => field.replace(/^power/, "energy").replace("Power", "Energy");

export class SimulatedMeter extends EventEmitter {
  readonly variant: MeterVariant;
  readonly serial: number;
  /** Frames sent (duplicates not counted). */
  sent = 0;
  lastError: Error | null = null;
  private readonly o: SimulatedMeterOptions;
  private readonly clock: () => number;
  private socket: dgram.Socket | null = null;
  private opening: Promise<dgram.Socket> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt: number;
  private lastAt: number | null = null;
  /** Real meters never repeat a ticker; two frames in one millisecond still get distinct ones. */
  private lastTicker = -1;
  /** Integrated counters (Wh, varh, VAh) for energy fields the profile does not give. */
  private readonly counters = new Map<string, number>();
  private garbageKind = 0;

  constructor(options: SimulatedMeterOptions = {}) {
    super();
    this.o = options;
    this.variant = options.variant ?? "shm20";
    this.serial = options.serial ?? (this.variant === "shm20" ? 3000000001 : 1900000001);
    this.clock = options.clock ?? Date.now;
    this.startedAt = this.clock();
  }

  /** Binds the sending socket, sends a frame now and then every intervalMs until stop(). */
  async start(): Promise<void> {
    await this.open();
    if (this.timer) return;
    const tick = (): void => void this.sendNow().catch((e: unknown) => this.report(e));
    this.timer = setInterval(tick, this.o.intervalMs ?? 1000);
    tick();
  }

  /** Stops the timer and closes the socket. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const socket = this.socket ?? (this.opening ? await this.opening.catch(() => null) : null);
    this.socket = null;
    this.opening = null;
    if (socket) await new Promise<void>((res) => socket.close(() => res()));
  }

  /** Builds and sends one frame (twice with `duplicate`, then garbage with `garbage`). */
  async sendNow(): Promise<SentFrame> {
    const frame = this.buildFrame();
    await this.sendRaw(frame.bytes);
    if (this.o.duplicate) await this.sendRaw(frame.bytes);
    if (this.o.garbage) await this.sendRaw(this.garbage(frame.bytes));
    this.sent++;
    this.emit("sent", frame);
    return frame;
  }

  /** Sends any bytes to the target (tests use it for captures of other devices). */
  async sendRaw(bytes: Buffer): Promise<void> {
    const socket = await this.open();
    await new Promise<void>((res, rej) => {
      socket.send(bytes, this.o.port ?? SPEEDWIRE_PORT, this.o.address ?? MULTICAST_GROUP, (e) => (e ? rej(e) : res()));
    });
  }

  /** The next frame: values of the profile at the clock's time, counters advanced since the last frame. */
  buildFrame(): SentFrame {
    const now = this.clock();
    const src = this.o.values ?? houseProfile;
    const values: MeterValues = { ...(typeof src === "function" ? src(new Date(now), now - this.startedAt) : src) };
    const dtH = this.lastAt === null ? 0 : Math.max(0, now - this.lastAt) / 3_600_000;
    this.lastAt = now;
    for (const [field, watts] of Object.entries(values)) {
      const energy = energyOf(field);
      if (!POWER_FIELD.test(field) || energy in values) continue;
      const total = (this.counters.get(energy) ?? 0) + Math.max(0, watts) * dtH;
      this.counters.set(energy, total);
      values[energy] = total;
    }
    this.lastTicker = Math.max(this.lastTicker + 1, (this.o.startTickerMs ?? 0) + (now - this.startedAt));
    const bytes = encodeMeterDatagram({
      variant: this.variant,
      serial: this.serial,
      susyId: this.o.susyId,
      firmware: this.o.firmware,
      protocol: this.o.protocol,
      tickerMs: this.lastTicker,
      values,
    });
    return { bytes, datagram: decodeMeterDatagram(bytes), at: new Date(now) };
  }

  /** Cycles through datagrams a listener must not turn into meter events. */
  private garbage(frame: Buffer): Buffer {
    const kind = this.garbageKind++ % 4;
    if (kind === 0)
      return Buffer.from(Array.from({ length: 1 + (this.sent % 60) }, (_, i) => (i * 37 + this.sent) & 0xff));
    if (kind === 3) return frame.subarray(0, 100);
    const other = Buffer.from(frame);
    other.writeUInt16BE(kind === 1 ? 0x6065 : 0x6073, 16);
    return other;
  }

  private open(): Promise<dgram.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    this.opening ??= new Promise<dgram.Socket>((res, rej) => {
      const s = dgram.createSocket({ type: "udp4", reuseAddr: true });
      s.once("error", (e) => {
        this.opening = null; // let the next call try again
        rej(e);
      });
      s.bind(0, this.o.bindAddress, () => {
        s.removeAllListeners("error");
        s.on("error", (e) => this.report(e));
        try {
          if (this.o.multicastInterface) s.setMulticastInterface(this.o.multicastInterface);
          s.setMulticastLoopback(true);
          s.setMulticastTTL(1);
        } catch (e) {
          this.report(e);
        }
        this.socket = s;
        res(s);
      });
    });
    return this.opening;
  }

  /** Emits "error" only when someone listens: a simulator problem must not crash the process. */
  private report(e: unknown): void {
    this.lastError = e instanceof Error ? e : new Error(String(e));
    if (this.listenerCount("error") > 0) this.emit("error", this.lastError);
  }
}
