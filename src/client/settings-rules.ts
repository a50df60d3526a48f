/**
 * What each setting of the nodes may be: the one source of the rules that the runtime reads settings with and the
 * editor dialogs validate with (the build serves this file's compiled JS as resources/…/settings-rules.js).
 * No imports, pure functions: fields arrive as strings from the editor, or as numbers from older flows.
 */

export interface Range {
  readonly min: number;
  readonly max: number;
}

export const PORT: Range = { min: 1, max: 65535 };
/** An inverter's serial: 0 and 0xFFFFFFFF ("any device") address no single device. */
export const INVERTER_SERIAL: Range = { min: 1, max: 0xfffffffe };
/** A meter's serial, as the meter sends it. */
export const METER_SERIAL: Range = { min: 1, max: 0xffffffff };
/** Per-request wait of an inverter, ms. */
export const TIMEOUT_MS: Range = { min: 200, max: 30000 };
export const RETRIES: Range = { min: 0, max: 10 };
/** How long a search for devices waits for answers, ms (settings.js smaSpeedwire.discoveryTimeout). */
export const DISCOVERY_TIMEOUT_MS: Range = { min: 200, max: 30000 };
/** The meter node's throttle and watchdog, s (decimals allowed). */
export const METER_SECONDS: Range = { min: 0, max: 86400 };
/** The sma-archive node's span, per archive: hours of 5-minute data (92 days), days of daily data or events. */
export const ARCHIVE_SPAN: Readonly<Record<"day" | "month" | "events", Range>> = {
  day: { min: 1, max: 92 * 24 }, month: { min: 1, max: 3660 }, events: { min: 1, max: 366 },
};
/** Speedwire carries at most 12 password characters, printable ASCII. */
export const PASSWORD_MAX_LENGTH = 12;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOSTNAME = /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** A field as trimmed text ("" for undefined and null). */
export function text(v: unknown): string {
  return v === undefined || v === null ? "" : String(v).trim();
}

/** A whole number in range (digits only, or an integer from an older flow), else undefined. */
export function wholeNumber(v: unknown, range: Range): number | undefined {
  const s = text(v);
  if (!/^\d{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= range.min && n <= range.max ? n : undefined;
}

/** A number of seconds in range, plain decimals only (no sign, exponent or hex), else undefined. */
export function seconds(v: unknown, range: Range): number | undefined {
  const s = text(v);
  if (!/^\d{1,16}(\.\d{1,16})?$/.test(s)) return undefined;
  const n = Number(s);
  return n >= range.min && n <= range.max ? n : undefined;
}

export function isIpv4(v: unknown): boolean {
  return IPV4.test(text(v));
}

/** An IPv4 address or a host name; all digits and dots must be a real IPv4 address (not 192.168.1.300). */
export function isHost(v: unknown): boolean {
  const s = text(v);
  return /^[\d.]+$/.test(s) ? IPV4.test(s) : HOSTNAME.test(s);
}

export function isMulticast(v: unknown): boolean {
  const first = Number(text(v).split(".")[0]);
  return isIpv4(v) && first >= 224 && first <= 239;
}

/** Where the meter node listens: a multicast group, or a unicast IPv4 address (not 0.x, 240+ or broadcast). */
export function isMeterGroup(v: unknown): boolean {
  const first = Number(text(v).split(".")[0]);
  return isIpv4(v) && first >= 1 && first <= 239;
}

export type PasswordProblem = "passwordLength" | "passwordChars";

/** Why a password cannot be sent, as the key of the dialog's message; undefined when it can (or is empty). */
export function passwordProblem(v: unknown): PasswordProblem | undefined {
  const s = typeof v === "string" ? v : "";
  if (s.length > PASSWORD_MAX_LENGTH) return "passwordLength";
  if (!/^[\x20-\x7e]*$/.test(s)) return "passwordChars";
  return undefined;
}
