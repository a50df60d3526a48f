/**
 * The validation rules of every setting, in one place: pure functions over plain values (what the editor
 * saves: strings, numbers, booleans), no imports, so that the editor can run the same compiled file.
 * Each rule gives { ok: true, value } (with `clamped` when a number was moved into its range) or
 * { ok: false, field, reason }. Empty means "not set": the documented default applies.
 */

export type Rule<T> = { ok: true; value: T; clamped?: { from: number; to: number } } | { ok: false; field: string; reason: string };
export interface Range { readonly min: number; readonly max: number }

export const PORT: Range = { min: 1, max: 65535 };
/** 0xFFFFFFFF is "any device" on the wire: not a serial. */
export const SERIAL: Range = { min: 1, max: 0xfffffffe };
export const METER_SERIAL: Range = { min: 1, max: 0xffffffff };
export const TIMEOUT_MS: Range = { min: 200, max: 30_000 };
export const RETRIES: Range = { min: 0, max: 10 };
/** Seconds; 0 = every datagram. Below the floor, timers would fire faster than meters send. */
export const THROTTLE_S: Range = { min: 0.1, max: 86_400 };
/** Seconds; 0 = off. */
export const WATCHDOG_S: Range = { min: 1, max: 86_400 };
export const GROUPS = ["user", "installer"] as const;
export type Group = (typeof GROUPS)[number];

const fail = (field: string, reason: string): { ok: false; field: string; reason: string } => ({ ok: false, field, reason });

/** The setting as trimmed text: "" when absent; undefined when it is neither text nor a number (an object, ...). */
function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v.trim();
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255 && (p === "0" || !p.startsWith("0")));
}

/** RFC 1123 host name: labels of letters, digits and hyphens, not starting or ending with a hyphen. */
export function isHostName(s: string): boolean {
  return s.length <= 253 && !/^[\d.]+$/.test(s)
    && s.split(".").every((l) => /^[a-z\d]([a-z\d-]{0,61}[a-z\d])?$/i.test(l));
}

export function host(v: unknown, field = "host"): Rule<string> {
  const s = text(v);
  if (s === undefined || typeof v === "number") return fail(field, "not text");
  if (s !== "" && !isIPv4(s) && !isHostName(s)) return fail(field, `"${s.slice(0, 40)}" is not an IPv4 address or host name`);
  return { ok: true, value: s };
}

/** An IPv4 address or empty (interfaces, groups). */
export function address(v: unknown, field: string): Rule<string> {
  const s = text(v);
  if (s === undefined || (s !== "" && !isIPv4(s))) return fail(field, "not an IPv4 address");
  return { ok: true, value: s };
}

/** A whole number in range, or undefined when empty; anything else is refused. */
export function wholeNumber(v: unknown, field: string, range: Range): Rule<number | undefined> {
  const s = text(v);
  if (s === "") return { ok: true, value: undefined };
  const n = s === undefined || !/^\d+$/.test(s) ? NaN : Number(s);
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) return fail(field, `not a whole number from ${range.min} to ${range.max}`);
  return { ok: true, value: n };
}

export const serial = (v: unknown, field = "serial", range: Range = SERIAL): Rule<number | undefined> => wholeNumber(v, field, range);
export const port = (v: unknown, field = "port"): Rule<number | undefined> => wholeNumber(v, field, PORT);

/** A number moved into its range (with `clamped`), or undefined when empty; not a number is refused. */
export function clamped(v: unknown, field: string, range: Range, opts: { integer?: boolean; zeroIsOff?: boolean } = {}): Rule<number | undefined> {
  const s = text(v);
  if (s === "") return { ok: true, value: undefined };
  const n = s === undefined || !/^-?(\d+\.?\d*|\.\d+)$/.test(s) ? NaN : Number(s);
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) return fail(field, opts.integer ? "not a whole number" : "not a number");
  if (opts.zeroIsOff && n === 0) return { ok: true, value: 0 };
  const to = Math.min(range.max, Math.max(range.min, n));
  return to === n ? { ok: true, value: n } : { ok: true, value: to, clamped: { from: n, to } };
}

export function group(v: unknown): Rule<Group> {
  const s = text(v);
  if (s === "") return { ok: true, value: "user" };
  return s === "user" || s === "installer" ? { ok: true, value: s } : fail("group", "neither user nor installer");
}

export function flag(v: unknown): boolean {
  return v === true || v === "true";
}

/** sma-read's values: names of the value table only (a Set: "__proto__" or "toString" are not in it). */
export function valueNames(v: unknown, known: ReadonlySet<string>): Rule<string[]> {
  if (!Array.isArray(v)) return v === undefined ? { ok: true, value: [] } : fail("values", "not a list");
  const unknown = v.filter((x) => typeof x !== "string" || !known.has(x));
  if (unknown.length > 0) return fail("values", `not in the value table: ${unknown.slice(0, 3).map((x) => JSON.stringify(String(x))).join(", ")}`);
  return { ok: true, value: [...new Set(v as string[])] };
}

export interface InverterSettings {
  host: string; port?: number; serial?: number; group: Group; timeoutMs?: number; retries?: number; follow: boolean;
}
export interface MeterSettings {
  group: string; port?: number; iface: string; serial?: number; throttleS?: number; watchdogS?: number; onlyChanges: boolean;
}
/** Every setting checked; `warnings` list the numbers moved into their range. */
export interface Clamped { field: string; from: number; to: number }
export type Checked<T> = { ok: true; value: T; warnings: Clamped[] } | { ok: false; field: string; reason: string };

function collect<T>(rules: Record<string, Rule<unknown>>, build: (v: Record<string, unknown>) => T): Checked<T> {
  const values: Record<string, unknown> = {};
  const warnings: Clamped[] = [];
  for (const [name, r] of Object.entries(rules)) {
    if (!r.ok) return r;
    if (r.clamped) warnings.push({ field: name, ...r.clamped });
    values[name] = r.value;
  }
  return { ok: true, value: build(values), warnings };
}

/** An sma-inverter node's settings as the editor saves them. Neither host nor serial: refused (field host). */
export function inverterSettings(d: Record<string, unknown>): Checked<InverterSettings> {
  const r = collect({
    host: host(d.host), port: port(d.port), serial: serial(d.serial), group: group(d.group),
    timeout: clamped(d.timeout, "timeout", TIMEOUT_MS, { integer: true }),
    retries: clamped(d.retries, "retries", RETRIES, { integer: true }),
  }, (v) => ({
    host: v.host as string, port: v.port as number | undefined, serial: v.serial as number | undefined, group: v.group as Group,
    timeoutMs: v.timeout as number | undefined, retries: v.retries as number | undefined, follow: flag(d.follow),
  }));
  if (r.ok && r.value.host === "" && r.value.serial === undefined) return fail("host", "neither a host nor a serial number is set");
  return r;
}

/** An sma-energy-meter node's settings. Group empty: the default multicast group. */
export function meterSettings(d: Record<string, unknown>): Checked<MeterSettings> {
  return collect({
    group: address(d.group, "group"), port: port(d.port), iface: address(d.iface, "iface"),
    serial: serial(d.serial, "serial", METER_SERIAL),
    throttle: clamped(d.throttle, "throttle", THROTTLE_S, { zeroIsOff: true }),
    watchdog: clamped(d.watchdog, "watchdog", WATCHDOG_S, { zeroIsOff: true }),
  }, (v) => ({
    group: v.group as string, port: v.port as number | undefined, iface: v.iface as string, serial: v.serial as number | undefined,
    throttleS: v.throttle as number | undefined, watchdogS: v.watchdog as number | undefined, onlyChanges: flag(d.onlyChanges),
  }));
}
