/**
 * Day and month archive reads in the device's local days: the padded range to ask, which midnight the device
 * stamps daily totals at (set, or found out from its records), the re-dating and the cut to what was wanted. The
 * session supplies the requests (inside its queue, logged in); this file cuts a range into chunks and reads the
 * answers' codes; the date logic is src/protocol/archive-days.ts.
 */
import {
  ARCHIVE_COMMANDS,
  DAY_S,
  EVENT_COMMANDS,
  ErrorCode,
  NO_SUCH_VALUES,
  hexCode,
  type Address,
  archiveRequestRange,
  cutToWanted,
  decodeEventRecords,
  decodeYieldRecords,
  detectDailyStamp,
  isTimeZone,
  localMidnight,
  nextLocalMidnight,
  redateDaily,
  type ArchiveKind,
  type DailyStamp,
  type EventGroup,
  type EventRecord,
  type TimeRange,
  type YieldRecord,
} from "../protocol";
import { SmaError } from "./errors";

/** How readArchive dates and cuts daily records. */
export interface ArchiveReadOptions {
  /** The device stamps each day's total at the following local midnight (month data). */
  dailyAtNextMidnight?: boolean;
  /**
   * Unless dailyAtNextMidnight: find out from the device (month data), by its newest daily records and its day data
   * at their stamps and next midnights; where they cannot tell, "own". A decision is kept for the session.
   */
  detectDailyStamp?: boolean;
  /** IANA zone of the device's days (e.g. "Europe/Berlin"); default the process's zone (TZ). */
  timeZone?: string;
}

/** Where the daily totals of a month-data read were taken as stamped, and what said so. */
export interface DailyStampFound {
  stamp: DailyStamp;
  /** "setting": the caller's option; "device": detected from its records; "default": undecided, taken as "own". */
  by: "setting" | "device" | "default";
}

/** What a session keeps between archive reads of its device. */
export interface ArchiveMemo {
  dailyStamp?: DailyStamp;
  /** The newest daily record already looked at without a decision: not asked about again. */
  undecidedUpTo?: number;
  /** The local midnight of the day the device's newest daily records were last asked for (once a day at most). */
  recentAskedOn?: number;
}

/** The device's newest daily records are asked for over this many days up to now (and a day ahead of its clock). */
const RECENT_DAYS = 4;

/** The payloads of one archive command over a range, asked in chunks of chunkS seconds (the session's requests). */
export type ArchiveFetch = (command: number, range: TimeRange, chunkS: number) => Promise<Buffer[]>;

/** EINVAL for options that cannot be used, else undefined. */
export function archiveOptionsProblem(o: ArchiveReadOptions): SmaError | undefined {
  return o.timeZone !== undefined && !isTimeZone(o.timeZone)
    ? new SmaError("EINVAL", `unknown time zone ${o.timeZone}`)
    : undefined;
}

/**
 * Reads day or month data for wanted (Unix s): the range asked, the records of the wanted range (oldest first, one
 * per time, daily ones dated by the local midnight that starts their day) with the baseline record before them,
 * and for month data which midnight the totals were taken as stamped at.
 */
export async function readYieldArchive(
  fetch: ArchiveFetch,
  kind: ArchiveKind,
  wanted: TimeRange,
  chunkS: number,
  options: ArchiveReadOptions,
  memo: ArchiveMemo,
  now = Math.floor(Date.now() / 1000),
): Promise<{ asked: TimeRange; records: YieldRecord[]; dailyStamp?: DailyStampFound }> {
  const tz = options.timeZone;
  const asked = archiveRequestRange(kind, wanted);
  const raw = (await fetch(ARCHIVE_COMMANDS[kind], asked, chunkS)).flatMap(decodeYieldRecords);
  let dailyStamp: DailyStampFound | undefined;
  if (kind === "month") {
    dailyStamp = options.dailyAtNextMidnight
      ? { stamp: "next", by: "setting" }
      : options.detectDailyStamp
        ? await findDailyStamp(fetch, raw, tz, memo, now)
        : { stamp: "own", by: "setting" };
  }
  const unique = new Map<number, YieldRecord>();
  for (const r of redateDaily(raw, dailyStamp?.stamp ?? "own", tz)) if (!unique.has(r.time)) unique.set(r.time, r);
  const records = cutToWanted(
    kind,
    [...unique.values()].sort((a, b) => a.time - b.time),
    wanted,
    tz,
  );
  return dailyStamp ? { asked, records, dailyStamp } : { asked, records };
}

/**
 * Which midnight the device stamps daily totals at, from the two newest daily records of an answer and the day data
 * at each one's stamp and next local midnight (one-slot requests, once per session: a decision is kept, and records
 * that could not tell are not asked about again). Records of a range older than the device keeps day data for
 * cannot tell: then the device's newest daily records (the last RECENT_DAYS days, asked once a day) decide.
 */
async function findDailyStamp(
  fetch: ArchiveFetch,
  raw: readonly YieldRecord[],
  tz: string | undefined,
  memo: ArchiveMemo,
  now: number,
): Promise<DailyStampFound> {
  if (memo.dailyStamp) return { stamp: memo.dailyStamp, by: "device" };
  const found = await stampOf(fetch, raw, tz, memo);
  if (found) return found;
  const today = localMidnight(now, tz);
  if (memo.recentAskedOn === today) return { stamp: "own", by: "default" };
  let recent: YieldRecord[];
  try {
    recent = (
      await fetch(ARCHIVE_COMMANDS.month, { from: today - RECENT_DAYS * DAY_S, to: now + DAY_S }, 31 * DAY_S)
    ).flatMap(decodeYieldRecords);
  } catch (e) {
    if (e instanceof SmaError && (e.code === "ENOTSUPPORTED" || e.code === "EPROTOCOL")) recent = [];
    else throw e;
  }
  const decided = await stampOf(fetch, recent, tz, memo);
  // Used up only by a look-up that ran to its end: one whose request was lost (ETIMEDOUT) is tried on the next read,
  // not skipped for the rest of the day (each total of an old range dated a day late, by: "default").
  memo.recentAskedOn = today;
  return decided ?? { stamp: "own", by: "default" };
}

/** The stamp the two newest records of `raw` tell (kept in memo), or undefined. */
async function stampOf(
  fetch: ArchiveFetch,
  raw: readonly YieldRecord[],
  tz: string | undefined,
  memo: ArchiveMemo,
): Promise<DailyStampFound | undefined> {
  const counterAt = async (t: number): Promise<number | null> => {
    try {
      return (
        (await fetch(ARCHIVE_COMMANDS.day, { from: t, to: t }, DAY_S))
          .flatMap(decodeYieldRecords)
          .find((r) => r.time === t)?.totalWh ?? null
      );
    } catch (e) {
      // No day data on this device (or not readable): the counters cannot tell.
      if (e instanceof SmaError && (e.code === "ENOTSUPPORTED" || e.code === "EPROTOCOL")) return null;
      throw e;
    }
  };
  const newest = raw
    .filter((x) => x.totalWh !== null)
    .sort((a, b) => b.time - a.time)
    .slice(0, 2);
  if (newest.length === 0 || newest[0].time <= (memo.undecidedUpTo ?? -1)) return undefined;
  // The newest record's next midnight may lie ahead (a device stamping at the following midnight): the one before decides.
  for (const r of newest) {
    const found = detectDailyStamp(r.totalWh, await counterAt(r.time), await counterAt(nextLocalMidnight(r.time, tz)));
    if (found) {
      memo.dailyStamp = found;
      return { stamp: found, by: "device" };
    }
  }
  memo.undecidedUpTo = newest[0].time;
  return undefined;
}

/** What an archive read asked and what the device sent (Unix seconds). */
export interface ArchiveReadResult<R> {
  /** The range asked of the device (day data: one slot before the first wanted, as the baseline; month data: padded by days). */
  asked: TimeRange;
  /** Oldest and newest time of `records` (the baseline included), or null when the device holds nothing in the range. */
  held: TimeRange | null;
  /** Month data: which midnight the daily totals were taken as stamped at (they are dated by their own day). */
  dailyStamp?: DailyStampFound;
  /** Oldest first, one per time; day and month data: those of the wanted range and the baseline record before them. */
  records: R[];
  device: Address;
}

/** Longest range one archive read may ask for, in days: each request covers at most one chunk. */
export const ARCHIVE_LIMITS = {
  day: { maxDays: 92, chunkS: DAY_S },
  month: { maxDays: 3660, chunkS: 31 * DAY_S },
  events: { maxDays: 366, chunkS: 31 * DAY_S },
} as const;

/** Why a range cannot be asked (EINVAL), or undefined. */
export function rangeProblem(kind: keyof typeof ARCHIVE_LIMITS, r: TimeRange): SmaError | undefined {
  const whole = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff;
  if (!whole(r.from) || !whole(r.to) || r.from > r.to)
    return new SmaError("EINVAL", `time range ${r.from}..${r.to} is not valid`);
  const max = ARCHIVE_LIMITS[kind].maxDays;
  if (r.to - r.from > max * DAY_S) return new SmaError("EINVAL", `time range longer than ${max} days`);
  return undefined;
}

/** One archive request's answer: the device's error code and the payloads of its datagrams. */
export interface ChunkAnswer {
  errorCode: number;
  payloads: Buffer[];
}

/**
 * The payloads of one archive command over a range, asked in chunks of chunkS seconds (so that one lost datagram
 * costs one short answer, not the whole range). `ask` sends one request (logged in); `between` runs before every
 * chunk but the first (live reads waiting go first). 0x0015 is "no records there"; 0x0014 / 0x0017: ENOTSUPPORTED.
 */
export async function archiveChunks(
  ask: (command: number, chunk: TimeRange) => Promise<ChunkAnswer>,
  between: () => Promise<void>,
  command: number,
  range: TimeRange,
  chunkS: number,
): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const what = `archive 0x${command.toString(16)}`;
  for (let from = range.from; from <= range.to; from += chunkS) {
    if (from > range.from) await between();
    const answer = await ask(command, { from, to: Math.min(range.to, from + chunkS - 1) });
    if (answer.errorCode === ErrorCode.NOT_SUPPORTED) continue;
    if (NO_SUCH_VALUES.has(answer.errorCode)) {
      const why = answer.errorCode === ErrorCode.UNKNOWN_COMMAND ? "does not know" : "has no";
      throw new SmaError(
        "ENOTSUPPORTED",
        `the device ${why} ${what} (error ${hexCode(answer.errorCode)})`,
        answer.errorCode,
      );
    }
    if (answer.errorCode !== 0)
      throw new SmaError(
        "EPROTOCOL",
        `inverter answered ${what} with error ${hexCode(answer.errorCode)}`,
        answer.errorCode,
      );
    out.push(...answer.payloads);
  }
  return out;
}

/** Oldest first, one record per key (chunks that share a boundary send its record twice). */
export function archiveResult<R extends { time: number }>(
  asked: TimeRange,
  records: R[],
  key: (r: R) => string,
  device: Address,
): ArchiveReadResult<R> {
  const unique = new Map<string, R>();
  for (const r of records) if (!unique.has(key(r))) unique.set(key(r), r);
  const sorted = [...unique.values()].sort((a, b) => a.time - b.time);
  return {
    asked,
    records: sorted,
    device,
    held: sorted.length > 0 ? { from: sorted[0].time, to: sorted[sorted.length - 1].time } : null,
  };
}

/** A day or month archive read (session.readArchive) over the session's fetch; `device` names it in the result. */
export async function yieldArchive(
  fetch: ArchiveFetch,
  kind: ArchiveKind,
  wanted: TimeRange,
  options: ArchiveReadOptions,
  memo: ArchiveMemo,
  device: () => Address,
): Promise<ArchiveReadResult<YieldRecord>> {
  const r = await readYieldArchive(fetch, kind, wanted, ARCHIVE_LIMITS[kind].chunkS, options, memo);
  const result = archiveResult(r.asked, r.records, (x) => String(x.time), device());
  return r.dailyStamp ? { ...result, dailyStamp: r.dailyStamp } : result;
}

/** The event log of the user or installer group (session.readEvents) over the session's fetch. */
export async function eventLog(
  fetch: ArchiveFetch,
  group: EventGroup,
  wanted: TimeRange,
  device: () => Address,
): Promise<ArchiveReadResult<EventRecord>> {
  const raw = await fetch(EVENT_COMMANDS[group], wanted, ARCHIVE_LIMITS.events.chunkS);
  return archiveResult(wanted, raw.flatMap(decodeEventRecords), (r) => `${r.time}/${r.entryId}`, device());
}
