import type { Job } from '../../contract/jobs';
import { stateUpdate, type ExampleJobRow, type JobStore } from './job-state';
import { ACTIVE_JOB_STATES, isActiveState } from '../../contract/constants';
import { backoffDelay } from './kit/backoff';
import type { Outbox, Outgoing } from './kit/outbox';
import { isSuccess, whyOf, type Transport } from './kit/transport';
import { text } from './messages';

/*
 * After a restart the provider reads the core's active jobs of this provider (control/browse, page by page) and
 * sends again the state of any job the core shows differently, unless an update for it is still queued. Jobs the
 * provider does not know are left to verify, which only asks about jobs whose create was answered.
 */

export interface ReconcilerOptions {
  core: Transport;
  token: string;
  store: JobStore;
  outbox: Outbox;
  retryMs: number;
  retryMaxMs: number;
  log: { warn: (obj: object, msg: string) => void };
  /** Whether the provider still runs; a reconcile stops when it does not. */
  running: () => boolean;
}

export class Reconciler {
  private wake: (() => void) | null = null;

  constructor(private readonly opts: ReconcilerOptions) {}

  async reconcile(): Promise<void> {
    for (const state of ACTIVE_JOB_STATES) {
      let next: string | null = null;
      do {
        const query = `?itemsPerPage=1000&filterState=${state}${next ? `&next=${encodeURIComponent(next)}` : ''}`;
        const result = await this.opts.core('GET', `/api/jobs/control/browse${query}`, this.opts.token);
        if (!isSuccess(result.status)) throw new Error(`control/browse failed (${whyOf(result)})`);
        const page = result.body as { items: Job[]; next?: string | null };
        await this.resync(page.items);
        next = page.next ?? null;
      } while (next !== null && this.opts.running());
    }
    this.opts.outbox.sendQueued();
  }

  /** Reconciles, and tries again with backoff until it succeeds or the provider stops. */
  async reconcileWithRetry(attempt = 0): Promise<void> {
    try {
      await this.reconcile();
    } catch (error) {
      if (!this.opts.running()) return;
      const delay = backoffDelay(attempt + 1, this.opts.retryMs, this.opts.retryMaxMs);
      this.opts.log.warn({ err: error, retryInMs: delay }, 'example provider: reconcile with the core failed; will retry');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        timer.unref?.();
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      if (this.opts.running()) await this.reconcileWithRetry(attempt + 1);
    }
  }

  /** Ends a wait for the next try at once (the provider is stopping). */
  interrupt(): void {
    this.wake?.();
  }

  private async resync(coreJobs: Job[]) {
    if (coreJobs.length === 0) return;
    await this.opts.store.tx(async (q) => {
      const rows = await q.query<ExampleJobRow>(
        `SELECT e.* FROM example_jobs e WHERE e.job_id = ANY($1::text[])
           AND NOT EXISTS (SELECT 1 FROM example_outbox o WHERE o.job_id = e.job_id)`,
        [coreJobs.map((j) => j.id)],
      );
      const mine = new Map(rows.map((r) => [r.job_id, r]));
      const out: Outgoing[] = [];
      for (const job of coreJobs) {
        const row = mine.get(job.id);
        if (!row || row.state === job.status.state) continue;
        if (!isActiveState(row.state) || (row.state === 'RUNNING' && job.status.state === 'IN_QUEUE')) {
          out.push({ jobId: row.job_id, update: stateUpdate(row.state, row.status ?? text.resynced(row.state)) });
        }
      }
      await this.opts.store.enqueue(q, out);
    });
  }
}
