/** Exponential backoff: base, 2×base, 4×base… capped at max, each ±20 % so that retries do not march in step. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.min(baseMs * 2 ** Math.max(0, failures - 1), maxMs) * (0.8 + 0.4 * random());
}

/**
 * Failures in a row of one delivery loop, and the retry it waits for. A success resets the count; a failure counts
 * and (with retryLater) sets a timer. While a retry waits, `waiting` is true, so a loop can tell a nudge that may
 * cut the wait short (a user's new call) from one that must not (a poll).
 */
export class Backoff {
  private count = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures since the last success. */
  get failures(): number {
    return this.count;
  }

  /** Counts one more failure and returns how long to wait before the next try. */
  fail(): number {
    this.count += 1;
    return backoffDelay(this.count, this.baseMs, this.maxMs, this.random);
  }

  /** A success: the next failure waits the base delay again. */
  reset(): void {
    this.count = 0;
  }

  /** Counts a failure and runs `retry` when its delay has passed, instead of any retry already waiting; the delay. */
  retryLater(retry: () => void): number {
    const delay = this.fail();
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      retry();
    }, delay);
    this.timer.unref?.();
    return delay;
  }

  /** Whether a retry is waiting for its time. */
  get waiting(): boolean {
    return this.timer !== null;
  }

  /** Drops the waiting retry, if any; the failures still count. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
