import type { Job } from '@/api/types';
import { jobName, type AppNotification } from '@/features/notifications/notification-model';

/** A running job's "about to expire" notice comes this long before its `expiresAt`. */
export const EXPIRY_WARNING_MS = 10 * 60_000;

/** The clock the warnings run on: the browser's, or a test's. */
export interface WarningClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const browserClock: WarningClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number),
};

/** The notice itself. One id per job, so it comes once per job even across reloads (the store keeps ids). */
export function expiryNotification(job: Job, now: number): AppNotification {
  const minutes = Math.max(1, Math.round((job.status.expiresAt! - now) / 60_000));
  return {
    id: `job:${job.id}:expiring`,
    kind: 'job-expiring',
    title: `${jobName(job)} expires in ${minutes} min`,
    body: `Job ${job.id} (${job.specification.application.name} ${job.specification.application.version}) stops when its time runs out; extend it from its page to keep it running.`,
    target: { type: 'job', id: job.id },
    at: now,
    read: false,
  };
}

/**
 * Warns once per running job, EXPIRY_WARNING_MS before it expires. It is told of jobs as they change (jobs.listen,
 * the running jobs at start) and keeps one timer, for the next warning due. A job already past its `expiresAt`, or
 * no longer running, gets none; an extended job is rescheduled to its new time (still once). A tab in the background
 * may run the timer up to a minute late (browsers throttle hidden tabs' timers).
 */
export class ExpiryWarnings {
  private readonly running = new Map<string, Job>();
  private readonly warned = new Set<string>();
  private timer: unknown = null;

  constructor(
    private readonly notify: (n: AppNotification) => void,
    private readonly clock: WarningClock = browserClock,
    private readonly leadMs = EXPIRY_WARNING_MS,
  ) {}

  jobChanged(job: Job): void {
    if (job.status.state === 'RUNNING' && job.status.expiresAt != null) this.running.set(job.id, job);
    else this.running.delete(job.id);
    this.check();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.running.clear();
  }

  private check(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const now = this.clock.now();
    let next = Infinity;
    for (const [id, job] of this.running) {
      const expiresAt = job.status.expiresAt!;
      if (this.warned.has(id) || expiresAt <= now) continue;
      const due = expiresAt - this.leadMs;
      if (due <= now) {
        this.warned.add(id);
        this.notify(expiryNotification(job, now));
      } else next = Math.min(next, due);
    }
    if (next !== Infinity) this.timer = this.clock.setTimeout(() => this.check(), next - now);
  }
}
