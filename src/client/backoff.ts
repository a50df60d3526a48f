/** A doubling back-off: after a failure, calls are refused with that failure until the wait is over. */
import type { SmaError } from "./errors";

export class Backoff {
  private until = 0;
  private waitMs: number;
  /** The failure that started the current wait (undefined after reset). */
  error?: SmaError;

  constructor(
    private readonly firstMs: number,
    private readonly maxMs: number,
  ) {
    this.waitMs = firstMs;
  }

  /** The error to refuse with while the wait lasts, else undefined. */
  blocking(now = Date.now()): SmaError | undefined {
    return this.error && now < this.until ? this.error : undefined;
  }

  /** ms until the wait is over (0 when not waiting). */
  remainingMs(now = Date.now()): number {
    return this.error ? Math.max(0, this.until - now) : 0;
  }

  fail(error: SmaError, now = Date.now()): SmaError {
    this.error = error;
    this.until = now + this.waitMs;
    this.waitMs = Math.min(this.waitMs * 2, this.maxMs);
    return error;
  }

  reset(): void {
    this.error = undefined;
    this.until = 0;
    this.waitMs = this.firstMs;
  }
}
