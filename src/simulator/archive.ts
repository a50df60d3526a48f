/**
 * The simulated device's history: day data (5-minute counters), month data (daily counters) and the event log,
 * derived from the same energy counter the live queries report. Encoders here are the simulator's own: the codec
 * only decodes these layouts.
 */
import {
  ARCHIVE_SLOT_S,
  DAY_S,
  EVENT_RECORD_SIZE,
  NAN_U64,
  YIELD_RECORD_SIZE,
  localMidnight,
  nextLocalMidnight,
  type ArchiveKind,
  type EventGroup,
  type TimeRange,
} from "../protocol";

export { localMidnight } from "../protocol";
import { buildDataAnswer, type AnswerBase } from "./answer-builders";

/** Real readers use 2048-byte receive buffers; devices send no larger datagram. */
export const MAX_ARCHIVE_DATAGRAM = 2048;
/** Header (54 bytes) and end tag (4) around the records of one datagram. */
const DATAGRAM_OVERHEAD = 58;
/** More records than a month of days or a day of slots is never produced for one request (bounds the work). */
const MAX_RECORDS = 10_000;

export function encodeYieldRecord(time: number, totalWh: number | null): Buffer {
  const b = Buffer.alloc(YIELD_RECORD_SIZE);
  b.writeUInt32LE(time >>> 0, 0);
  const ok = totalWh !== null && Number.isSafeInteger(totalWh) && totalWh >= 0;
  b.writeBigUInt64LE(ok ? BigInt(totalWh) : NAN_U64, 4);
  return b;
}

export interface SimEvent {
  /** Unix seconds. */
  time: number;
  code: number;
  tag: number;
  group: EventGroup;
  args?: number[];
}

export function encodeEventRecord(e: SimEvent, entryId: number, device: { susyId: number; serial: number }): Buffer {
  const b = Buffer.alloc(EVENT_RECORD_SIZE);
  b.writeInt32LE(e.time | 0, 0);
  b.writeUInt16LE(entryId & 0xffff, 4);
  b.writeUInt16LE(device.susyId & 0xffff, 6);
  b.writeUInt32LE(device.serial >>> 0, 8);
  b.writeUInt16LE(e.code & 0xffff, 12);
  b.writeUInt32LE(e.group === "installer" ? 0x0a : 0x07, 16);
  b.writeUInt32LE(e.tag >>> 0, 24);
  b.writeUInt32LE(entryId >>> 0, 28);
  (e.args ?? []).slice(0, 4).forEach((a, i) => b.writeUInt32LE(a >>> 0, 32 + 4 * i));
  return b;
}

/**
 * An archive answer as datagrams of at most MAX_ARCHIVE_DATAGRAM bytes (or maxRecords records), the fragment counter
 * down to 0, the 0x8000 packet-id bit on the first datagram only, as real devices send long answers.
 */
export function buildArchiveAnswer(
  a: AnswerBase & { command: number; records: Buffer[]; maxRecords?: number },
): Buffer[] {
  const size = a.records[0]?.length ?? YIELD_RECORD_SIZE;
  const perDatagram = Math.max(
    1,
    Math.min(Math.floor((MAX_ARCHIVE_DATAGRAM - DATAGRAM_OVERHEAD) / size), a.maxRecords ?? Infinity),
  );
  const count = Math.max(1, Math.ceil(a.records.length / perDatagram));
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const records = a.records.slice(i * perDatagram, (i + 1) * perDatagram);
    out.push(
      buildDataAnswer({ ...a, firstIndex: i * perDatagram, records, fragment: count - 1 - i, packetIdFlag: i === 0 }),
    );
  }
  return out;
}

export interface ArchiveOptions {
  /** Days of 5-minute data the device keeps (older devices about 62, some newer ones 7). Default 62. */
  dayDataRetentionDays?: number;
  /** Days of daily data the device keeps. Default 3650. */
  monthDataRetentionDays?: number;
  /** Stamp each day's total at the following midnight instead of the day's own midnight (as some devices do). */
  dailyTotalAtNextMidnight?: boolean;
  /** IANA zone of the device's days (daily records at its local midnights), e.g. "Europe/Berlin"; default the process's zone. */
  timeZone?: string;
  /** Archive records (Unix s: day-data slots or daily stamps) that read a bogus counter (ARCHIVE_SPIKE_WH), as real devices show now and then. */
  archiveSpikes?: number[];
  /** Times (Unix s) at which the archive's counter restarts from 0 (a counter reset): records from then on count anew. */
  counterResets?: number[];
}

/** The counter a bogus record reads: 9·10^15 Wh (real readers show such slots, e.g. as 22 MW over 5 minutes, and worse). */
export const ARCHIVE_SPIKE_WH = 9_000_000_000_000_000;

/** The archive's counter at t: the live counter less its value at the last reset at or before t. */
function archiveCounter(o: ArchiveOptions, counterAt: (t: number) => number | null, t: number): number | null {
  const v = counterAt(t);
  const reset = Math.max(-Infinity, ...(o.counterResets ?? []).filter((r) => r <= t));
  if (v === null || reset === -Infinity) return v;
  const at = counterAt(reset);
  return at === null ? v : Math.max(0, v - at);
}

/**
 * The counter records a device holds inside the range at `now`: day data on every 300 s boundary, month data one per
 * completed local day (in o.timeZone), both back to the retention only. counterAt gives the total-yield counter (Wh)
 * at a time.
 */
export function archiveRecords(
  kind: ArchiveKind,
  range: TimeRange,
  now: number,
  o: ArchiveOptions,
  counterAt: (t: number) => number | null,
): Buffer[] {
  const out: Buffer[] = [];
  const spikes = new Set(o.archiveSpikes ?? []);
  if (kind === "day") {
    const oldest = now - (o.dayDataRetentionDays ?? 62) * DAY_S;
    const first = Math.ceil(Math.max(range.from, oldest) / ARCHIVE_SLOT_S) * ARCHIVE_SLOT_S;
    for (let t = first; t <= Math.min(range.to, now) && out.length < MAX_RECORDS; t += ARCHIVE_SLOT_S) {
      out.push(encodeYieldRecord(t, spikes.has(t) ? ARCHIVE_SPIKE_WH : archiveCounter(o, counterAt, t)));
    }
    return out;
  }
  const oldest = now - (o.monthDataRetentionDays ?? 3650) * DAY_S;
  const tz = o.timeZone;
  // Day d's record holds the counter at its end (the next local midnight), stamped at d's midnight or at that next one.
  for (
    let day = localMidnight(Math.max(range.from, oldest) - DAY_S, tz);
    day <= range.to && out.length < MAX_RECORDS;
    day = nextLocalMidnight(day, tz)
  ) {
    const end = nextLocalMidnight(day, tz);
    const stamp = o.dailyTotalAtNextMidnight ? end : day;
    if (end > now || stamp < range.from || stamp > range.to || stamp < oldest) continue;
    out.push(encodeYieldRecord(stamp, spikes.has(stamp) ? ARCHIVE_SPIKE_WH : archiveCounter(o, counterAt, end)));
  }
  return out;
}

/** The event log the simulator keeps by default: feed-in starts and stops on the last days (made-up codes). */
export function defaultEvents(now: number): SimEvent[] {
  const out: SimEvent[] = [];
  for (let d = 10; d >= 0; d--) {
    const midnight = localMidnight(now - d * DAY_S);
    for (const [h, code, tag] of [
      [6, 10_001, 0x1001],
      [20, 10_002, 0x1002],
    ] as const) {
      const time = midnight + h * 3600;
      if (time <= now) out.push({ time, code, tag, group: "user" });
    }
  }
  out.push({ time: localMidnight(now) - 12 * 3600, code: 10_500, tag: 0x1500, group: "installer", args: [1, 2, 3, 4] });
  return out.sort((a, b) => a.time - b.time);
}

/** The records of one group's log inside the range, oldest first, entry ids by age from 1. */
export function eventRecords(
  events: readonly SimEvent[],
  group: EventGroup,
  range: TimeRange,
  device: { susyId: number; serial: number },
): Buffer[] {
  const own = events.filter((e) => e.group === group).sort((a, b) => a.time - b.time);
  return own
    .map((e, i) => ({ e, id: i + 1 }))
    .filter(({ e }) => e.time >= range.from && e.time <= range.to)
    .map(({ e, id }) => encodeEventRecord(e, id, device));
}
