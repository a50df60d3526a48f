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

export const ARCHIVE_COMMANDS: Readonly<Record<ArchiveKind, number>> = {
  day: ArchiveCommand.DAY,
  month: ArchiveCommand.MONTH,
};
export const EVENT_COMMANDS: Readonly<Record<EventGroup, number>> = {
  user: ArchiveCommand.EVENTS_USER,
  installer: ArchiveCommand.EVENTS_INSTALLER,
};
const ALL = new Set<number>(Object.values(ArchiveCommand));

/** True for archive and event-log requests and their answers (request + 1 in the low byte). */
export function isArchiveCommand(command: number): boolean {
  return ALL.has(((command & 0xffffff00) | (command & 0xff & ~1)) >>> 0);
}

/** A time range in whole Unix seconds, both ends included. */
export interface TimeRange {
  from: number;
  to: number;
}

/** Throws EENCODE unless the range is two Unix-second integers in u32 range with from <= to. */
export function checkRange(r: TimeRange): TimeRange {
  const ok = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  if (!ok(r.from) || !ok(r.to) || r.from > r.to)
    throw new DecodeError("EENCODE", `time range ${r.from}..${r.to} is not valid`);
  return r;
}

/** An archive or event-log request for a range of Unix seconds. */
export function buildArchiveRequest(r: RequestBase & { command: number; range: TimeRange }): Buffer {
  const { from, to } = checkRange(r.range);
  return buildQuery({ ...r, query: { command: r.command, first: from, last: to } });
}

/**
 * The range to ask the device for records wanted in `wanted`. Day data: slot boundaries, one slot earlier (the first
 * record of an answer only serves as the baseline of the next one). Daily data: padded by days on both sides, as
 * the wanted days start at local (not UTC) midnights, may be stamped at the following midnight and need the day
 * before as baseline; cutToWanted (archive-days.ts) cuts the answer to what was wanted.
 */
export function archiveRequestRange(kind: ArchiveKind, wanted: TimeRange): TimeRange {
  if (kind === "day") {
    return checkRange({
      from: Math.max(0, floorTo(wanted.from, ARCHIVE_SLOT_S) - ARCHIVE_SLOT_S),
      to: floorTo(wanted.to, ARCHIVE_SLOT_S),
    });
  }
  return checkRange({ from: Math.max(0, wanted.from - 3 * DAY_S), to: Math.min(0xffffffff, wanted.to + 2 * DAY_S) });
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
    throw new DecodeError(
      "ERECORD",
      `${payload.length} bytes are no whole number of ${YIELD_RECORD_SIZE}-byte archive records`,
    );
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
    throw new DecodeError(
      "ERECORD",
      `${payload.length} bytes are no whole number of ${EVENT_RECORD_SIZE}-byte event records`,
    );
  }
  const out: EventRecord[] = [];
  for (let off = 0; off < payload.length; off += EVENT_RECORD_SIZE) {
    const r = payload.subarray(off, off + EVENT_RECORD_SIZE);
    const time = r.readInt32LE(0);
    if (time <= 0 || time === (NAN_S32 | 0)) continue;
    out.push({
      time,
      entryId: r.readUInt16LE(4),
      susyId: r.readUInt16LE(6),
      serial: r.readUInt32LE(8),
      code: r.readUInt16LE(12),
      flags: r.readUInt16LE(14),
      group: r.readUInt32LE(16),
      tag: r.readUInt32LE(24),
      counter: r.readUInt32LE(28),
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
