import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/index';
import { ACTIVE_STATES_SQL, toJob, type JobRow } from './model';
import { TransportError, isSuccess, whyOf, type Transport } from '../provider/kit/transport';
import { itemsBody, prefixWithin } from '../provider/kit/bulk';

/*
 * Verify loop (contract §5): every interval, each provider gets its active jobs as full Job objects, read
 * from the database a page at a time (keyset on id, at most 1000 per page and per request), so memory stays
 * flat however many jobs are active. The provider fails what it does not know; the core never does.
 */

export interface VerifyOptions {
  db: Db;
  intervalMs: number;
  /** The `ucloud` service token. */
  token: string;
  transportFor: (provider: string) => Transport;
  log: FastifyBaseLogger;
  pageSize?: number;
  /** Runs at the start of each sweep; a failure is logged and the sweep goes on. */
  beforeSweep?: () => Promise<void>;
}

export interface ProviderSweep {
  provider: string;
  jobs: number;
  requests: number;
  /** Why the sweep of this provider stopped early; it is tried again next sweep. */
  error: string | null;
}

export interface SweepReport {
  startedAt: number;
  durationMs: number;
  providers: ProviderSweep[];
}

export class VerifyLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepReport> | null = null;
  private started = false;
  private closed = false;
  private readonly pageSize: number;

  constructor(private readonly opts: VerifyOptions) {
    this.pageSize = Math.min(opts.pageSize ?? 1000, 1000);
  }

  /** Starts the sweeps (this process became the leader); stop() ends them, and start() may resume them. */
  start(): void {
    if (this.started && !this.closed) return;
    this.started = true;
    this.closed = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  // The next sweep is timed from the end of the last one, so sweeps never overlap however long one takes.
  private schedule() {
    if (!this.started || this.closed || this.opts.intervalMs <= 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sweep().finally(() => this.schedule());
    }, this.opts.intervalMs);
    this.timer.unref?.();
  }

  /** One sweep over every provider; a sweep already under way is joined rather than run twice. */
  sweep(): Promise<SweepReport> {
    if (this.closed) return Promise.resolve({ startedAt: Date.now(), durationMs: 0, providers: [] });
    if (!this.running) {
      this.running = this.sweepAll().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async sweepAll(): Promise<SweepReport> {
    const startedAt = Date.now();
    try {
      await this.opts.beforeSweep?.();
    } catch (error) {
      this.opts.log.error({ err: error }, 'verify: the pre-sweep step failed');
    }
    const providers = await this.opts.db.query<{ provider: string }>(
      `SELECT DISTINCT provider FROM jobs WHERE state IN ${ACTIVE_STATES_SQL} ORDER BY provider`,
    );
    const report: SweepReport = { startedAt, durationMs: 0, providers: [] };
    for (const { provider } of providers) {
      if (this.closed) break;
      const result = await this.sweepProvider(provider);
      report.providers.push(result);
      if (result.error) {
        this.opts.log.warn({ provider, error: result.error }, 'verify: provider unavailable; trying again next sweep');
      }
    }
    report.durationMs = Date.now() - startedAt;
    this.opts.log.info({ verify: report }, 'verify sweep done');
    return report;
  }

  private async sweepProvider(provider: string): Promise<ProviderSweep> {
    const result: ProviderSweep = { provider, jobs: 0, requests: 0, error: null };
    const transport = this.opts.transportFor(provider);
    let after = 0;
    for (;;) {
      // Only jobs the provider has answered a create for: one still being delivered is not "unknown" to it.
      // The state list is inline so the planner can use the partial index jobs_provider_active.
      const rows = await this.opts.db.query<JobRow>(
        `SELECT * FROM jobs
         WHERE provider = $1 AND state IN ${ACTIVE_STATES_SQL} AND provider_acked_at IS NOT NULL AND id > $2
         ORDER BY id LIMIT $3`,
        [provider, after, this.pageSize],
      );
      if (rows.length === 0) return result;
      let parts = rows.map((row) => JSON.stringify(toJob(row)));
      while (parts.length > 0) {
        const count = prefixWithin(parts);
        try {
          const response = await transport('POST', `/ucloud/${provider}/jobs/verify`, this.opts.token, itemsBody(parts.slice(0, count)));
          if (!isSuccess(response.status)) {
            result.error = whyOf(response);
            return result;
          }
        } catch (error) {
          if (!(error instanceof TransportError)) throw error;
          result.error = error.message;
          return result;
        }
        result.requests += 1;
        result.jobs += count;
        parts = parts.slice(count);
      }
      after = rows.at(-1)!.id;
      if (rows.length < this.pageSize) return result;
    }
  }
}
