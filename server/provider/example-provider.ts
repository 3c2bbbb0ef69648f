import type { FastifyBaseLogger } from 'fastify';
import type { Db, Queryable } from '../db/index';
import type { Job } from '../../contract/jobs';
import { durationToMillis, MAX_TIME_ALLOCATION_MS, type SimpleDuration } from '../../contract/common';
import type { Catalog } from '../catalog/catalog';
import { text } from './messages';
import { AppliedCalls } from './kit/call-ids';
import { InFlight } from './kit/in-flight';
import { Outbox } from './kit/outbox';
import type { Transport } from './kit/transport';
import { JobStore, peersOf, unknownJobUpdate, update, type ExampleJobRow } from './job-state';
import type { ExecutionBackend } from './execution';
import { firewallView, jobView, type FirewallView, type ProviderJobView } from './views';
import { SimulatorBackend } from './simulator';
import { LocalExecution } from './local/execution';
import type { LocalBackend } from './local/backend';
import { runDueTransitions } from './clock';
import { Reconciler } from './reconcile';

/*
 * The built-in provider "example" (contract §5): its API, and the loop that moves its jobs. It knows jobs only
 * from the provider API, keeps its own state in the example_* tables (job-state.ts), and reports to the core only
 * over HTTP (control/update through the kit's outbox, control/browse in reconcile.ts), with its own PROVIDER
 * token. What a job's state means on the machine is its execution backend's business: `local` runs real processes
 * (local/execution.ts), `simulator` only timers (simulator.ts).
 */

export const PROVIDER_ID = 'example';

/** How long the ids of applied calls are kept (example_applied_calls): far longer than any retry takes. */
export const CALL_RETENTION_MS = 7 * 24 * 3600 * 1000;
/** How often the loop deletes older ids. */
const PRUNE_EVERY_MS = 3600 * 1000;

export type { ExampleJobRow } from './job-state';

export type { FirewallView, ProviderJobView } from './views';

export interface ExampleProviderOptions {
  db: Db;
  /** HTTP to the core. */
  core: Transport;
  /** The provider's own PROVIDER token. */
  token: string;
  log: FastifyBaseLogger;
  queueDelayMs: number;
  batchRunMs: number;
  tickMs: number;
  retryMs: number;
  retryMaxMs: number;
  /** Applications that finish on their own with SUCCESS; everything else is a service (simulator). */
  batchApplications?: string[];
  /** Report each new job's image pull as a task of its user, during its queue delay (simulator). */
  imagePull?: boolean;
  /** How long applied call ids are remembered; CALL_RETENTION_MS by default. */
  callRetentionMs?: number;
  /**
   * 'local' (the default) runs each job as a real process on this machine (server/provider/local/); 'simulator' only
   * moves rows through the lifecycle on timers, for tests and benchmarks of everything around the provider.
   */
  backend?: 'local' | 'simulator';
  /** The catalog: how each application runs (local backend). */
  catalog?: Catalog;
  /** Where jobs' run folders, work folders and users' storage live (local backend). */
  dataDir?: string;
  /** SIGTERM → SIGKILL grace period when a job is stopped. */
  graceMs?: number;
  /** Jobs keep running when the provider stops (the default); false stops them and removes everything (tests). */
  keepJobs?: boolean;
  /** 'off' runs jobs without network namespaces even as root. */
  isolation?: 'auto' | 'off';
  /** Copy each ended job's output into its user's files, reported as a task (default on). */
  collectOutput?: boolean;
}

export class ExampleProvider {
  private tickTimer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private readonly inFlight: InFlight;
  private running = false;
  private readonly outbox: Outbox;
  private readonly calls: AppliedCalls;
  private readonly store: JobStore;
  private readonly backend: ExecutionBackend;
  private readonly reconciler: Reconciler;

  constructor(private readonly opts: ExampleProviderOptions) {
    const { db, core, token, log } = opts;
    const name = 'example provider';
    this.inFlight = new InFlight((error) => log.error({ err: error }, 'example provider error'));
    const track = (work: Promise<unknown>) => this.inFlight.track(work);
    this.outbox = new Outbox({ db, table: 'example_outbox', core, token, retryMs: opts.retryMs, retryMaxMs: opts.retryMaxMs, name, log });
    this.calls = new AppliedCalls({
      db,
      table: 'example_applied_calls',
      retentionMs: opts.callRetentionMs ?? CALL_RETENTION_MS,
      pruneEveryMs: PRUNE_EVERY_MS,
      name,
      log,
    });
    this.store = new JobStore({ db, outbox: this.outbox, calls: this.calls, queueDelayMs: opts.queueDelayMs, batchRunMs: opts.batchRunMs });
    this.backend =
      (opts.backend ?? 'local') === 'simulator'
        ? new SimulatorBackend({ batchApplications: opts.batchApplications, imagePull: opts.imagePull, queueDelayMs: opts.queueDelayMs, core, token, log, track })
        : new LocalExecution({
            db,
            store: this.store,
            outbox: this.outbox,
            core,
            token,
            log,
            catalog: opts.catalog!,
            dataDir: opts.dataDir!,
            graceMs: opts.graceMs,
            keepJobs: opts.keepJobs,
            isolation: opts.isolation,
            collectOutput: opts.collectOutput,
            track,
          });
    this.reconciler = new Reconciler({
      core,
      token,
      store: this.store,
      outbox: this.outbox,
      retryMs: opts.retryMs,
      retryMaxMs: opts.retryMaxMs,
      log,
      running: () => this.running,
    });
  }

  /** Whether jobs are only simulated (the 'simulator' backend) rather than run. */
  get simulated(): boolean {
    return this.backend.kind === 'simulator';
  }

  /** The local backend, while the provider runs jobs for real (operators, the interface proxy, tests). */
  get local(): LocalBackend | null {
    return this.backend.local;
  }

  /** A transaction under the provider's state lock (job-state.ts). */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.store.tx(fn);
  }

  // ─── Provider API (contract §5) ──────────────────────────────────────────────────────────────────────────

  /**
   * Accepts jobs into the queue. Receiving a job again (a retried call) changes nothing. `callIds` (header
   * Jobdeck-Call-Id, one per job) are recorded with the change; a call already applied is skipped.
   */
  async create(jobs: Job[], callIds?: string[]): Promise<{ id: string }[]> {
    // One line per call received, so a test (or an operator) can count deliveries: the state table cannot show a
    // repeated create, which changes nothing.
    this.opts.log.info({ received: 'create', jobIds: jobs.map((j) => j.id) }, 'example provider: create received');
    const now = Date.now();
    const fresh = await this.store.tx(async (q) => {
      const isNewCall = await this.calls.recordCalls(q, 'create', jobs.map((j) => j.id), callIds);
      const rows = jobs.filter((_, i) => isNewCall[i]).map((job) => ({
        job_id: job.id,
        owner: job.owner.createdBy,
        app_name: job.specification.application.name,
        product_id: job.specification.product.id,
        finishes: this.backend.finishesOnTimer(job.specification.application.name),
        state: 'IN_QUEUE',
        time_allocation_ms: job.specification.timeAllocation ? durationToMillis(job.specification.timeAllocation) : null,
        received_at: now,
        next_event: 'start',
        next_event_at: now + this.opts.queueDelayMs,
        spec: {
          application: job.specification.application,
          product: job.specification.product,
          parameters: job.specification.parameters ?? null,
          resources: job.specification.resources ?? null,
        },
      }));
      const inserted = await q.query<{ job_id: string }>(
        `INSERT INTO example_jobs (job_id, owner, app_name, product_id, finishes, state, time_allocation_ms, received_at,
                                   next_event, next_event_at, spec)
         SELECT j, o, a, p, f, s, t, r, e, ea, sp::jsonb
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[], $7::bigint[],
                     $8::bigint[], $9::text[], $10::bigint[], $11::text[]) AS u(j, o, a, p, f, s, t, r, e, ea, sp)
         ON CONFLICT (job_id) DO NOTHING RETURNING job_id`,
        [rows.map((r) => r.job_id), rows.map((r) => r.owner), rows.map((r) => r.app_name), rows.map((r) => r.product_id),
         rows.map((r) => r.finishes), rows.map((r) => r.state), rows.map((r) => r.time_allocation_ms),
         rows.map((r) => r.received_at), rows.map((r) => r.next_event), rows.map((r) => r.next_event_at),
         rows.map((r) => JSON.stringify(r.spec))],
      );
      const fresh = new Set(inserted.map((r) => r.job_id));
      const links = jobs.filter((j) => fresh.has(j.id)).flatMap((j) => peersOf(j).map((p) => ({ ...p, from: j.id })));
      if (links.length > 0) {
        await q.query(
          `INSERT INTO example_peers (job_id, hostname, peer_job_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
           ON CONFLICT DO NOTHING`,
          [links.map((l) => l.from), links.map((l) => l.hostname), links.map((l) => l.jobId)],
        );
      }
      return fresh;
    });
    this.backend.accepted(jobs.filter((j) => fresh.has(j.id)));
    this.tickInBackground();
    return jobs.map((job) => ({ id: job.id }));
  }

  async terminate(jobs: Job[], callIds?: string[]): Promise<void> {
    this.opts.log.info({ received: 'terminate', jobIds: jobs.map((j) => j.id) }, 'example provider: terminate received');
    const stopping: string[] = [];
    await this.store.change('terminate', jobs.map((j) => ({ jobId: j.id })), callIds, (row) => {
      if (row.pid !== null) {
        // A running process: SIGTERM, then SIGKILL after the grace period; its end is recorded when it has exited.
        row.stop_reason = 'terminate';
        stopping.push(row.job_id);
        this.store.schedule(row);
        return [];
      }
      row.status = text.terminated();
      return this.store.end(row, 'SUCCESS', Date.now());
    });
    for (const id of stopping) this.backend.stopJob(id);
    if (stopping.length > 0) this.tickInBackground();
  }

  /** Extends each job by its items' requested time; an item whose call id was applied before counts for nothing. */
  async extend(items: { job: Job; requestedTime: SimpleDuration }[], callIds?: string[]): Promise<void> {
    this.opts.log.info({ received: 'extend', jobIds: items.map((i) => i.job.id) }, 'example provider: extend received');
    const calls = items.map((i) => ({ jobId: i.job.id, ms: durationToMillis(i.requestedTime) }));
    await this.store.change('extend', calls, callIds, (row, applied) => {
      const by = applied.reduce((sum, i) => sum + i.ms, 0);
      const now = Date.now();
      // A job without a limit so far gets one: what it has run, plus the extension.
      const current = row.time_allocation_ms ?? (row.started_at === null ? 0 : now - row.started_at);
      // Extends already on their way when the core checked can add up past the maximum, which the core would refuse.
      row.time_allocation_ms = Math.min(current + by, MAX_TIME_ALLOCATION_MS);
      row.status = text.extended(by, row.time_allocation_ms);
      this.store.schedule(row);
      return [{ jobId: row.job_id, update: update({ status: row.status, newTimeAllocation: row.time_allocation_ms }) }];
    });
  }

  /** Seed 000: a FAILURE update for each job it does not know; the jobs it knows are left alone. */
  async verify(jobs: Job[]): Promise<void> {
    const ids = [...new Set(jobs.map((j) => j.id))];
    const known = await this.opts.db.query<{ job_id: string }>(`SELECT job_id FROM example_jobs WHERE job_id = ANY($1::text[])`, [ids]);
    const knownIds = new Set(known.map((r) => r.job_id));
    const unknown = ids.filter((id) => !knownIds.has(id));
    if (unknown.length === 0) return;
    this.opts.log.info({ jobs: unknown.length }, 'example provider: verify found jobs it does not know');
    await this.store.tx((q) => this.store.enqueue(q, unknown.map((jobId) => ({ jobId, update: unknownJobUpdate() }))));
    this.outbox.sendQueued();
  }

  /** Who may connect to a job (GET /ucloud/example/jobs/firewall); null if the provider does not know it. */
  firewall(jobId: string): Promise<FirewallView | null> {
    return firewallView(this.opts.db, this.backend, jobId);
  }

  /** The provider's own view of a job (GET /ucloud/example/jobs/retrieve); null if it does not know it. */
  describe(jobId: string): Promise<ProviderJobView | null> {
    return jobView(this.opts.db, this.backend, jobId);
  }

  /**
   * Where a running job serves its web interface (the catalog's `run.webPort`, at the job's address), for the core's
   * proxy (server/interfaces/); a reason instead when there is none: not known, not running, no web port, simulated.
   */
  async interfaceTarget(jobId: string): Promise<{ jobId: string; host: string; port: number } | { missing: 'unknown' | 'not-running' | 'no-interface'; why: string }> {
    const [row] = await this.opts.db.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
    if (!row) return { missing: 'unknown', why: `provider '${PROVIDER_ID}' does not know job '${jobId}'` };
    if (row.state !== 'RUNNING') return { missing: 'not-running', why: `job '${jobId}' is not running (${row.state})` };
    const app = row.spec?.application;
    const webPort = app ? this.opts.catalog?.findRun(app.name, app.version)?.webPort : undefined;
    if (webPort === undefined) return { missing: 'no-interface', why: `job '${jobId}' has no web interface` };
    if (this.simulated || !row.address) return { missing: 'no-interface', why: `job '${jobId}' is simulated: nothing listens on its web port` };
    return { jobId, host: row.address, port: webPort };
  }

  /**
   * Drops a job from the provider's state (contract §8), so verify can be seen at work. A job whose process runs loses
   * it too: a provider that has forgotten a job cannot leave its process behind.
   */
  async forget(jobId: string): Promise<boolean> {
    const [forgotten] = await this.store.tx(async (q) => {
      const rows = await q.query<{ job_id: string; slot: number | null }>(
        `DELETE FROM example_jobs WHERE job_id = $1 RETURNING job_id, slot`,
        [jobId],
      );
      await this.outbox.drop(q, jobId);
      return rows;
    });
    if (forgotten) await this.backend.forget(jobId, forgotten.slot);
    return forgotten !== undefined;
  }

  /**
   * Deletes the ids of calls applied longer ago than the retention period, at most once an hour (and at the first
   * turn of the loop after a start). Only the loop calls it, and that runs in the leader only.
   */
  pruneCallIds(now = Date.now(), force = false): Promise<number> {
    return this.calls.prune(now, force);
  }

  // ─── The loop ────────────────────────────────────────────────────────────────────────────────────────────

  /** Performs every transition that is due, then the backend's turn. Runs every tickMs; overdue ones run at once. */
  async tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = (async () => {
      await runDueTransitions(this.store, this.backend, this.outbox, this.opts.tickMs);
      await this.backend.turn();
    })().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private tickInBackground() {
    if (!this.running) return;
    this.inFlight.track(this.tick());
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.backend.start();
    } catch (error) {
      this.running = false;
      throw error;
    }
    const loop = () => {
      this.tickTimer = setTimeout(() => {
        // Updates queued by another process's routes (it serves requests, the leader runs this loop) go out too.
        this.outbox.sendQueued();
        this.inFlight.track(this.tick().finally(() => this.running && loop()));
        // Old call ids go at most once an hour (the loop runs in the leader only).
        this.inFlight.track(this.pruneCallIds().then(() => undefined));
      }, this.opts.tickMs);
      this.tickTimer.unref?.();
    };
    loop();
    this.tickInBackground();
    this.outbox.start();
    this.inFlight.track(this.reconciler.reconcileWithRetry());
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    const outboxStopped = this.outbox.stop();
    this.reconciler.interrupt();
    this.backend.beginStop();
    await this.inFlight.idle();
    await outboxStopped;
    if (this.ticking) await this.ticking;
    await this.backend.close();
  }

  /** Resolves when nothing is being processed or delivered right now (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.ticking || this.outbox.busy) {
      await Promise.all([this.inFlight.current(), this.ticking, this.outbox.settled()]);
    }
  }
}
