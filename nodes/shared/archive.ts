/** The sma-archive node's payloads and ranges: msg fields to time ranges, archive records to flat objects. */
import { SmaError, type ArchiveReadResult } from "../../src/client";
import { DAY_S, EVENT_TAGS, yieldPoints, type EventGroup, type EventRecord, type TimeRange, type YieldRecord } from "../../src/protocol";

export type Archive = "day" | "month" | "events";

/** Unit and default span per archive (hours for day data, days otherwise); the largest is ARCHIVE_SPAN's. */
export const SPANS: Readonly<Record<Archive, { unitS: number; def: number }>> = {
  day: { unitS: 3600, def: 24 },
  month: { unitS: DAY_S, def: 31 },
  events: { unitS: DAY_S, def: 7 },
};
/** ms since epoch from a Date, an ISO string or a number of ms; undefined when it is none of them. */
export function timeOf(v: unknown): number | undefined {
  const ms = v instanceof Date ? v.getTime() : typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Date.parse(v) : NaN;
  return Number.isFinite(ms) && ms >= 0 && ms < 2 ** 32 * 1000 ? ms : undefined;
}

/** The range in ms: msg.payload.from/.to when given (to defaults to now), else the last `span` units. */
export function rangeOf(payload: unknown, archive: Archive, span: number, now = Date.now()): { from: number; to: number } {
  const p = payload !== null && typeof payload === "object" && !(payload instanceof Date) ? (payload as Record<string, unknown>) : undefined;
  if (p && (p.from !== undefined || p.to !== undefined)) {
    const from = timeOf(p.from);
    const to = p.to === undefined ? now : timeOf(p.to);
    if (from === undefined || to === undefined || from > to) {
      throw new SmaError("EINVAL", "msg.payload.from / .to must be a Date, an ISO date string or ms since 1970, from before to");
    }
    return { from, to };
  }
  return { from: now - span * SPANS[archive].unitS * 1000, to: now };
}

export const seconds = (r: { from: number; to: number }): TimeRange => ({ from: Math.ceil(r.from / 1000), to: Math.floor(r.to / 1000) });
export const ms = (r: TimeRange | null): { from: number; to: number } | null => (r ? { from: r.from * 1000, to: r.to * 1000 } : null);

/** Yields of the records stamped inside the range (the record before it is only the baseline), oldest first. */
export function yieldPayload(result: ArchiveReadResult<YieldRecord>, archive: "day" | "month", range: { from: number; to: number }): Record<string, number | null>[] {
  return yieldPoints(result.records, archive).filter((p) => p.time >= range.from && p.time <= range.to)
    .map((p) => ({ time: p.time, totalYield: p.totalYield, yield: p.yield, power: p.power }));
}

export function eventPayload(e: EventRecord, group: EventGroup): Record<string, unknown> {
  return {
    time: e.time * 1000, entryId: e.entryId, code: e.code, tag: e.tag, text: EVENT_TAGS[e.tag] ?? null, group,
    flags: e.flags, counter: e.counter, args: e.args, serial: e.serial, susyId: e.susyId,
  };
}

