import type { FastifyBaseLogger } from 'fastify';
import type { Db, Queryable } from '../db/index';
import type { Job, JobState, JobUpdate } from '../../contract/jobs';
import { durationToMillis, type SimpleDuration } from '../../contract/common';
import { TransportError, backoffDelay, isSuccess, whyOf, type Transport } from '../jobs/provider-gateway';
import { text } from './messages';
import { ImagePuller } from './image-pull';
import type { Catalog } from '../catalog/catalog';
import { LocalBackend } from './local/backend';
import { LocalRunner, type RunnerHost } from './local/runner';
import { OutputCollector } from './local/collect';

/*
 * The built-in provider "example" (contract §5). It knows jobs only from the provider API, keeps its own
 * state in the example_* tables, and reports to the core only over HTTP (control/update, control/browse),
 * with its own PROVIDER token. Every change of state and the updates that report it are written in one
 * transaction (example_outbox), then delivered; so a crash loses neither.
 */

export const PROVIDER_ID = 'example';

/** Advisory lock key of the provider's state ('exam'). */
const STATE_LOCK = 0x6578616d;

const ACTIVE = ['IN_QUEUE', 'RUNNING', 'SUSPENDED'];
const isActive = (state: string) => ACTIVE.includes(state);

type SimEvent = 'start' | 'finish' | 'expire';

type CallOp = 'create' | 'terminate' | 'extend';

/** How long the ids of applied calls are kept (example_applied_calls): far longer than any retry takes. */
export const CALL_RETENTION_MS = 7 * 24 * 3600 * 1000;
/** How often the simulator loop deletes older ids. */
const PRUNE_EVERY_MS = 3600 * 1000;

export interface ExampleJobRow {
  job_id: string;
  owner: string;
  app_name: string;
  product_id: string;
  finishes: boolean;
  state: JobState;
  status: string | null;
  time_allocation_ms: number | null;
  received_at: number;
  started_at: number | null;
  ended_at: number | null;
  next_event: SimEvent | 'launching' | null;
  next_event_at: number | null;
  spec: Pick<Job['specification'], 'application' | 'product' | 'parameters' | 'resources'> | null;
  slot: number | null;
  pid: number | null;
  address: string | null;
  isolation: string | null;
  limits: string | null;
  stop_reason: string | null;
}

export interface FirewallView {
  jobId: string;
  /** Jobs allowed to open connections to this one, and the hostname they reach it under. */
  allowsFrom: { jobId: string; hostname: string }[];
  /** Hostnames that resolve, inside this job, to the given job. */
  resolves: { hostname: string; jobId: string }[];
  /** Extension: whether these rules are enforced by a firewall ('network-namespace') or only recorded ('none'). */
  isolation: 'network-namespace' | 'none' | 'simulated';
}

export interface ProviderJobView {
  jobId: string;
  owner: string;
  state: JobState;
  status: string | null;
  timeAllocationMs: number | null;
  startedAt: number | null;
  expiresAt: number | null;
  peers: { hostname: string; jobId: string }[];
  /** The job's main process on this machine while it runs (real execution only). */
  pid: number | null;
  /** Its network address, when it runs in a namespace of its own. */
  address: string | null;
  isolation: 'network-namespace' | 'none' | 'simulated';
  /** The limits in force, in words. */
  limits: string | null;
}

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
  /** Applications that finish on their own with SUCCESS; everything else is a service. */
  batchApplications?: string[];
  /** Report each new job's image pull as a task of its user, during its queue delay. */
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

interface Outgoing {
  jobId: string;
  update: JobUpdate;
}

function update(fields: Partial<JobUpdate>): JobUpdate {
  return {
    state: null,
    outputFolder: null,
    status: null,
    expectedState: null,
    expectedDifferentState: null,
    newTimeAllocation: null,
    timestamp: 0,
    ...fields,
  };
}

/** A change of state; sent again after a crash it is dropped by the core rather than repeated. */
const stateUpdate = (state: JobState, status: string) => update({ state, status, expectedDifferentState: true });
const statusUpdate = (status: string) => update({ status });
/** Exactly seed 000's update. */
const unknownJobUpdate = () => update({ state: 'FAILURE', status: text.unknown() });

function peersOf(job: Job): { hostname: string; jobId: string }[] {
  const values = [...Object.values(job.specification.parameters ?? {}), ...(job.specification.resources ?? [])];
  return values.flatMap((v) => (v && v.type === 'peer' ? [{ hostname: v.hostname, jobId: v.jobId }] : []));
}

export class ExampleProvider {
  private readonly batchApps: Set<string>;
  private tickTimer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private flushFailures = 0;
  private reconciling: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private running = false;
  private stopping = false;
  /** When the simulator loop last deleted old call ids (0: not yet in this process). */
  private prunedAt = 0;

  private readonly puller: ImagePuller | null;
  /** Real execution (backend 'local'), once started. */
  private runner: LocalRunner | null = null;

  constructor(private readonly opts: ExampleProviderOptions) {
    this.batchApps = new Set(opts.batchApplications ?? ['acme-batch']);
    // Image pulls are invented work: only the simulator reports them.
    this.puller = opts.imagePull && this.simulated
      ? new ImagePuller({ core: opts.core, token: opts.token, log: opts.log, durationMs: opts.queueDelayMs * 0.8 })
      : null;
  }

  /** Whether jobs are only simulated (the 'simulator' backend) rather than run. */
  get simulated(): boolean {
    return (this.opts.backend ?? 'local') === 'simulator';
  }

  /** The local backend, while the provider runs jobs for real (operators, the interface proxy, tests). */
  get local(): LocalBackend | null {
    return this.runner?.backend ?? null;
  }

  private get db() {
    return this.opts.db;
  }

  /**
   * Every change to the provider's state runs one at a time. Otherwise, on PostgreSQL, a job starting while
   * its peer ends could miss both "peer is gone" and "could not connect": each transaction would read the
   * other's row as it was before (write skew). Changes are short, so a single lock costs nothing here.
   */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.db.tx(async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(${STATE_LOCK})`);
      return fn(q);
    });
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
    const fresh = await this.tx(async (q) => {
      const firstTime = await this.firstTime(q, 'create', jobs.map((j) => j.id), callIds);
      const rows: ExampleJobRow[] = jobs.filter((_, i) => firstTime[i]).map((job) => ({
        job_id: job.id,
        owner: job.owner.createdBy,
        app_name: job.specification.application.name,
        product_id: job.specification.product.id,
        finishes: this.simulated && this.batchApps.has(job.specification.application.name),
        state: 'IN_QUEUE',
        status: null,
        time_allocation_ms: job.specification.timeAllocation ? durationToMillis(job.specification.timeAllocation) : null,
        received_at: now,
        started_at: null,
        ended_at: null,
        next_event: 'start',
        next_event_at: now + this.opts.queueDelayMs,
        spec: {
          application: job.specification.application,
          product: job.specification.product,
          parameters: job.specification.parameters ?? null,
          resources: job.specification.resources ?? null,
        },
        slot: null,
        pid: null,
        address: null,
        isolation: null,
        limits: null,
        stop_reason: null,
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
    if (this.puller && this.running) {
      for (const job of jobs.filter((j) => fresh.has(j.id))) {
        const { name, version } = job.specification.application;
        this.track(this.puller.pull({ jobId: job.id, owner: job.owner.createdBy, image: `${name}:${version}` }));
      }
    }
    this.kickTick();
    return jobs.map((job) => ({ id: job.id }));
  }

  async terminate(jobs: Job[], callIds?: string[]): Promise<void> {
    this.opts.log.info({ received: 'terminate', jobIds: jobs.map((j) => j.id) }, 'example provider: terminate received');
    const stopping: string[] = [];
    await this.change('terminate', jobs.map((j) => ({ jobId: j.id })), callIds, (row) => {
      if (row.pid !== null) {
        // A running process: SIGTERM, then SIGKILL after the grace period; its end is recorded when it has exited.
        row.stop_reason = 'terminate';
        stopping.push(row.job_id);
        this.schedule(row);
        return [];
      }
      row.status = text.terminated();
      return this.end(row, 'SUCCESS', Date.now());
    });
    for (const id of stopping) this.runner?.stop(id);
    if (stopping.length > 0) this.kickTick();
  }

  /** Extends each job by its items' requested time; an item whose call id was applied before counts for nothing. */
  async extend(items: { job: Job; requestedTime: SimpleDuration }[], callIds?: string[]): Promise<void> {
    this.opts.log.info({ received: 'extend', jobIds: items.map((i) => i.job.id) }, 'example provider: extend received');
    const calls = items.map((i) => ({ jobId: i.job.id, ms: durationToMillis(i.requestedTime) }));
    await this.change('extend', calls, callIds, (row, applied) => {
      const by = applied.reduce((sum, i) => sum + i.ms, 0);
      const now = Date.now();
      // A job without a limit so far gets one: what it has run, plus the extension.
      const current = row.time_allocation_ms ?? (row.started_at === null ? 0 : now - row.started_at);
      row.time_allocation_ms = current + by;
      row.status = text.extended(by, row.time_allocation_ms);
      this.schedule(row);
      return [{ jobId: row.job_id, update: update({ status: row.status, newTimeAllocation: row.time_allocation_ms }) }];
    });
  }

  /** Seed 000: a FAILURE update for each job it does not know; the jobs it knows are left alone. */
  async verify(jobs: Job[]): Promise<void> {
    const ids = [...new Set(jobs.map((j) => j.id))];
    const known = await this.db.query<{ job_id: string }>(`SELECT job_id FROM example_jobs WHERE job_id = ANY($1::text[])`, [ids]);
    const knownIds = new Set(known.map((r) => r.job_id));
    const unknown = ids.filter((id) => !knownIds.has(id));
    if (unknown.length === 0) return;
    this.opts.log.info({ jobs: unknown.length }, 'example provider: verify found jobs it does not know');
    await this.tx((q) => this.enqueue(q, unknown.map((jobId) => ({ jobId, update: unknownJobUpdate() }))));
    this.kickFlush();
  }

  async firewall(jobId: string): Promise<FirewallView | null> {
    const [job] = await this.db.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
    if (!job) return null;
    const isolation = this.isolationOf(job);
    if (!isActive(job.state)) return { jobId, allowsFrom: [], resolves: [], isolation };
    // Deny by default: a rule exists only for a link whose both ends are still active.
    const allowsFrom = await this.db.query<{ jobId: string; hostname: string }>(
      `SELECT p.job_id AS "jobId", p.hostname FROM example_peers p JOIN example_jobs a ON a.job_id = p.job_id
       WHERE p.peer_job_id = $1 AND a.state IN ('IN_QUEUE', 'RUNNING', 'SUSPENDED') ORDER BY p.job_id, p.hostname`,
      [jobId],
    );
    const resolves = await this.db.query<{ hostname: string; jobId: string }>(
      `SELECT p.hostname, p.peer_job_id AS "jobId" FROM example_peers p JOIN example_jobs b ON b.job_id = p.peer_job_id
       WHERE p.job_id = $1 AND b.state IN ('IN_QUEUE', 'RUNNING', 'SUSPENDED') ORDER BY p.hostname`,
      [jobId],
    );
    return { jobId, allowsFrom, resolves, isolation };
  }

  /** How a job's firewall is enforced: by its own namespace, not at all (no privileges), or only simulated. */
  private isolationOf(row: ExampleJobRow): FirewallView['isolation'] {
    if (this.simulated) return 'simulated';
    if (row.isolation === 'network-namespace' || row.isolation === 'none') return row.isolation;
    return this.runner?.backend.isolation ?? 'none';
  }

  async describe(jobId: string): Promise<ProviderJobView | null> {
    const [row] = await this.db.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
    if (!row) return null;
    const peers = await this.db.query<{ hostname: string; jobId: string }>(
      `SELECT hostname, peer_job_id AS "jobId" FROM example_peers WHERE job_id = $1 ORDER BY hostname`,
      [jobId],
    );
    return {
      jobId,
      owner: row.owner,
      state: row.state,
      status: row.status,
      timeAllocationMs: row.time_allocation_ms,
      startedAt: row.started_at,
      expiresAt: row.started_at !== null && row.time_allocation_ms !== null ? row.started_at + row.time_allocation_ms : null,
      peers,
      pid: row.state === 'RUNNING' ? row.pid : null,
      address: row.isolation === 'network-namespace' ? row.address : null,
      isolation: this.isolationOf(row),
      limits: row.limits,
    };
  }

  /**
   * Where a running job serves its web interface (the catalog's `run.webPort`, at the job's address), for the core's
   * proxy (server/interfaces/); a reason instead when there is none: not known, not running, no web port, simulated.
   */
  async interfaceTarget(jobId: string): Promise<{ jobId: string; host: string; port: number } | { missing: 'unknown' | 'not-running' | 'no-interface'; why: string }> {
    const [row] = await this.db.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
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
    const [forgotten] = await this.tx(async (q) => {
      const rows = await q.query<{ job_id: string; slot: number | null }>(
        `DELETE FROM example_jobs WHERE job_id = $1 RETURNING job_id, slot`,
        [jobId],
      );
      await q.query(`DELETE FROM example_outbox WHERE job_id = $1`, [jobId]);
      return rows;
    });
    if (forgotten && this.runner) await this.runner.backend.killAll([{ jobId, slot: forgotten.slot }]);
    return forgotten !== undefined;
  }

  // ─── State changes ───────────────────────────────────────────────────────────────────────────────────────

  /** The next simulated transition of a job, from its state. */
  private schedule(row: ExampleJobRow) {
    let event: SimEvent | null = null;
    let at: number | null = null;
    if (row.state === 'IN_QUEUE') {
      event = 'start';
      at = row.received_at + this.opts.queueDelayMs;
    } else if (row.state === 'RUNNING' && row.started_at !== null && row.stop_reason === null) {
      if (row.finishes) {
        event = 'finish';
        at = row.started_at + this.opts.batchRunMs;
      }
      if (row.time_allocation_ms !== null && (at === null || row.started_at + row.time_allocation_ms <= at)) {
        event = 'expire';
        at = row.started_at + row.time_allocation_ms;
      }
    }
    row.next_event = event;
    row.next_event_at = at;
  }

  private end(row: ExampleJobRow, state: JobState, now: number): Outgoing[] {
    row.state = state;
    row.ended_at = now;
    this.schedule(row);
    return [{ jobId: row.job_id, update: stateUpdate(state, row.status!) }];
  }

  /**
   * Records the call ids of a request (example_applied_calls) inside the transaction of the change they make, and
   * says, item by item, whether the call is new. Without ids (no Jobdeck-Call-Id header) every item is new.
   */
  private async firstTime(q: Queryable, op: CallOp, jobIds: string[], callIds: string[] | undefined): Promise<boolean[]> {
    if (!callIds) return jobIds.map(() => true);
    const inserted = await q.query<{ call_id: string }>(
      `INSERT INTO example_applied_calls (call_id, op, job_id, applied_at)
       SELECT c, $2, j, $4 FROM unnest($1::text[], $3::text[]) AS t(c, j)
       ON CONFLICT (call_id) DO NOTHING RETURNING call_id`,
      [callIds, op, jobIds, Date.now()],
    );
    const fresh = new Set(inserted.map((r) => r.call_id));
    const repeated = callIds.filter((id) => !fresh.has(id));
    if (repeated.length > 0) {
      this.opts.log.info({ op, callIds: repeated }, 'example provider: calls already applied; answered without applying them again');
    }
    return callIds.map((id) => fresh.has(id));
  }

  /**
   * Applies `fn` to each active job of `items` (with that job's items) under a row lock, saves the rows, tells the
   * peers of jobs that ended, and queues the updates. A job the provider does not know gets seed 000's FAILURE.
   * Items whose call id was applied before are left out, in the same transaction that records the new ones.
   */
  private async change<T extends { jobId: string }>(
    op: CallOp,
    items: T[],
    callIds: string[] | undefined,
    fn: (row: ExampleJobRow, items: T[]) => Outgoing[],
  ): Promise<void> {
    if (items.length === 0) return;
    await this.tx(async (q) => {
      const firstTime = await this.firstTime(q, op, items.map((i) => i.jobId), callIds);
      const byJob = new Map<string, T[]>();
      items.forEach((item, i) => {
        if (firstTime[i]) byJob.set(item.jobId, [...(byJob.get(item.jobId) ?? []), item]);
      });
      if (byJob.size === 0) return;
      const rows = await q.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = ANY($1::text[]) FOR UPDATE`, [[...byJob.keys()]]);
      const byId = new Map(rows.map((r) => [r.job_id, r]));
      const out: Outgoing[] = [];
      const changed: ExampleJobRow[] = [];
      for (const [id, applied] of byJob) {
        const row = byId.get(id);
        if (!row) out.push({ jobId: id, update: unknownJobUpdate() });
        else if (isActive(row.state)) {
          out.push(...fn(row, applied));
          changed.push(row);
        }
      }
      await this.save(q, changed);
      out.push(...(await this.peerNotices(q, changed.filter((r) => !isActive(r.state)))));
      await this.enqueue(q, out);
    });
    this.kickFlush();
  }

  private async save(q: Queryable, rows: ExampleJobRow[]) {
    if (rows.length === 0) return;
    await q.query(
      `UPDATE example_jobs e SET state = t.state, status = t.status, time_allocation_ms = t.alloc, started_at = t.started,
              ended_at = t.ended, next_event = t.ev, next_event_at = t.ev_at, stop_reason = t.stop
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::bigint[],
                   $9::text[])
            AS t(id, state, status, alloc, started, ended, ev, ev_at, stop)
       WHERE e.job_id = t.id`,
      [rows.map((r) => r.job_id), rows.map((r) => r.state), rows.map((r) => r.status), rows.map((r) => r.time_allocation_ms),
       rows.map((r) => r.started_at), rows.map((r) => r.ended_at), rows.map((r) => r.next_event), rows.map((r) => r.next_event_at),
       rows.map((r) => r.stop_reason)],
    );
  }

  /** Jobs still running that reach one of `ended` under a hostname are told their peer is gone. */
  private async peerNotices(q: Queryable, ended: ExampleJobRow[]): Promise<Outgoing[]> {
    if (ended.length === 0) return [];
    const states = new Map(ended.map((r) => [r.job_id, r.state]));
    const links = await q.query<{ job_id: string; hostname: string; peer_job_id: string }>(
      `SELECT p.job_id, p.hostname, p.peer_job_id FROM example_peers p JOIN example_jobs a ON a.job_id = p.job_id
       WHERE p.peer_job_id = ANY($1::text[]) AND a.state = 'RUNNING' ORDER BY p.job_id, p.hostname`,
      [[...states.keys()]],
    );
    return links.map((l) => ({
      jobId: l.job_id,
      update: statusUpdate(text.peerGone(l.peer_job_id, l.hostname, states.get(l.peer_job_id)!)),
    }));
  }

  async enqueue(q: Queryable, out: Outgoing[]) {
    if (out.length === 0) return;
    await q.query(
      `INSERT INTO example_outbox (job_id, body, created_at)
       SELECT j, b::jsonb, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(j, b, n) ORDER BY n`,
      [out.map((o) => o.jobId), out.map((o) => JSON.stringify(o.update)), Date.now()],
    );
  }

  // ─── Simulator ───────────────────────────────────────────────────────────────────────────────────────────

  /** Performs every transition that is due. Runs every tickMs; overdue ones (the provider was down) run at once. */
  async tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.runDue().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async runDue(): Promise<void> {
    await this.runTimers();
    if (this.runner) {
      await this.runner.reap();
      await this.runner.launchDue(Date.now());
    }
  }

  /** Transitions that are due by the clock: the simulator's, and the expiry of real jobs. */
  private async runTimers(): Promise<void> {
    // Real jobs start when the runner has launched their process, not when a timer says so.
    const events = this.runner ? `AND next_event = 'expire'` : '';
    for (;;) {
      const now = Date.now();
      const stopping: string[] = [];
      const count = await this.tx(async (q) => {
        const due = await q.query<ExampleJobRow>(
          `SELECT * FROM example_jobs WHERE next_event_at <= $1 ${events} ORDER BY next_event_at, job_id LIMIT 500 FOR UPDATE SKIP LOCKED`,
          [now],
        );
        if (due.length === 0) return 0;
        const out: Outgoing[] = [];
        const started: ExampleJobRow[] = [];
        const overdueAfter = Math.max(2_000, 10 * this.opts.tickMs);
        for (const row of due) {
          const at = row.next_event_at!;
          if (row.next_event === 'start') {
            row.state = 'RUNNING';
            row.started_at = now;
            row.status = text.started(row.product_id, row.time_allocation_ms);
            this.schedule(row);
            out.push({ jobId: row.job_id, update: stateUpdate('RUNNING', row.status) });
            started.push(row);
          } else if (row.next_event === 'finish') {
            row.status = text.finished();
            out.push(...this.end(row, 'SUCCESS', now));
          } else if (row.pid !== null) {
            // A real process: stopped like a terminate; it is EXPIRED once it has exited. Nothing enforced the
            // deadline while the provider was down, so a late stop says when it really ran out.
            row.stop_reason = now - at > overdueAfter ? `expire-offline:${at}` : 'expire';
            this.schedule(row);
            stopping.push(row.job_id);
          } else {
            row.status = now - at > overdueAfter ? text.expiredWhileDown(row.time_allocation_ms!, at) : text.expired(row.time_allocation_ms!);
            out.push(...this.end(row, 'EXPIRED', now));
          }
        }
        await this.save(q, due);
        out.push(...(await this.connections(q, started)));
        out.push(...(await this.peerNotices(q, due.filter((r) => !isActive(r.state)))));
        await this.enqueue(q, out);
        return due.length;
      });
      for (const id of stopping) this.runner?.stop(id);
      if (count === 0) return;
      this.kickFlush();
      if (count < 500) return;
    }
  }

  // ─── Real execution: what the runner (local/runner.ts) asks of the provider ──────────────────────────────

  private runnerHost(): RunnerHost {
    return {
      tx: (fn) => this.tx(fn),
      enqueue: (q, out) => this.enqueue(q, out),
      kickFlush: () => this.kickFlush(),
      track: (work) => this.track(work),
      log: this.opts.log,
      endJob: async (q, jobId, state, status) => {
        const [row] = await q.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
        if (!row || !isActive(row.state)) return;
        row.status = status;
        row.stop_reason = null;
        const out = this.end(row, state, Date.now());
        await this.save(q, [row]);
        out.push(...(await this.peerNotices(q, [row])));
        await this.enqueue(q, out);
      },
      startJob: async (q, jobId, fields) => {
        const [row] = await q.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
        if (!row || row.state !== 'IN_QUEUE') return;
        const now = Date.now();
        row.state = 'RUNNING';
        row.started_at = now;
        row.status = text.started(row.product_id, row.time_allocation_ms);
        this.schedule(row);
        await this.save(q, [row]);
        await q.query(`UPDATE example_jobs SET pid = $2, address = $3, isolation = $4, limits = $5 WHERE job_id = $1`, [
          jobId,
          fields.pid,
          fields.address,
          fields.isolation,
          fields.limits,
        ]);
        const reason = this.runner?.backend.isolationReason ?? null;
        const out: Outgoing[] = [
          { jobId, update: stateUpdate('RUNNING', row.status) },
          { jobId, update: statusUpdate(text.isolation(fields.isolation, fields.limits, reason)) },
        ];
        out.push(...(await this.connections(q, [row])));
        await this.enqueue(q, out);
      },
    };
  }

  /**
   * Deletes the ids of calls applied longer ago than the retention period, at most once an hour (and at the first
   * turn of the loop after a start). Only the simulator loop calls it, and that runs in the leader only.
   */
  async pruneCallIds(now = Date.now(), force = false): Promise<number> {
    if (!force && now - this.prunedAt < PRUNE_EVERY_MS) return 0;
    this.prunedAt = now;
    const retention = this.opts.callRetentionMs ?? CALL_RETENTION_MS;
    const [row] = await this.db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM example_applied_calls WHERE applied_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [now - retention],
    );
    const deleted = row?.n ?? 0;
    if (deleted > 0) this.opts.log.info({ deleted }, 'example provider: deleted old call ids');
    return deleted;
  }

  /** "Connected to job 4101 as 'database'" for each peer of a job that just started. */
  private async connections(q: Queryable, started: ExampleJobRow[]): Promise<Outgoing[]> {
    if (started.length === 0) return [];
    const links = await q.query<{ job_id: string; hostname: string; peer_job_id: string; peer_state: string | null }>(
      `SELECT p.job_id, p.hostname, p.peer_job_id, b.state AS peer_state
       FROM example_peers p LEFT JOIN example_jobs b ON b.job_id = p.peer_job_id
       WHERE p.job_id = ANY($1::text[]) ORDER BY p.job_id, p.hostname`,
      [started.map((r) => r.job_id)],
    );
    return links.map((l) => ({
      jobId: l.job_id,
      update: statusUpdate(
        l.peer_state !== null && isActive(l.peer_state) ? text.connected(l.peer_job_id, l.hostname) : text.peerNotRunning(l.peer_job_id, l.hostname),
      ),
    }));
  }

  // ─── Delivery to the core ────────────────────────────────────────────────────────────────────────────────

  /** Sends queued updates to the core's control/update, in order, 1000 at a time. */
  async flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = this.deliverAll().finally(() => {
      this.flushing = null;
      if (this.flushAgain && this.running) {
        this.flushAgain = false;
        this.kickFlush();
      }
    });
    return this.flushing;
  }

  private async deliverAll(): Promise<void> {
    while (!this.stopping) {
      const rows = await this.db.query<{ id: number; job_id: string; body: JobUpdate }>(
        `SELECT id, job_id, body FROM example_outbox ORDER BY id LIMIT 1000`,
      );
      if (rows.length === 0) return;
      const outcome = await this.send(rows);
      if (outcome === 'retry') {
        this.retryFlushLater();
        return;
      }
      this.flushFailures = 0;
    }
  }

  private async send(rows: { id: number; job_id: string; body: JobUpdate }[]): Promise<'sent' | 'retry'> {
    let result;
    try {
      result = await this.opts.core(
        'POST',
        '/api/jobs/control/update',
        this.opts.token,
        JSON.stringify({ items: rows.map((r) => ({ id: r.job_id, update: r.body })) }),
      );
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      this.opts.log.warn({ error: error.message }, 'example provider: the core cannot be reached; will retry');
      return 'retry';
    }
    if (isSuccess(result.status)) {
      await this.db.query(`DELETE FROM example_outbox WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
      return 'sent';
    }
    if (result.status === 400 || result.status === 404) {
      // The core refuses the whole batch for one bad item (e.g. a job id it does not have); isolate it.
      if (rows.length > 1) {
        for (const row of rows) if ((await this.send([row])) === 'retry') return 'retry';
        return 'sent';
      }
      this.opts.log.warn({ jobId: rows[0]!.job_id, why: whyOf(result) }, 'example provider: the core refused an update; dropped');
      await this.db.query(`DELETE FROM example_outbox WHERE id = $1`, [rows[0]!.id]);
      return 'sent';
    }
    this.opts.log.warn({ why: whyOf(result) }, 'example provider: control/update failed; will retry');
    return 'retry';
  }

  private retryFlushLater() {
    if (!this.running) return;
    this.flushFailures += 1;
    const delay = backoffDelay(this.flushFailures, this.opts.retryMs, this.opts.retryMaxMs);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.kickFlush();
    }, delay);
    this.flushTimer.unref?.();
  }

  kickFlush() {
    if (!this.running || this.flushTimer) return;
    this.track(this.flush());
  }

  private kickTick() {
    if (!this.running) return;
    this.track(this.tick());
  }

  private track(promise: Promise<unknown>) {
    const tracked = promise.catch((error) => this.opts.log.error({ err: error }, 'example provider error'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  // ─── Restart ─────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * After a restart: reads the core's active jobs of this provider (control/browse, page by page) and sends
   * again the state of any job the core shows differently, unless an update for it is still queued. Jobs the
   * provider does not know are left to verify, which only asks about jobs whose create was answered.
   */
  async reconcile(): Promise<void> {
    for (const state of ACTIVE) {
      let next: string | null = null;
      do {
        const query = `?itemsPerPage=1000&filterState=${state}${next ? `&next=${encodeURIComponent(next)}` : ''}`;
        const result = await this.opts.core('GET', `/api/jobs/control/browse${query}`, this.opts.token);
        if (!isSuccess(result.status)) throw new Error(`control/browse failed (${whyOf(result)})`);
        const page = result.body as { items: Job[]; next?: string | null };
        await this.resync(page.items);
        next = page.next ?? null;
      } while (next !== null && this.running);
    }
    this.kickFlush();
  }

  private async resync(coreJobs: Job[]) {
    if (coreJobs.length === 0) return;
    await this.tx(async (q) => {
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
        if (!isActive(row.state) || (row.state === 'RUNNING' && job.status.state === 'IN_QUEUE')) {
          out.push({ jobId: row.job_id, update: stateUpdate(row.state, row.status ?? text.resynced(row.state)) });
        }
      }
      await this.enqueue(q, out);
    });
  }

  private async reconcileWithRetry(attempt = 0): Promise<void> {
    try {
      await this.reconcile();
    } catch (error) {
      if (!this.running) return;
      const delay = backoffDelay(attempt + 1, this.opts.retryMs, this.opts.retryMaxMs);
      this.opts.log.warn({ err: error, retryInMs: delay }, 'example provider: reconcile with the core failed; will retry');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        timer.unref?.();
        this.wakeReconcile = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeReconcile = null;
      if (this.running) await this.reconcileWithRetry(attempt + 1);
    }
  }

  private wakeReconcile: (() => void) | null = null;

  // ─── Lifecycle ───────────────────────────────────────────────────────────────────────────────────────────

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    if (!this.simulated && !this.runner) {
      try {
        const collector = this.opts.collectOutput === false ? null : new OutputCollector({ core: this.opts.core, token: this.opts.token, log: this.opts.log });
        this.runner = new LocalRunner(await this.openBackend(), this.opts.catalog!, this.runnerHost(), collector);
      } catch (error) {
        this.running = false;
        throw error;
      }
    }
    this.puller?.resume();
    const loop = () => {
      this.tickTimer = setTimeout(() => {
        // Updates queued by another process's routes (it serves requests, the leader runs this loop) go out too.
        this.kickFlush();
        this.track(this.tick().finally(() => this.running && loop()));
        // Old call ids go at most once an hour (the loop runs in the leader only).
        this.track(this.pruneCallIds().then(() => undefined));
      }, this.opts.tickMs);
      this.tickTimer.unref?.();
    };
    loop();
    this.kickTick();
    this.kickFlush();
    this.reconciling = this.reconcileWithRetry();
    this.track(this.reconciling);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.tickTimer = null;
    this.flushTimer = null;
    this.wakeReconcile?.();
    this.puller?.stop();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.ticking) await this.ticking;
    const runner = this.runner;
    this.runner = null;
    if (runner) {
      const keep = this.opts.keepJobs ?? true;
      const holding = await this.db.query<{ job_id: string; slot: number | null }>(`SELECT job_id, slot FROM example_jobs WHERE slot IS NOT NULL`);
      // By default jobs outlive the provider: the next start re-attaches to them. With none running, nothing stays.
      if (!keep) await runner.backend.killAll(holding.map((r) => ({ jobId: r.job_id, slot: r.slot })));
      await runner.backend.close({ teardown: !keep || holding.length === 0 });
    }
  }

  /**
   * Opens the local backend with the settings this provider kept (its network, its loopback addresses), cleans what a
   * crashed run left on the machine, and re-attaches to the jobs that still run. A launch cut short by a crash is
   * started again: the job is still IN_QUEUE in the core.
   */
  private async openBackend(): Promise<LocalBackend> {
    const settings = new Map(
      (await this.db.query<{ key: string; value: string }>(`SELECT key, value FROM example_settings`)).map((r) => [r.key, r.value]),
    );
    const octet = Number(settings.get('loopback-octet') ?? 2 + Math.floor(Math.random() * 250));
    const instance = settings.get('instance') ?? Math.random().toString(36).slice(2, 10);
    const backend = await LocalBackend.open({
      dataDir: this.opts.dataDir!,
      networkIndex: settings.has('network-index') ? Number(settings.get('network-index')) : null,
      instance,
      loopbackOctet: octet,
      graceMs: this.opts.graceMs ?? 5_000,
      isolation: this.opts.isolation ?? 'auto',
      log: (msg, extra) => this.opts.log.info(extra ?? {}, `example provider: ${msg}`),
    });
    const keep: [string, string][] = [
      ['loopback-octet', String(octet)],
      ['instance', instance],
      ...(backend.networkIndex === null ? [] : [['network-index', String(backend.networkIndex)] as [string, string]]),
    ];
    await this.db.query(
      `INSERT INTO example_settings (key, value) SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [keep.map((k) => k[0]), keep.map((k) => k[1])],
    );
    const interrupted = await this.db.query<{ job_id: string; slot: number | null }>(
      `SELECT job_id, slot FROM example_jobs WHERE next_event = 'launching'`,
    );
    await backend.killAll(interrupted.map((r) => ({ jobId: r.job_id, slot: r.slot })));
    await this.db.query(
      `UPDATE example_jobs SET slot = NULL, next_event = 'start', next_event_at = $1 WHERE next_event = 'launching'`,
      [Date.now()],
    );
    const holding = await this.db.query<{ job_id: string; slot: number | null }>(`SELECT job_id, slot FROM example_jobs WHERE slot IS NOT NULL`);
    await backend.cleanLeftovers(holding.map((r) => ({ jobId: r.job_id, slot: r.slot })));
    return backend;
  }

  /** Resolves when nothing is being processed or delivered right now (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.ticking || this.flushing) {
      await Promise.all([...this.inFlight, this.ticking, this.flushing]);
    }
  }
}
