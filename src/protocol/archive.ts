/**
 * The inverter's own history: day data (5-minute total-yield counters), month data (daily counters) and the event
 * log. Requests carry a time range in Unix seconds; answers hold fixed-size records of their own layout.
 */
import { DecodeError } from "./errors";
import { ArchiveCommand, NAN_S32 } from "./constants";
import { counter } from "./records";
import { buildQuery, type RequestBase } from "./requests";

export type ArchiveKind = "day" | "month";
export type EventGroup = "user" | "installer";

/** Length of a day-data slot: records are stamped on multiples of it. */
export const ARCHIVE_SLOT_S = 300;
export const DAY_S = 86_400;
/** u32 LE time, u64 LE total-yield counter (Wh). */
export const YIELD_RECORD_SIZE = 12;
export const EVENT_RECORD_SIZE = 48;

export const ARCHIVE_COMMANDS: Readonly<Record<ArchiveKind, number>> = { day: ArchiveCommand.DAY, month: ArchiveCommand.MONTH };
export const EVENT_COMMANDS: Readonly<Record<EventGroup, number>> = {
  user: ArchiveCommand.EVENTS_USER, installer: ArchiveCommand.EVENTS_INSTALLER,
};
const ALL = new Set<number>(Object.values(ArchiveCommand));

/** True for archive and event-log requests and their answers (request + 1 in the low byte). */
export function isArchiveCommand(command: number): boolean {
  return ALL.has(((command & 0xffffff00) | ((command & 0xff) & ~1)) >>> 0);
}

/** A time range in whole Unix seconds, both ends included. */
export interface TimeRange {
  from: number;
  to: number;
}

/** Throws EENCODE unless the range is two Unix-second integers in u32 range with from <= to. */
export function checkRange(r: TimeRange): TimeRange {
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  if (!ok(r.from) || !ok(r.to) || r.from > r.to) throw new DecodeError("EENCODE", `time range ${r.from}..${r.to} is not valid`);
  return r;
}

/** An archive or event-log request for a range of Unix seconds. */
export function buildArchiveRequest(r: RequestBase & { command: number; range: TimeRange }): Buffer {
  const { from, to } = checkRange(r.range);
  return buildQuery({ ...r, query: { command: r.command, first: from, last: to } });
}

/**
 * The range to ask for records stamped from..to: one slot earlier, as the first record of an answer only serves as
 * the baseline of the next one (the reference readers ask local midnight - 300 s .. midnight + 86100 s for a day).
 */
export function archiveRequestRange(kind: ArchiveKind, wanted: TimeRange): TimeRange {
  const step = kind === "day" ? ARCHIVE_SLOT_S : DAY_S;
  return checkRange({ from: Math.max(0, floorTo(wanted.from, step) - step), to: floorTo(wanted.to, step) });
}

function floorTo(s: number, step: number): number {
  return Math.floor(s / step) * step;
}

export interface YieldRecord {
  /** Unix seconds, the inverter's clock. */
  time: number;
  /** Total-yield counter in Wh, null for "no value". */
  totalWh: number | null;
}

/** The 12-byte records of a day- or month-data answer; a payload that is no whole number of them is ERECORD. */
export function decodeYieldRecords(payload: Buffer): YieldRecord[] {
  if (payload.length % YIELD_RECORD_SIZE !== 0) {
    throw new DecodeError("ERECORD", `${payload.length} bytes are no whole number of ${YIELD_RECORD_SIZE}-byte archive records`);
  }
  const out: YieldRecord[] = [];
  for (let off = 0; off < payload.length; off += YIELD_RECORD_SIZE) {
    out.push({ time: payload.readUInt32LE(off), totalWh: counter(payload.readBigUInt64LE(off + 4)) });
  }
  return out;
}

export interface EventRecord {
  /** Unix seconds. */
  time: number;
  /** Running number of the entry; 1 is the oldest the device holds. */
  entryId: number;
  susyId: number;
  serial: number;
  /** Event number as the device's manual lists it. */
  code: number;
  flags: number;
  group: number;
  /** Id of the event's text in SMA's tag list. */
  tag: number;
  counter: number;
  /** The four u32 arguments of the event. */
  args: number[];
}

/** The 48-byte records of an event-log answer; empty slots (time 0) are left out. */
export function decodeEventRecords(payload: Buffer): EventRecord[] {
  if (payload.length % EVENT_RECORD_SIZE !== 0) {
    throw new DecodeError("ERECORD", `${payload.length} bytes are no whole number of ${EVENT_RECORD_SIZE}-byte event records`);
  }
  const out: EventRecord[] = [];
  for (let off = 0; off < payload.length; off += EVENT_RECORD_SIZE) {
    const r = payload.subarray(off, off + EVENT_RECORD_SIZE);
    const time = r.readInt32LE(0);
    if (time <= 0 || time === (NAN_S32 | 0)) continue;
    out.push({
      time, entryId: r.readUInt16LE(4), susyId: r.readUInt16LE(6), serial: r.readUInt32LE(8), code: r.readUInt16LE(12),
      flags: r.readUInt16LE(14), group: r.readUInt32LE(16), tag: r.readUInt32LE(24), counter: r.readUInt32LE(28),
      args: [32, 36, 40, 44].map((o) => r.readUInt32LE(o)),
    });
  }
  return out;
}

export interface YieldPoint {
  /** End of the interval, ms since epoch (UTC). */
  time: number;
  /** The total-yield counter, Wh. */
  totalYield: number;
  /** Energy of the interval since the previous record, Wh. */
  yield: number;
  /** Mean power over the interval, W (day data only; null for month data). */
  power: number | null;
}

/**
 * Yields per interval from counter records: sorted by time, one record per time, records without a value or with a
 * falling counter left out. The first valid record is only the baseline of the next. Power is ΔWh × 3600 / Δt for
 * day data, whose records are ARCHIVE_SLOT_S apart; a longer gap (missing slots) still gives its mean power.
 */
export function yieldPoints(records: readonly YieldRecord[], kind: ArchiveKind): YieldPoint[] {
  const byTime = new Map<number, number>();
  for (const r of records) if (r.totalWh !== null && r.time > 0 && !byTime.has(r.time)) byTime.set(r.time, r.totalWh);
  const sorted = [...byTime].sort(([a], [b]) => a - b);
  const out: YieldPoint[] = [];
  let prev: [number, number] | undefined;
  for (const [time, total] of sorted) {
    if (prev && total < prev[1]) continue;
    if (prev) {
      const wh = total - prev[1];
      const power = kind === "day" ? Math.round((wh * 3600) / (time - prev[0])) : null;
      out.push({ time: time * 1000, totalYield: total, yield: wh, power });
    }
    prev = [time, total];
  }
  return out;
}
