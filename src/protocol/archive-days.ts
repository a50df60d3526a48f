/**
 * Archives in the device's local days, and yields in which one odd record costs that record only.
 *
 * Devices stamp daily records at their LOCAL midnight (22:00Z in summer, 23:00Z in winter in Central Europe), some
 * at the midnight that FOLLOWS the day (the record at local 00:00 of day D holds the counter at the end of D-1), and
 * days with a DST change have 23 or 25 hours. Pure functions: the time zone is a parameter (an IANA name; undefined
 * is the process's own zone, TZ), the clock is never read.
 */
import { DAY_S, type ArchiveKind, type TimeRange, type YieldPoint, type YieldRecord } from "./archive";

/**
 * Formatters kept, by zone name as given. Intl takes names in any case ("europe/berlin", "EUROPE/berlin", ...: 4096
 * spellings of one zone), so the cache is emptied when it holds this many rather than growing with each spelling.
 */
export const MAX_ZONE_FORMATTERS = 64;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Formatters cached (tests). */
export function zoneFormatterCount(): number {
  return formatters.size;
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    if (formatters.size >= MAX_ZONE_FORMATTERS) formatters.clear();
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when Intl knows the IANA zone name (e.g. "Europe/Berlin"). */
export function isTimeZone(name: unknown): name is string {
  if (typeof name !== "string" || name === "") return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** Seconds local time is ahead of UTC at Unix second t in an IANA zone (undefined: the process's zone). */
export function zoneOffsetS(t: number, timeZone?: string): number {
  const s = Math.floor(t);
  if (timeZone === undefined) return -new Date(s * 1000).getTimezoneOffset() * 60;
  const p: Record<string, number> = {};
  for (const x of formatter(timeZone).formatToParts(new Date(s * 1000)))
    if (x.type !== "literal") p[x.type] = Number(x.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) / 1000 - s;
}

/** The local midnight that starts the day holding Unix second t (where a DST change skips 00:00: the change). */
export function localMidnight(t: number, timeZone?: string): number {
  const off = zoneOffsetS(t, timeZone);
  const day = Math.floor((Math.floor(t) + off) / DAY_S) * DAY_S;
  const a = day - off;
  const b = day - zoneOffsetS(a, timeZone);
  if (b === a) return a;
  const c = day - zoneOffsetS(b, timeZone);
  return c === b ? b : Math.max(b, c);
}

/** The local midnight after the day that starts at (or holds) t: 23, 24 or 25 hours later. */
export function nextLocalMidnight(t: number, timeZone?: string): number {
  return localMidnight(localMidnight(t, timeZone) + DAY_S + 3 * 3600, timeZone);
}

/** Where a device stamps a day's total: at the midnight that starts the day ("own") or at the one after it ("next"). */
export type DailyStamp = "own" | "next";

/**
 * Which midnight a device stamps its daily totals at, from one daily record and the device's 5-minute counters at
 * the record's stamp and at the local midnight after it: a total equal to the counter at its stamp is the total of
 * the day before ("next"); equal to the counter at the following midnight, the total of its own day ("own").
 * Undefined when they cannot tell: a counter missing (null: not held, or that midnight not reached yet, where a
 * total still growing would look like "next"), or no yield that day (both counters equal).
 */
export function detectDailyStamp(
  totalWh: number | null,
  atStamp: number | null,
  atNext: number | null,
): DailyStamp | undefined {
  if (totalWh === null || atStamp === null || atNext === null || atStamp === atNext) return undefined;
  return totalWh === atStamp ? "next" : totalWh === atNext ? "own" : undefined;
}

/**
 * Daily records dated by the day they hold: with "next", each record moves back to the local midnight before its
 * stamp (23, 24 or 25 hours earlier), so that every record is stamped at the start of its own day.
 */
export function redateDaily(records: readonly YieldRecord[], stamp: DailyStamp, timeZone?: string): YieldRecord[] {
  return stamp === "next" ? records.map((r) => ({ ...r, time: localMidnight(r.time - 1, timeZone) })) : [...records];
}

/**
 * Whether a record belongs to the wanted range: a 5-minute record (the end of its slot) when its time lies inside,
 * a daily record (stamped at the start of its day) when its local day overlaps the range.
 */
export function inWanted(kind: ArchiveKind, time: number, wanted: TimeRange, timeZone?: string): boolean {
  if (kind === "day") return time >= wanted.from && time <= wanted.to;
  return time <= wanted.to && nextLocalMidnight(time, timeZone) > wanted.from;
}

/**
 * The records (oldest first, one per time, daily ones already dated by their day) that belong to the wanted
 * range, and before them the newest record with a value as the baseline of the first yield.
 */
export function cutToWanted(
  kind: ArchiveKind,
  sorted: readonly YieldRecord[],
  wanted: TimeRange,
  timeZone?: string,
): YieldRecord[] {
  const inside = sorted.filter((r) => inWanted(kind, r.time, wanted, timeZone));
  const first = inside.length > 0 ? inside[0].time : wanted.from;
  const before = sorted.filter(
    (r) => r.time < first && r.totalWh !== null && !inWanted(kind, r.time, wanted, timeZone),
  );
  return before.length > 0 ? [before[before.length - 1], ...inside] : inside;
}

/**
 * The largest power (W) taken as physical when the device's nominal power is not given: 1 MW. The largest
 * inverters that speak Speedwire have about 110 kW; a bogus slot seen in real archives reads 22 MW.
 */
export const MAX_PLANT_POWER_W = 1_000_000;

/** Why a record gave no yield. */
export type DropReason = "spike" | "reset" | "noValue";
/** Records left out, by reason. */
export type DroppedRecords = Record<DropReason, number>;

export interface YieldSeries {
  /** Yields per interval, oldest first (as yieldPoints). */
  points: YieldPoint[];
  /** Each record that gave no yield (the first baseline apart): its time (Unix s) and why. */
  drops: { time: number; reason: DropReason }[];
}

/** Records looked at past an implausible one to tell a lone bogus record from a new level of the counter. */
const LOOKAHEAD = 3;

/**
 * Yields from counter records in which an odd record costs that record only:
 * - spike: the counter rose more than maxPowerW could produce in the interval (or fell) and returns to the old
 *   level within the next LOOKAHEAD records: the record is left out, the yield of the next one spans both slots;
 *   a rise that stays (a new level) is left out too and becomes the baseline, so no absurd yield is ever emitted.
 * - reset: the counter fell and stays low: the record starts a new baseline (its interval has no known yield).
 * - noValue: the record has no counter (all ones).
 * Power is ΔWh × 3600 / Δt for day data (null for daily data).
 */
export function yieldSeries(
  records: readonly YieldRecord[],
  kind: ArchiveKind,
  maxPowerW = MAX_PLANT_POWER_W,
): YieldSeries {
  const byTime = new Map<number, number | null>();
  for (const r of records) {
    if (r.time > 0 && (!byTime.has(r.time) || byTime.get(r.time) === null)) byTime.set(r.time, r.totalWh);
  }
  const sorted = [...byTime].sort(([a], [b]) => a - b);
  const drops: YieldSeries["drops"] = [];
  const valid: [number, number][] = [];
  for (const [time, total] of sorted) {
    if (total === null) drops.push({ time, reason: "noValue" });
    else valid.push([time, total]);
  }
  const plausible = (b: [number, number], r: [number, number]): boolean =>
    r[1] >= b[1] && r[1] - b[1] <= (maxPowerW * (r[0] - b[0])) / 3600;
  const points: YieldPoint[] = [];
  let base: [number, number] | undefined;
  for (let i = 0; i < valid.length; i++) {
    const r = valid[i];
    if (!base) {
      base = r;
      continue;
    }
    if (plausible(base, r)) {
      const wh = r[1] - base[1];
      points.push({
        time: r[0] * 1000,
        totalYield: r[1],
        yield: wh,
        power: kind === "day" ? Math.round((wh * 3600) / (r[0] - base[0])) : null,
      });
      base = r;
      continue;
    }
    const b = base;
    if (valid.slice(i + 1, i + 1 + LOOKAHEAD).some((n) => plausible(b, n))) {
      drops.push({ time: r[0], reason: "spike" });
      continue;
    }
    drops.push({ time: r[0], reason: r[1] < base[1] ? "reset" : "spike" });
    base = r;
  }
  drops.sort((a, c) => a.time - c.time);
  return { points, drops };
}

/** The yields of yieldSeries without the reasons (records without a value or out of line left out). */
export function yieldPoints(records: readonly YieldRecord[], kind: ArchiveKind, maxPowerW?: number): YieldPoint[] {
  return yieldSeries(records, kind, maxPowerW).points;
}

/**
 * The yields of the records wanted (the baseline before them only serves the first one) and how many records of
 * the range were left out, by reason.
 */
export function archiveYields(
  records: readonly YieldRecord[],
  kind: ArchiveKind,
  wanted: TimeRange,
  o: { maxPowerW?: number; timeZone?: string } = {},
): { points: YieldPoint[]; dropped: DroppedRecords } {
  const { points, drops } = yieldSeries(records, kind, o.maxPowerW);
  const dropped: DroppedRecords = { spike: 0, reset: 0, noValue: 0 };
  for (const d of drops) if (inWanted(kind, d.time, wanted, o.timeZone)) dropped[d.reason]++;
  return { points: points.filter((p) => inWanted(kind, p.time / 1000, wanted, o.timeZone)), dropped };
}
