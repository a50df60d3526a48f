/**
 * One inverter's queue: one job at a time (an inverter answers one request at a time), two lanes. A live read
 * (spot values) is one turn. An archive read is a series of requests that takes turns with live reads: after each
 * request the live reads waiting go first, so a live read waits for at most the one archive request under way, not
 * for the whole archive; an archive waiting gets its next turn after at most `limits.live` live turns. Each lane has its own bound on distinct jobs waiting; identical
 * jobs (same key) share one.
 */
import { SmaError } from "./errors";

export type Lane = "live" | "archive";

/** Handed to a job: `pass()` between two requests lets waiting live reads go first (a no-op when none wait). */
export interface Turn {
  pass(): Promise<void>;
}

/** Distinct jobs waiting or under way per lane; the next one of a full lane ends at once with EBUSY. */
export interface QueueLimits {
  live: number;
  archive: number;
}

export class FairQueue {
  private busy = false;
  private readonly waiting: Record<Lane, (() => void)[]> = { live: [], archive: [] };
  /** Live turns since the last archive turn: an archive that waits gets the next turn after `limits.live` of them. */
  private liveRun = 0;
  private readonly pending: Record<Lane, Map<string | symbol, Promise<unknown>>> = {
    live: new Map(),
    archive: new Map(),
  };
  /** Turns given, per lane (tests and benchmarks). */
  readonly stats = { live: 0, archive: 0, passes: 0 };

  constructor(private readonly limits: QueueLimits) {}

  /** Distinct jobs waiting or under way in a lane (or both). */
  size(lane?: Lane): number {
    return lane ? this.pending[lane].size : this.pending.live.size + this.pending.archive.size;
  }

  /**
   * Runs `job` when its turn comes. A job with the key of one still pending in the same lane shares its promise;
   * a lane already holding its limit of distinct jobs refuses at once (`busy(lane, count)` says why).
   */
  run<T>(
    lane: Lane,
    key: string | symbol,
    job: (turn: Turn) => Promise<T>,
    busy: (lane: Lane, count: number) => SmaError,
  ): Promise<T> {
    const jobs = this.pending[lane];
    const same = jobs.get(key);
    if (same) return same as Promise<T>;
    if (jobs.size >= this.limits[lane]) return Promise.reject(busy(lane, jobs.size));
    const turn: Turn = { pass: () => this.pass(lane) };
    const p = this.acquire(lane, false)
      .then(() => job(turn))
      .finally(() => this.release(lane));
    jobs.set(key, p);
    const settled = (): void => void jobs.delete(key);
    p.then(settled, settled);
    return p;
  }

  /** Between two requests of a job: live reads waiting go first, then the job goes on (ahead of other archives). */
  private async pass(lane: Lane): Promise<void> {
    if (lane !== "archive" || this.waiting.live.length === 0) return;
    this.stats.passes++;
    this.release(lane);
    await this.acquire(lane, true);
  }

  private acquire(lane: Lane, front: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const go = (): void => {
        this.stats[lane]++;
        resolve();
      };
      if (front) this.waiting[lane].unshift(go);
      else this.waiting[lane].push(go);
      this.next();
    });
  }

  private release(lane: Lane): void {
    this.busy = false;
    if (lane === "archive") this.liveRun = 0;
    this.next();
  }

  private next(): void {
    if (this.busy) return;
    const { live, archive } = this.waiting;
    let go: (() => void) | undefined;
    // Live first; an archive waiting still gets a turn after as many live turns as live reads may wait.
    if (live.length > 0 && (this.liveRun < this.limits.live || archive.length === 0)) {
      this.liveRun++;
      go = live.shift();
    } else {
      go = archive.shift();
    }
    if (!go) return;
    this.busy = true;
    go();
  }
}

/** A full lane's EBUSY: `count` distinct reads of that lane already wait for the device at `where`. */
export function busyError(lane: Lane, count: number, where: string | undefined): SmaError {
  const what = lane === "archive" ? "archive reads" : "different reads";
  return new SmaError("EBUSY", `inverter busy: ${count} ${what} already waiting for ${where}`, { lane });
}
