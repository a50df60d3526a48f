/** The device-time record a simulated inverter pushes to its logged-in clients (what a real one sends, §9). */
import { DEVICE_TIME_COMMAND, DEVICE_TIME_LRI, type Address } from "../protocol";
import { buildRequestToAny } from "./sim-support";

export interface DeviceTimeFields {
  source: Address;
  packetId: number;
  /** Device clock, Unix seconds. */
  time: number;
  /** When the clock was last set, Unix seconds. */
  lastSet: number;
  /** Time zone offset in seconds (even); dst sets bit 0. */
  tzOffsetS: number;
  dst: boolean;
  setCounter: number;
}

/** Control byte 0xA0, destination any, first = last = 0x00236D00, one 28-byte record, as the live plant sent it. */
export function buildDeviceTime(f: DeviceTimeFields): Buffer {
  const payload = Buffer.alloc(28);
  payload.writeUInt32LE(DEVICE_TIME_LRI, 0);
  payload.writeUInt32LE(f.time >>> 0, 4);
  payload.writeUInt32LE(f.lastSet >>> 0, 8);
  payload.writeUInt32LE(f.time >>> 0, 12);
  payload.writeUInt32LE(((f.tzOffsetS & ~1) | (f.dst ? 1 : 0)) >>> 0, 16);
  payload.writeUInt32LE(f.setCounter >>> 0, 20);
  payload.writeUInt32LE(1, 24);
  return buildRequestToAny({
    source: f.source,
    packetId: f.packetId,
    command: DEVICE_TIME_COMMAND,
    first: DEVICE_TIME_LRI,
    last: DEVICE_TIME_LRI,
    payload,
  });
}
