/**
 * The latest device-time record an inverter pushed to this client (read only: nothing here sends a time).
 * Accepted only from the session's device address and port (and its serial once known): anyone else on the LAN
 * could send one.
 */
import { decodeDeviceTime, type DeviceTime } from "../protocol";
import type { PushedDatagram } from "./transport";

export interface DeviceClockReading extends DeviceTime {
  /** Host clock when the record arrived, ms since epoch. */
  receivedAt: number;
  /** Device time minus host time when it arrived, in seconds (null when the device sent no time). */
  driftS: number | null;
}

export class DeviceClock {
  private last?: DeviceClockReading;

  /** Keeps the record when it comes from the device; true when it was kept. */
  accept(p: PushedDatagram, from: { address?: string; port: number; serial?: number }): boolean {
    if (!from.address || p.address !== from.address || p.port !== from.port) return false;
    let t: DeviceTime;
    try {
      t = decodeDeviceTime(p.raw);
    } catch {
      return false;
    }
    if (from.serial !== undefined && t.source.serial !== from.serial) return false;
    const receivedAt = Date.now();
    this.last = { ...t, receivedAt, driftS: t.time === null ? null : Math.round(t.time - receivedAt / 1000) + 0 };
    return true;
  }

  get latest(): DeviceClockReading | undefined {
    return this.last ? { ...this.last, source: { ...this.last.source } } : undefined;
  }
}
