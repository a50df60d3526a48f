/**
 * The device-time record inverters push to logged-in clients (command 0xF000020A, value 0x00236D00): read only.
 * Its one 28-byte record holds, after the 4-byte record id, six LE u32: the device time (Unix s, UTC), the time the
 * clock was last set, the device time again, the time zone offset in seconds with bit 0 = daylight saving on, a
 * setting counter, and 1. Sending this command back with a time filled in sets the plant's clock: nothing here
 * builds one.
 */
import { DecodeError } from "./errors";
import { NAN_U32, NAN_U32_ALT } from "./constants";
import { decodeInverterDatagram, type Address, type Net2Header } from "./net2";

/** The command of the device-time record (opcode 0x0A: a "request" sent to destination any). */
export const DEVICE_TIME_COMMAND = 0xf000020a;
/** Its value id (LRI 0x236D, DtTm.Tm), sent as first and last. */
export const DEVICE_TIME_LRI = 0x00236d00;
/** Record id (4 bytes) + six u32. */
const RECORD_BYTES = 28;

export interface DeviceTime {
  /** The device that sent it. */
  source: Address;
  /** Device clock, Unix seconds (UTC); null when the device sent no time. */
  time: number | null;
  /** When the device clock was last set, Unix seconds; null when not sent. */
  lastSet: number | null;
  /** Time zone offset in seconds as the device holds it (bit 0, the daylight-saving flag, cleared). */
  tzOffsetS: number;
  /** Daylight saving on (bit 0 of the offset word). */
  dst: boolean;
  /** How often the clock was set (a counter the device keeps). */
  setCounter: number;
}

/** True for a header of the device-time record (before the payload is looked at). */
export function isDeviceTimeHeader(h: Pick<Net2Header, "command" | "first" | "last">): boolean {
  return h.command === DEVICE_TIME_COMMAND && h.first === DEVICE_TIME_LRI && h.last === DEVICE_TIME_LRI;
}

const seconds = (raw: number): number | null => (raw === 0 || raw === NAN_U32 || raw === NAN_U32_ALT ? null : raw);

/** Decodes a device-time datagram. Throws DecodeError when it is not one or is cut short. */
export function decodeDeviceTime(buf: Buffer): DeviceTime {
  const { header, payload } = decodeInverterDatagram(buf);
  if (!isDeviceTimeHeader(header)) {
    throw new DecodeError("EPROTOCOL", `command 0x${header.command.toString(16)} is not the device-time record`);
  }
  if (payload.length < RECORD_BYTES) throw new DecodeError("ESHORT", `device-time record of ${payload.length} bytes`);
  const lri = payload.readUInt16LE(1);
  if (lri !== DEVICE_TIME_LRI >>> 8)
    throw new DecodeError("ERECORD", `record 0x${lri.toString(16)} is not the device time`);
  const word = (i: number): number => payload.readUInt32LE(4 + 4 * i);
  const tz = word(3);
  return {
    source: header.source,
    time: seconds(word(0)),
    lastSet: seconds(word(1)),
    // Signed: zones west of UTC.
    tzOffsetS: (tz | 0) & ~1,
    dst: (tz & 1) === 1,
    setCounter: word(4),
  };
}
