/**
 * Which midnight a device stamps daily totals at, for a range older than its 5-minute data: the device's newest
 * daily records decide (archive-read.ts), asked at most once a day. A request of that look-up that fails (a lost
 * answer) must not use up the day's look-up: the next read asks again instead of dating every total a day late.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SmaError, readYieldArchive, type ArchiveFetch, type ArchiveMemo } from "../../src/client";
import { ARCHIVE_COMMANDS, DAY_S, localMidnight, nextLocalMidnight } from "../../src/protocol";
import { encodeYieldRecord } from "../../src/simulator/archive";

const TZ = "Europe/Berlin";
const NOW = Date.UTC(2026, 11, 7, 14) / 1000;
/** The device's total-yield counter (Wh) at t: it grows all the time, so every day's total differs. */
const counterAt = (t: number): number => 1_000_000 + Math.floor((t - 1_700_000_000) / 100);

/**
 * A device that stamps each day's total at the following local midnight (its record at 00:00 of day D holds the
 * counter at that midnight, the end of D-1) and keeps 5-minute data for 62 days; `fail` says which requests are lost.
 */
function device(fail: (command: number, range: { from: number; to: number }) => boolean): {
  fetch: ArchiveFetch;
  asked: string[];
} {
  const asked: string[] = [];
  const fetch: ArchiveFetch = (command, range) => {
    asked.push(command === ARCHIVE_COMMANDS.day ? "day" : "month");
    if (fail(command, range)) return Promise.reject(new SmaError("ETIMEDOUT", "no answer (lost)"));
    const out: Buffer[] = [];
    if (command === ARCHIVE_COMMANDS.month) {
      for (let t = localMidnight(range.from, TZ); t <= Math.min(range.to, NOW); t = nextLocalMidnight(t, TZ)) {
        if (t >= range.from) out.push(encodeYieldRecord(t, counterAt(t)));
      }
    } else if (range.from === range.to && range.from <= NOW && range.from > NOW - 62 * DAY_S) {
      out.push(encodeYieldRecord(range.from, counterAt(range.from)));
    }
    return Promise.resolve(out);
  };
  return { fetch, asked };
}

describe("daily stamp of an old range, when a request of the look-up is lost", () => {
  it("the next read looks again (the day's look-up is not used up by a failed one)", async () => {
    const from = localMidnight(NOW - 200 * DAY_S, TZ);
    const wanted = { from, to: nextLocalMidnight(nextLocalMidnight(from, TZ), TZ) - 1 };
    const memo: ArchiveMemo = {};
    const options = { detectDailyStamp: true, timeZone: TZ };
    let lost = true;
    // The recent records' request (a month-data request reaching up to now) is lost once.
    const { fetch } = device((command, range) => {
      if (command !== ARCHIVE_COMMANDS.month || range.to < NOW || !lost) return false;
      lost = false;
      return true;
    });
    await assert.rejects(
      readYieldArchive(fetch, "month", wanted, 31 * DAY_S, options, memo, NOW),
      (e: unknown) => e instanceof SmaError && e.code === "ETIMEDOUT",
    );
    const again = await readYieldArchive(fetch, "month", wanted, 31 * DAY_S, options, memo, NOW + 60);
    assert.deepEqual(again.dailyStamp, { stamp: "next", by: "device" }, "decided by the device's recent records");
    const set = await readYieldArchive(
      fetch,
      "month",
      wanted,
      31 * DAY_S,
      { dailyAtNextMidnight: true, timeZone: TZ },
      {},
      NOW,
    );
    assert.deepEqual(again.records, set.records, "each total dated by the day it holds");
  });

  it("a look-up that completed without a decision is not repeated the same day", async () => {
    const from = localMidnight(NOW - 200 * DAY_S, TZ);
    const wanted = { from, to: nextLocalMidnight(from, TZ) - 1 };
    const memo: ArchiveMemo = {};
    const options = { detectDailyStamp: true, timeZone: TZ };
    // No day data at all: nothing can tell.
    const { fetch, asked } = device(() => false);
    const noDay: ArchiveFetch = (command, range, chunkS) =>
      command === ARCHIVE_COMMANDS.day ? Promise.resolve([]) : fetch(command, range, chunkS);
    const r = await readYieldArchive(noDay, "month", wanted, 31 * DAY_S, options, memo, NOW);
    assert.deepEqual(r.dailyStamp, { stamp: "own", by: "default" });
    const n = asked.length;
    await readYieldArchive(noDay, "month", wanted, 31 * DAY_S, options, memo, NOW + 60);
    assert.equal(asked.length, n + 1, "only the range itself is asked again (month requests counted)");
  });
});
