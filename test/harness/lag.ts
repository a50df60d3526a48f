/**
 * How late this process's timers run while a test measures time. On a loaded machine a timer can fire hundreds of
 * ms late; a bound on elapsed time is then "what the configured timeouts allow" plus the lateness actually seen.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

export interface LagWatch {
  /** The margin for a chain of `timers` timers: each as late as the latest seen so far, plus `baseMs`. */
  margin(timers: number, baseMs?: number): number;
  /** The latest a timer ran so far, ms. */
  readonly maxMs: number;
  stop(): void;
}

/** Starts watching; call stop() (or let the test end: the watch keeps nothing alive). */
export function watchLag(): LagWatch {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const maxMs = (): number => h.max / 1e6;
  return {
    margin: (timers, baseMs = 50) => baseMs + timers * maxMs(),
    get maxMs() {
      return maxMs();
    },
    stop: () => h.disable(),
  };
}
