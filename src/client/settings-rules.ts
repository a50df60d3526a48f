/**
 * What each setting of the nodes may be: the one source of the rules that the runtime reads settings with and the
 * editor dialogs validate with (nodes/<set>/editor.ts imports it; the build bundles it into resources/sma-<set>.js).
 * No imports, pure functions: fields arrive as strings from the editor, or as numbers from older flows.
 * The runtime reads a node's settings with inverterSettings / meterSettings: { ok: true, value, warnings } or
 * { ok: false, field, reason }; a wrong setting is refused (EINVAL naming the field), never replaced by a default.
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
/** The meter node's throttle and watchdog as the dialog accepts them, s (decimals allowed). */
export const METER_SECONDS: Range = { min: 0, max: 86400 };
/** The throttle the runtime uses: 0 = every datagram, else at least 0.1 s (timers faster than meters send). */
export const THROTTLE_S: Range = { min: 0.1, max: 86400 };
/** The watchdog the runtime uses: 0 = off, else at least 1 s (it updated the status 800 times a second at 0.001). */
export const WATCHDOG_S: Range = { min: 1, max: 86400 };
/** The sma-archive node's span, per archive: hours of 5-minute data (92 days), days of daily data or events. */
export const ARCHIVE_SPAN: Readonly<Record<"day" | "month" | "events", Range>> = {
  day: { min: 1, max: 92 * 24 },
  month: { min: 1, max: 3660 },
  events: { min: 1, max: 366 },
};
/** Speedwire carries at most 12 password characters, printable ASCII. */
export const PASSWORD_MAX_LENGTH = 12;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOSTNAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

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

/** An IPv4 address or a host name; all digits and dots must be a real IPv4 address (not 192.168.1.300) of one device. */
export function isHost(v: unknown): boolean {
  const s = text(v);
  return /^[\d.]+$/.test(s) ? isUnicast(s) : HOSTNAME.test(s);
}

/**
 * An IPv4 address one device can have: not 0.x ("this host": the datagram goes to a local program), multicast
 * (224-239: a login sent there hands the password to every host in the group) nor 240 and up (broadcast, reserved).
 */
export function isUnicast(v: unknown): boolean {
  const first = Number(text(v).split(".")[0]);
  return isIpv4(v) && first >= 1 && first <= 223;
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

/* The runtime's view: a setting checked, with the field it belongs to when it is wrong. */

export type Rule<T> =
  { ok: true; value: T; clamped?: { from: number; to: number } } | { ok: false; field: string; reason: string };
export const GROUPS = ["user", "installer"] as const;
export type Group = (typeof GROUPS)[number];

const fail = (field: string, reason: string): { ok: false; field: string; reason: string } => ({
  ok: false,
  field,
  reason,
});

/** Text or a number (older flows): its trimmed text; anything else (an object would become "[object Object]"): undefined. */
function plain(v: unknown): string | undefined {
  if (v === undefined || v === null || typeof v === "string" || (typeof v === "number" && Number.isFinite(v)))
    return text(v);
  return undefined;
}

/** A host, or "" (find the device by its serial). */
export function hostRule(v: unknown, field = "host"): Rule<string> {
  const s = plain(v);
  if (s === undefined) return fail(field, "not text");
  if (s !== "" && !isHost(s)) return fail(field, `"${s.slice(0, 40)}" is not an IPv4 address or host name`);
  return { ok: true, value: s };
}

/** An IPv4 address (passing `valid`), or "". */
export function addressRule(v: unknown, field: string, valid: (s: string) => boolean = isIpv4): Rule<string> {
  const s = plain(v);
  if (s === undefined || (s !== "" && !valid(s))) return fail(field, "not a usable IPv4 address");
  return { ok: true, value: s };
}

/** A whole number in range, or undefined when empty; anything else is refused. */
export function wholeNumberRule(v: unknown, field: string, range: Range): Rule<number | undefined> {
  const s = plain(v);
  if (s === "") return { ok: true, value: undefined };
  const n = s === undefined ? undefined : wholeNumber(s, range);
  return n === undefined ? fail(field, `not a whole number from ${range.min} to ${range.max}`) : { ok: true, value: n };
}

/** A number moved into its range (with `clamped`), or undefined when empty; not a number is refused. */
export function clampedRule(
  v: unknown,
  field: string,
  range: Range,
  opts: { integer?: boolean; zeroIsOff?: boolean } = {},
): Rule<number | undefined> {
  const s = plain(v);
  if (s === "") return { ok: true, value: undefined };
  const n = s !== undefined && /^-?(\d{1,16}(\.\d{1,16})?|\.\d{1,16})$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)))
    return fail(field, opts.integer ? "not a whole number" : "not a number");
  if (opts.zeroIsOff && n === 0) return { ok: true, value: 0 };
  const to = Math.min(range.max, Math.max(range.min, n));
  return to === n ? { ok: true, value: n } : { ok: true, value: to, clamped: { from: n, to } };
}

export function groupRule(v: unknown): Rule<Group> {
  const s = plain(v);
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
  if (unknown.length > 0)
    return fail(
      "values",
      `not in the value table: ${unknown
        .slice(0, 3)
        .map((x) => JSON.stringify(String(x)))
        .join(", ")}`,
    );
  return { ok: true, value: [...new Set(v as string[])] };
}

export interface InverterSettings {
  host: string;
  port?: number;
  serial?: number;
  group: Group;
  timeoutMs?: number;
  retries?: number;
  follow: boolean;
}
export interface MeterSettings {
  group: string;
  port?: number;
  iface: string;
  serial?: number;
  throttleS?: number;
  watchdogS?: number;
  onlyChanges: boolean;
}
export interface Clamped {
  field: string;
  from: number;
  to: number;
}
/** Every setting checked; `warnings` list the numbers moved into their range. */
export type Checked<T> = { ok: true; value: T; warnings: Clamped[] } | { ok: false; field: string; reason: string };

function collect<T>(checks: Record<string, Rule<unknown>>, build: (v: Record<string, unknown>) => T): Checked<T> {
  const values: Record<string, unknown> = {};
  const warnings: Clamped[] = [];
  for (const [name, r] of Object.entries(checks)) {
    if (!r.ok) return r;
    if (r.clamped) warnings.push({ field: name, ...r.clamped });
    values[name] = r.value;
  }
  return { ok: true, value: build(values), warnings };
}

/** An sma-inverter node's settings as the editor saves them. Neither host nor serial: refused (field host). */
export function inverterSettings(d: Record<string, unknown>): Checked<InverterSettings> {
  const r = collect(
    {
      host: hostRule(d.host),
      port: wholeNumberRule(d.port, "port", PORT),
      serial: wholeNumberRule(d.serial, "serial", INVERTER_SERIAL),
      group: groupRule(d.group),
      timeout: clampedRule(d.timeout, "timeout", TIMEOUT_MS, { integer: true }),
      retries: clampedRule(d.retries, "retries", RETRIES, { integer: true }),
    },
    (v) => ({
      host: v.host as string,
      port: v.port as number | undefined,
      serial: v.serial as number | undefined,
      group: v.group as Group,
      timeoutMs: v.timeout as number | undefined,
      retries: v.retries as number | undefined,
      follow: flag(d.follow),
    }),
  );
  if (r.ok && r.value.host === "" && r.value.serial === undefined)
    return fail("host", "neither a host nor a serial number is set");
  return r;
}

/** An sma-energy-meter node's settings. Group empty: unicast only (as before); absent: the caller's default. */
export function meterSettings(d: Record<string, unknown>): Checked<MeterSettings> {
  return collect(
    {
      group: addressRule(d.group, "group", isMeterGroup),
      port: wholeNumberRule(d.port, "port", PORT),
      iface: addressRule(d.iface, "iface"),
      serial: wholeNumberRule(d.serial, "serial", METER_SERIAL),
      throttle: clampedRule(d.throttle, "throttle", THROTTLE_S, { zeroIsOff: true }),
      watchdog: clampedRule(d.watchdog, "watchdog", WATCHDOG_S, { zeroIsOff: true }),
    },
    (v) => ({
      group: v.group as string,
      port: v.port as number | undefined,
      iface: v.iface as string,
      serial: v.serial as number | undefined,
      throttleS: v.throttle as number | undefined,
      watchdogS: v.watchdog as number | undefined,
      onlyChanges: flag(d.onlyChanges),
    }),
  );
}

/**
 * The client's own check of an inverter session's options (InverterSession: library users, not only the nodes): the
 * first wrong one, with the message its EINVAL carries, or undefined. The client takes any sane timeout and retries
 * (tests use 25 ms); the nodes keep to the documented ranges (inverterSettings).
 */
export function sessionOptionsProblem(o: {
  host: unknown;
  port: unknown;
  serial?: unknown;
  timeoutMs: unknown;
  retries: unknown;
  password: unknown;
}): { field: string; message: string; missing?: boolean } | undefined {
  const checks: [string, Rule<unknown>][] = [
    ["host", hostRule(o.host)],
    ["port", wholeNumberRule(o.port, "port", PORT)],
    ["serial", wholeNumberRule(o.serial, "serial", INVERTER_SERIAL)],
    ["timeout", wholeNumberRule(o.timeoutMs, "timeout", { min: 1, max: 3_600_000 })],
    ["retries", wholeNumberRule(o.retries, "retries", { min: 0, max: 1000 })],
  ];
  for (const [field, r] of checks) {
    if (!r.ok || (field === "host" && typeof o.host !== "string"))
      return { field, message: `${field}: ${r.ok ? "not text" : r.reason}` };
  }
  // Every inverter refuses an empty password: say so instead of logging in and reporting "wrong password".
  if (o.password === "") return { field: "password", message: "no password set", missing: true };
  const problem = passwordProblem(o.password);
  if (problem === "passwordLength")
    return { field: "password", message: `password longer than ${PASSWORD_MAX_LENGTH} characters` };
  if (problem === "passwordChars")
    return { field: "password", message: "password has characters other than printable ASCII" };
  return undefined;
}
