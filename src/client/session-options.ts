/**
 * What an InverterSession is given (options and their defaults), what its reads give back, and its limits: the
 * session's contract, apart from its code (session.ts).
 */
import {
  SPEEDWIRE_PORT,
  type Address,
  type QueryName,
  type Reading,
  type ReadingValue,
  type UserGroupName,
} from "../protocol";
import type { DeviceClockReading } from "./device-clock";
import type { DiscoverOptions } from "./discovery";
import type { HostNames } from "./names";

export { MAX_ADDRESSES_PER_READ } from "./locator";

export interface InverterOptions {
  host: string;
  port?: number;
  /** Empty: whatever device answers at that address. */
  serial?: number;
  group?: UserGroupName;
  password: string;
  /** Per attempt. */
  timeoutMs?: number;
  retries?: number;
  /** First wait after a wrong password; doubles up to authBackoffMaxMs. */
  authBackoffMs?: number;
  authBackoffMaxMs?: number;
  /**
   * A login refused with 0x0102 (busy, although the password is right) is tried again after this wait, as long as
   * the read's time (timeout × (retries + 1)) allows; then the read fails with EREFUSED (no back-off).
   */
  loginBusyRetryMs?: number;
  /**
   * The device counts as asleep (one datagram per poll, quiet errors) after no answer to SILENT_ATTEMPTS attempts
   * in a row spread over at least this long.
   */
  silentAfterMs?: number;
  /** Log in again before a read when the last answer is older than this (the session asked for is 900 s). */
  sessionIdleMs?: number;
  /**
   * How the device is found by its serial when the host is empty or stops answering (targets default to
   * the SMA multicast group on every interface; tests point them at loopback).
   */
  discovery?: Pick<DiscoverOptions, "targets" | "devicePort" | "timeoutMs">;
  /**
   * With a host and a serial: after a timeout, follow the serial to whichever address answers the search with it
   * (DHCP), logging in there. Off by default: any host on the LAN can claim a serial and would get the password.
   */
  follow?: boolean;
  /** First wait after a search that did not find the serial; doubles up to discoveryBackoffMaxMs. */
  discoveryBackoffMs?: number;
  discoveryBackoffMaxMs?: number;
  /** How host names are looked up (default the process's shared cache and the system's DNS servers). */
  names?: HostNames;
}

export type InverterState =
  "idle" | "searching" | "connecting" | "reading" | "ok" | "asleep" | "auth" | "error" | "closed";

export interface ReadResult {
  values: Record<string, ReadingValue>;
  readings: Reading[];
  device: Address;
  /** Newest record time of the device, ms since epoch (now when the device sent no record). */
  timestamp: number;
  /**
   * Queries the device answered with "no such values" (0x0015, or 0x0017 again after a fresh login): objects it knows
   * but has no value for, such as battery values of a PV inverter (remembered until close).
   */
  unsupported: QueryName[];
  /**
   * Queries the device answered 0x0014: objects it does not know at all (ennexOS-style ids, another device family's
   * command); not in `unsupported` (remembered until close).
   */
  unknown: QueryName[];
  /** The device has none of the values asked for (every query unsupported or unknown): not an error, but worth showing. */
  nothingSupported: boolean;
  /** The latest device-time record the device pushed, null when none has arrived yet. */
  deviceClock?: DeviceClockReading | null;
}

export const DEFAULTS = {
  port: SPEEDWIRE_PORT,
  timeoutMs: 1500,
  retries: 2,
  authBackoffMs: 60_000,
  authBackoffMaxMs: 900_000,
  loginBusyRetryMs: 2000,
  sessionIdleMs: 600_000,
  discoveryBackoffMs: 30_000,
  discoveryBackoffMaxMs: 600_000,
  follow: false,
  silentAfterMs: 60_000,
} as const;

/** Unanswered attempts in a row (with silentAfterMs) before the device counts as asleep: more than one read's worth. */
export const SILENT_ATTEMPTS = 8;

/**
 * Distinct reads one inverter may have queued: one per query node is normal (identical reads share one), and an
 * inverter answers one request at a time, so more only wait longer; the next one fails fast with EBUSY.
 */
export const MAX_PENDING_READS = 16;
/**
 * Distinct archive reads (day, month, events) one inverter may have queued, beside the live reads: each is up to
 * 94 requests that take turns with live reads one request at a time; the next one fails fast with EBUSY.
 */
export const MAX_PENDING_ARCHIVES = 4;

/** The options with their defaults filled in (InverterSession.options). */
export type ResolvedInverterOptions = Required<Omit<InverterOptions, "serial" | "discovery" | "names">> &
  Pick<InverterOptions, "serial" | "discovery">;
