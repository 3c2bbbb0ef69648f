import os from 'node:os';

/*
 * Ended jobs whose output is still to be copied, taken a few at a time. Each copy is a process of its own (it runs
 * under the job's account), so when hundreds of jobs end together, a bulk terminate say, starting every copy at once
 * would take the machine's memory and cores for a minute, and a stop would wait for all of them. Which jobs still
 * wait is kept in the provider's table (example_jobs.output_pending), not here: a stop drops the queue and interrupts
 * the copies under way, and the next start takes them up again.
 */

/** Copies at once: enough to keep the disks busy, few enough to leave the cores to the jobs and the server. */
export const COLLECTIONS_AT_ONCE = Math.max(2, Math.min(4, os.availableParallelism()));

export interface CollectQueueOptions {
  /** Copies that run at once. */
  concurrency: number;
  /** Collects one job's output; `signal` aborts when the queue stops. Its failures are its own to report. */
  run: (jobId: string, signal: AbortSignal) => Promise<void>;
  /** Runs work in the background, waited for when the provider stops. */
  track: (work: Promise<unknown>) => void;
}

export class CollectQueue {
  private readonly waiting: string[] = [];
  /** Waiting or being copied: a job is queued once, however often it is added. */
  private readonly queued = new Set<string>();
  private readonly stop = new AbortController();
  private active = 0;

  constructor(private readonly opts: CollectQueueOptions) {}

  /** Queues the jobs' collections; after `close` it does nothing (they stay pending for the next start). */
  add(jobIds: Iterable<string>): void {
    if (this.stop.signal.aborted) return;
    for (const jobId of jobIds) {
      if (this.queued.has(jobId)) continue;
      this.queued.add(jobId);
      this.waiting.push(jobId);
    }
    while (this.active < this.opts.concurrency && this.waiting.length > 0) this.next(this.waiting.shift()!);
  }

  /** Collections queued or under way. */
  get size(): number {
    return this.queued.size;
  }

  /** Drops what waits and aborts the copies under way; the provider's stop waits for those to end. */
  close(): void {
    for (const jobId of this.waiting.splice(0)) this.queued.delete(jobId);
    this.stop.abort();
  }

  private next(jobId: string) {
    this.active += 1;
    this.opts.track(
      this.opts.run(jobId, this.stop.signal).finally(() => {
        this.active -= 1;
        this.queued.delete(jobId);
        if (this.waiting.length > 0 && !this.stop.signal.aborted) this.next(this.waiting.shift()!);
      }),
    );
  }
}
