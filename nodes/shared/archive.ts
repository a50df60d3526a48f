/** The sma-archive node's payloads and ranges: msg fields to time ranges, archive records to flat objects. */
import { SmaError, type ArchiveReadResult } from "../../src/client";
import {
  DAY_S,
  EVENT_TAGS,
  archiveYields,
  type DroppedRecords,
  type EventGroup,
  type EventRecord,
  type TimeRange,
  type YieldRecord,
} from "../../src/protocol";

export type Archive = "day" | "month" | "events";

/** Unit and default span per archive (hours for day data, days otherwise); the largest is ARCHIVE_SPAN's. */
export const SPANS: Readonly<Record<Archive, { unitS: number; def: number }>> = {
  day: { unitS: 3600, def: 24 },
  month: { unitS: DAY_S, def: 31 },
  events: { unitS: DAY_S, def: 7 },
};
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * ms since epoch from a Date, an ISO string or a number of ms; undefined when it is none of them. A date without a
 * time ("2024-03-31") is that day's local midnight in the zone Node-RED runs in (TZ), not UTC midnight as
 * Date.parse reads it; a date and time without an offset is local time too (as Date.parse reads it).
 */
export function timeOf(v: unknown): number | undefined {
  const day = typeof v === "string" ? DATE_ONLY.exec(v.trim()) : null;
  const ms = day
    ? localDay(Number(day[1]), Number(day[2]), Number(day[3]))
    : v instanceof Date
      ? v.getTime()
      : typeof v === "number"
        ? v
        : typeof v === "string" && v.trim() !== ""
          ? Date.parse(v)
          : NaN;
  return Number.isFinite(ms) && ms >= 0 && ms < 2 ** 32 * 1000 ? ms : undefined;
}

function localDay(y: number, m: number, d: number): number {
  const date = new Date(y, m - 1, d);
  return date.getFullYear() === y && date.getMonth() === m - 1 && date.getDate() === d ? date.getTime() : NaN;
}

/** The range in ms: msg.payload.from/.to when given (to defaults to now), else the last `span` units. */
export function rangeOf(
  payload: unknown,
  archive: Archive,
  span: number,
  now = Date.now(),
): { from: number; to: number } {
  const p =
    payload !== null && typeof payload === "object" && !(payload instanceof Date)
      ? (payload as Record<string, unknown>)
      : undefined;
  if (p && (p.from !== undefined || p.to !== undefined)) {
    const from = timeOf(p.from);
    const to = p.to === undefined ? now : timeOf(p.to);
    if (from === undefined || to === undefined || from > to) {
      throw new SmaError(
        "EINVAL",
        "msg.payload.from / .to must be a Date, an ISO date string or ms since 1970, from before to",
      );
    }
    return { from, to };
  }
  return { from: now - span * SPANS[archive].unitS * 1000, to: now };
}

export const seconds = (r: { from: number; to: number }): TimeRange => ({
  from: Math.ceil(r.from / 1000),
  to: Math.floor(r.to / 1000),
});
export const ms = (r: TimeRange | null): { from: number; to: number } | null =>
  r ? { from: r.from * 1000, to: r.to * 1000 } : null;

/**
 * Yields of the records inside the range (5-minute ones by their time, daily ones when their local day overlaps it;
 * the record before is only the baseline), oldest first, and the records of the range left out, by reason.
 */
export function yieldPayload(
  result: ArchiveReadResult<YieldRecord>,
  archive: "day" | "month",
  range: { from: number; to: number },
): { payload: Record<string, number | null>[]; dropped: DroppedRecords } {
  const { points, dropped } = archiveYields(result.records, archive, { from: range.from / 1000, to: range.to / 1000 });
  return {
    payload: points.map((p) => ({ time: p.time, totalYield: p.totalYield, yield: p.yield, power: p.power })),
    dropped,
  };
}

export function eventPayload(e: EventRecord, group: EventGroup): Record<string, unknown> {
  return {
    time: e.time * 1000,
    entryId: e.entryId,
    code: e.code,
    tag: e.tag,
    text: EVENT_TAGS[e.tag] ?? null,
    group,
    flags: e.flags,
    counter: e.counter,
    args: e.args,
    serial: e.serial,
    susyId: e.susyId,
  };
}
