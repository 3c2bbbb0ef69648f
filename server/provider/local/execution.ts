import type { Db } from '../../db/index';
import type { Catalog } from '../../catalog/catalog';
import type { ExecutionBackend, IsolationView } from '../execution';
import { stateUpdate, statusUpdate, type ExampleJobRow, type JobStore } from '../job-state';
import { isActiveState } from '../../../contract/constants';
import type { Outbox, Outgoing } from '../kit/outbox';
import type { Transport } from '../kit/transport';
import { text } from '../messages';
import { LocalBackend } from './backend';
import { OutputCollector } from './collect';
import { LocalRunner, type RunnerHost } from './runner';

/*
 * The `local` backend, the default: each job a real process on this machine. This module hosts the runner
 * (runner.ts) in the provider: it opens the machine side (backend.ts) with the settings the provider kept, and
 * gives the runner the provider's locked transactions, its outbox, and the two state changes a process makes
 * (started, ended).
 */

export interface LocalExecutionOptions {
  db: Db;
  store: JobStore;
  outbox: Outbox;
  core: Transport;
  token: string;
  log: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
  /** How each application runs. */
  catalog: Catalog;
  /** Where jobs' run folders, work folders and users' storage live. */
  dataDir: string;
  /** SIGTERM → SIGKILL grace period when a job is stopped. */
  graceMs?: number;
  /** Jobs keep running when the provider stops (the default); false stops them and removes everything (tests). */
  keepJobs?: boolean;
  /** 'off' runs jobs without network namespaces even as root. */
  isolation?: 'auto' | 'off';
  /** Copy each ended job's output into its user's files, reported as a task (default on). */
  collectOutput?: boolean;
  /** Runs work in the background, waited for when the provider stops. */
  track: (work: Promise<unknown>) => void;
}

export class LocalExecution implements ExecutionBackend {
  readonly kind = 'local';
  readonly startsOnTimer = false;
  private runner: LocalRunner | null = null;

  constructor(private readonly opts: LocalExecutionOptions) {}

  get local(): LocalBackend | null {
    return this.runner?.backend ?? null;
  }

  finishesOnTimer(): boolean {
    return false;
  }

  accepted(): void {}

  async start(): Promise<void> {
    if (this.runner) return;
    const { core, token, log } = this.opts;
    const collector = this.opts.collectOutput === false ? null : new OutputCollector({ core, token, log });
    this.runner = new LocalRunner(await this.openBackend(), this.opts.catalog, this.host(), collector);
    this.opts.track(this.runner.resumeCollections());
  }

  /** Collections under way are interrupted, not waited for: they start again with the provider. */
  beginStop(): void {
    this.runner?.stopCollections();
  }

  async close(): Promise<void> {
    const runner = this.runner;
    this.runner = null;
    if (!runner) return;
    const keep = this.opts.keepJobs ?? true;
    const holding = await this.opts.db.query<{ job_id: string; slot: number | null }>(`SELECT job_id, slot FROM example_jobs WHERE slot IS NOT NULL`);
    // By default jobs outlive the provider: the next start re-attaches to them. With none running, nothing stays.
    if (!keep) await runner.backend.killAll(holding.map((r) => ({ jobId: r.job_id, slot: r.slot })));
    await runner.backend.close({ teardown: !keep || holding.length === 0 });
  }

  async turn(): Promise<void> {
    if (!this.runner) return;
    await this.runner.reap();
    await this.runner.launchDue(Date.now());
  }

  stopJob(jobId: string): void {
    this.runner?.stop(jobId);
  }

  async forget(jobId: string, slot: number | null): Promise<void> {
    if (this.runner) await this.runner.backend.killAll([{ jobId, slot }]);
  }

  isolationOf(row: ExampleJobRow): IsolationView {
    if (row.isolation === 'network-namespace' || row.isolation === 'none') return row.isolation;
    return this.runner?.backend.isolation ?? 'none';
  }

  /** What the runner asks of the provider. */
  private host(): RunnerHost {
    const { store, outbox } = this.opts;
    return {
      tx: (fn) => store.tx(fn),
      enqueue: (q, out) => store.enqueue(q, out),
      sendQueuedUpdates: () => outbox.sendQueued(),
      track: (work) => this.opts.track(work),
      log: this.opts.log,
      endJob: async (q, jobId, state, status) => {
        const [row] = await q.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
        if (!row || !isActiveState(row.state)) return;
        row.status = status;
        row.stop_reason = null;
        const out = store.end(row, state, Date.now());
        await store.save(q, [row]);
        out.push(...(await store.peerNotices(q, [row])));
        await store.enqueue(q, out);
      },
      startJob: async (q, jobId, fields) => {
        const [row] = await q.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
        if (!row || row.state !== 'IN_QUEUE') return;
        const now = Date.now();
        row.state = 'RUNNING';
        row.started_at = now;
        row.status = text.started(row.product_id, row.time_allocation_ms);
        store.schedule(row);
        await store.save(q, [row]);
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
        out.push(...(await store.connections(q, [row])));
        await store.enqueue(q, out);
      },
    };
  }

  /**
   * Opens the machine side with the settings this provider kept (its network, its loopback addresses), cleans what
   * a crashed run left on the machine, and re-attaches to the jobs that still run. A launch cut short by a crash is
   * started again: the job is still IN_QUEUE in the core.
   */
  private async openBackend(): Promise<LocalBackend> {
    const { db } = this.opts;
    const settings = new Map(
      (await db.query<{ key: string; value: string }>(`SELECT key, value FROM example_settings`)).map((r) => [r.key, r.value]),
    );
    const octet = Number(settings.get('loopback-octet') ?? 2 + Math.floor(Math.random() * 250));
    const instance = settings.get('instance') ?? Math.random().toString(36).slice(2, 10);
    const backend = await LocalBackend.open({
      dataDir: this.opts.dataDir,
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
    await db.query(
      `INSERT INTO example_settings (key, value) SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [keep.map((k) => k[0]), keep.map((k) => k[1])],
    );
    const interrupted = await db.query<{ job_id: string; slot: number | null }>(
      `SELECT job_id, slot FROM example_jobs WHERE next_event = 'launching'`,
    );
    await backend.killAll(interrupted.map((r) => ({ jobId: r.job_id, slot: r.slot })));
    await db.query(
      `UPDATE example_jobs SET slot = NULL, next_event = 'start', next_event_at = $1 WHERE next_event = 'launching'`,
      [Date.now()],
    );
    const holding = await db.query<{ job_id: string; slot: number | null }>(`SELECT job_id, slot FROM example_jobs WHERE slot IS NOT NULL`);
    await backend.cleanLeftovers(holding.map((r) => ({ jobId: r.job_id, slot: r.slot })));
    return backend;
  }
}
