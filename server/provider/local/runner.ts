import fs from 'node:fs';
import path from 'node:path';
import type { Queryable } from '../../db/index';
import { ACTIVE_STATES_SQL, type ExampleJobRow } from '../job-state';
import type { Catalog } from '../../catalog/catalog';
import type { JobState } from '../../../contract/jobs';
import { EMPTY_JOB_UPDATE } from '../../../contract/constants';
import type { LocalBackend} from './backend';
import { LaunchError, type Outcome } from './backend';
import { text } from '../messages';
import type { OutputCollector } from './collect';
import { COLLECTIONS_AT_ONCE, CollectQueue } from './collect-queue';
import type { Outgoing } from '../kit/outbox';

/*
 * The provider's side of real execution: when a queued job is due it is launched (outside any transaction: starting a
 * process and its namespace takes tens of milliseconds), and each turn of the loop reaps the jobs whose process has
 * ended and gives them their real outcome. Firewall rules and peer names follow the provider's own tables: a link
 * A → B admits A's address into B and names B inside A while both run.
 */

/** The first uid of the job accounts: far above the ranges distributions give people and subordinate ids. */
export const ACCOUNT_UID_BASE = 1_900_000_000;

/** The columns of a job's row the runner reads (the provider's own row, server/provider/job-state.ts). */
export type RunnerRow = Pick<
  ExampleJobRow,
  | 'job_id'
  | 'owner'
  | 'app_name'
  | 'product_id'
  | 'state'
  | 'status'
  | 'time_allocation_ms'
  | 'started_at'
  | 'spec'
  | 'slot'
  | 'pid'
  | 'address'
  | 'isolation'
  | 'limits'
  | 'stop_reason'
>;


/** What the runner needs of the provider: its locked transactions and its outbox. */
export interface RunnerHost {
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  enqueue(q: Queryable, out: Outgoing[]): Promise<void>;
  /** Ends a running job: saves it, tells its peers, queues the update. */
  endJob(q: Queryable, jobId: string, state: JobState, status: string): Promise<void>;
  /** Marks a queued job as started: saves it, reports RUNNING and its connections. */
  startJob(q: Queryable, jobId: string, fields: { pid: number; address: string; isolation: string; limits: string }): Promise<void>;
  sendQueuedUpdates(): void;
  /** Runs work in the background, waited for when the provider stops. */
  track(work: Promise<unknown>): void;
  log: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
}

/** How often the reaper reads every job's outcome, besides those whose exit it was told of. */
const FULL_LOOK_MS = 2_000;

export class LocalRunner {
  /** Launches in progress (job ids): a job is launched once, even if the loop turns again meanwhile. */
  private readonly launching = new Set<string>();
  /** Jobs this runner has asked to stop; a stop recorded by another process (or before a restart) is sent by reap. */
  private readonly signalled = new Set<string>();
  /** When the reaper last looked at every job, not only those whose run folder changed. */
  private lastFullLook = 0;
  private readonly collections: CollectQueue | null;

  constructor(
    readonly backend: LocalBackend,
    private readonly catalog: Catalog,
    private readonly host: RunnerHost,
    private readonly collector: OutputCollector | null = null,
  ) {
    this.collections = collector
      ? new CollectQueue({ concurrency: COLLECTIONS_AT_ONCE, run: (jobId, signal) => this.collectOutput(jobId, signal), track: host.track })
      : null;
  }

  /** Takes up the collections a stop or a crash left: the jobs that ended and whose output is not copied yet. */
  async resumeCollections(): Promise<void> {
    if (!this.collections) return;
    const rows = await this.host.tx((q) =>
      q.query<{ job_id: string }>(`SELECT job_id FROM example_jobs WHERE output_pending ORDER BY ended_at, job_id`),
    );
    this.collections.add(rows.map((r) => r.job_id));
  }

  /** Stops collecting: the copies under way are interrupted, and they and the queued ones wait for the next start. */
  stopCollections(): void {
    this.collections?.close();
  }

  /** The job's account: one per user, made on first use. */
  private async account(q: Queryable, owner: string): Promise<{ uid: number; gid: number }> {
    const [row] = await q.query<{ uid: number }>(
      `INSERT INTO example_accounts (owner, uid)
       SELECT $1, $2::int + COALESCE((SELECT max(uid) - $2::int + 1 FROM example_accounts), 0)
       ON CONFLICT (owner) DO UPDATE SET owner = EXCLUDED.owner RETURNING uid`,
      [owner, ACCOUNT_UID_BASE],
    );
    return { uid: row!.uid, gid: row!.uid };
  }

  private async freeSlot(q: Queryable): Promise<number> {
    const [row] = await q.query<{ slot: number }>(
      `SELECT s AS slot FROM generate_series(1, 65000) s WHERE NOT EXISTS (SELECT 1 FROM example_jobs WHERE slot = s) LIMIT 1`,
    );
    if (!row) throw new LaunchError('the machine has no room for another job (65 000 jobs hold resources)');
    return row.slot;
  }

  /** Addresses of the running jobs that link to `jobId`: they may connect to it. */
  private async allowFrom(q: Queryable, jobId: string): Promise<string[]> {
    const rows = await q.query<{ address: string }>(
      `SELECT DISTINCT a.address FROM example_peers p JOIN example_jobs a ON a.job_id = p.job_id
       WHERE p.peer_job_id = $1 AND a.address IS NOT NULL AND a.state IN ${ACTIVE_STATES_SQL} AND a.stop_reason IS NULL ORDER BY 1`,
      [jobId],
    );
    return rows.map((r) => r.address);
  }

  /** The names `jobId` reaches its running peers under. */
  private async hosts(q: Queryable, jobId: string): Promise<{ hostname: string; address: string }[]> {
    return q.query<{ hostname: string; address: string }>(
      `SELECT p.hostname, b.address FROM example_peers p JOIN example_jobs b ON b.job_id = p.peer_job_id
       WHERE p.job_id = $1 AND b.address IS NOT NULL AND b.state = 'RUNNING' AND b.stop_reason IS NULL ORDER BY 1`,
      [jobId],
    );
  }

  /** Starts every queued job that is due. */
  async launchDue(now: number): Promise<void> {
    const due = await this.host.tx((q) =>
      q.query<RunnerRow>(
        `SELECT * FROM example_jobs WHERE state = 'IN_QUEUE' AND next_event = 'start' AND next_event_at <= $1
         ORDER BY next_event_at, job_id LIMIT 100`,
        [now],
      ),
    );
    const fresh = due.filter((row) => !this.launching.has(row.job_id));
    // A few at a time: each launch mostly waits on the kernel and on its new process, not on this thread.
    for (let i = 0; i < fresh.length; i += 4) {
      await Promise.all(fresh.slice(i, i + 4).map((row) => this.launchOne(row.job_id)));
    }
  }

  private async launchOne(jobId: string): Promise<void> {
    this.launching.add(jobId);
    try {
      const prepared = await this.host.tx(async (q) => {
        const [row] = await q.query<RunnerRow>(`SELECT * FROM example_jobs WHERE job_id = $1 FOR UPDATE`, [jobId]);
        if (!row || row.state !== 'IN_QUEUE') return null;
        const slot = row.slot ?? (await this.freeSlot(q));
        const account = await this.account(q, row.owner);
        await q.query(`UPDATE example_jobs SET slot = $2, next_event = 'launching', next_event_at = NULL WHERE job_id = $1`, [jobId, slot]);
        return { row, slot, account, peers: await this.hosts(q, jobId), allowFrom: await this.allowFrom(q, jobId) };
      });
      if (!prepared) return;
      const { row, slot, account, peers, allowFrom } = prepared;
      let launched;
      try {
        const spec = row.spec;
        if (!spec) throw new LaunchError('the provider has no record of how to start it');
        const application = this.catalog.findApplication(spec.application.name, spec.application.version);
        const run = application && this.catalog.findRun(application.name, application.version);
        const product = this.catalog.findProduct(spec.product.id, spec.product.category, spec.product.provider);
        if (!application || !run || !product) {
          throw new LaunchError(`application ${spec.application.name} ${spec.application.version} cannot run on this provider`);
        }
        launched = await this.backend.launch({
          jobId,
          owner: row.owner,
          slot,
          application,
          run,
          product,
          values: spec.parameters ?? {},
          account,
          peers,
          allowFrom,
        });
      } catch (error) {
        const reason = error instanceof LaunchError ? error.message : `an internal error (${(error as Error).message})`;
        if (!(error instanceof LaunchError)) this.host.log.warn({ err: error, jobId }, 'example provider: launch failed');
        await this.backend.release(jobId, slot).catch(() => undefined);
        await this.host.tx(async (q) => {
          await q.query(`UPDATE example_jobs SET slot = NULL WHERE job_id = $1`, [jobId]);
          const [current] = await q.query<RunnerRow>(`SELECT * FROM example_jobs WHERE job_id = $1 FOR UPDATE`, [jobId]);
          if (current?.state === 'IN_QUEUE') await this.host.endJob(q, jobId, 'FAILURE', text.couldNotStart(reason));
        });
        this.host.sendQueuedUpdates();
        return;
      }
      const stillWanted = await this.host.tx(async (q) => {
        const [current] = await q.query<RunnerRow>(`SELECT * FROM example_jobs WHERE job_id = $1 FOR UPDATE`, [jobId]);
        if (current?.state !== 'IN_QUEUE') return false;
        await this.host.startJob(q, jobId, launched);
        return true;
      });
      if (!stillWanted) {
        // Terminated (or forgotten) while it was being started: its process goes too; the reaper releases the rest.
        this.backend.stop(jobId);
        return;
      }
      this.host.log.info({ jobId, pid: launched.pid, address: launched.address }, 'example provider: job started');
      await this.refreshPeersOf(jobId);
      this.host.sendQueuedUpdates();
    } finally {
      this.launching.delete(jobId);
    }
  }

  /** The jobs that `jobId` links to now admit it (it has just started). */
  private async refreshPeersOf(jobId: string) {
    const targets = await this.host.tx((q) =>
      q.query<{ job_id: string; slot: number }>(
        `SELECT b.job_id, b.slot FROM example_peers p JOIN example_jobs b ON b.job_id = p.peer_job_id
         WHERE p.job_id = $1 AND b.slot IS NOT NULL`,
        [jobId],
      ),
    );
    for (const target of targets) await this.applyRules(target.job_id, target.slot);
  }

  private async applyRules(jobId: string, slot: number) {
    const { allow, names } = await this.host.tx(async (q) => ({ allow: await this.allowFrom(q, jobId), names: await this.hosts(q, jobId) }));
    await this.backend.setAllowedSources(slot, allow);
    await this.backend.setHosts(slot, names);
  }

  /** Asks a running job's process to stop; its end is recorded when the reaper sees it exit. */
  stop(jobId: string): void {
    this.signalled.add(jobId);
    this.backend.stop(jobId);
  }

  /** Gives each job whose process has ended its real outcome, and releases what it held. */
  async reap(): Promise<void> {
    const holding = await this.host.tx((q) =>
      q.query<RunnerRow>(`SELECT * FROM example_jobs WHERE slot IS NOT NULL AND (next_event IS DISTINCT FROM 'launching')`),
    );
    const now = Date.now();
    const full = now - this.lastFullLook >= FULL_LOOK_MS;
    if (full) this.lastFullLook = now;
    const ended: { row: RunnerRow; outcome: Outcome | 'lost' }[] = [];
    for (const row of holding) {
      if (this.launching.has(row.job_id)) continue;
      // The supervisor's exit.json wakes a job's watch; every FULL_LOOK_MS all are read anyway (a supervisor that
      // died without writing it, or an event the kernel dropped).
      const look = this.backend.mayHaveEnded(row.job_id) || full;
      const outcome = look ? this.backend.outcome(row.job_id) : null;
      if (outcome === null) {
        // A terminate or an expiry that another process recorded (a follower served the call, or this process was
        // restarted since): only the runner in the leader reaches the process, so it sends the stop.
        if (row.stop_reason !== null && !this.signalled.has(row.job_id)) this.stop(row.job_id);
        continue;
      }
      this.signalled.delete(row.job_id);
      ended.push({ row, outcome });
    }
    if (ended.length > 0) await this.finish(ended);
  }

  /**
   * Records each ended job's outcome, then releases what they held together: when hundreds end at once (a bulk
   * terminate), one network change for all of them instead of one each.
   */
  private async finish(ended: { row: RunnerRow; outcome: Outcome | 'lost' }[]) {
    const affected = new Map<string, number>();
    for (const { row, outcome } of ended) {
      for (const peer of await this.record(row, outcome)) affected.set(peer.job_id, peer.slot);
    }
    await this.backend.releaseMany(ended.map(({ row }) => ({ jobId: row.job_id, slot: row.slot })));
    // A peer that ended in the same batch has nothing left to update.
    for (const { row } of ended) affected.delete(row.job_id);
    for (const [jobId, slot] of affected) await this.applyRules(jobId, slot);
    for (const { row, outcome } of ended) this.host.log.info({ jobId: row.job_id, outcome }, 'example provider: job process ended');
    this.host.sendQueuedUpdates();
    this.collections?.add(ended.map(({ row }) => row.job_id));
  }

  /** The ended job's row and state, in one transaction; returns the running jobs that must hear of it. */
  private async record(row: RunnerRow, outcome: Outcome | 'lost') {
    return this.host.tx(async (q) => {
      const [current] = await q.query<RunnerRow>(`SELECT * FROM example_jobs WHERE job_id = $1 FOR UPDATE`, [row.job_id]);
      if (!current || current.slot === null) return [];
      // Who must hear of it: the jobs it linked to (they stop admitting it) and the jobs that reach it by name.
      const peers = await q.query<{ job_id: string; slot: number }>(
        `SELECT DISTINCT j.job_id, j.slot FROM example_peers p
           JOIN example_jobs j ON j.job_id = CASE WHEN p.job_id = $1 THEN p.peer_job_id ELSE p.job_id END
         WHERE (p.job_id = $1 OR p.peer_job_id = $1) AND j.slot IS NOT NULL`,
        [row.job_id],
      );
      await q.query(`UPDATE example_jobs SET slot = NULL, pid = NULL, address = NULL, output_pending = $2 WHERE job_id = $1`, [
        row.job_id,
        this.collections !== null,
      ]);
      if (current.state === 'RUNNING') {
        const [state, status] = this.verdict(current, outcome);
        await this.host.endJob(q, row.job_id, state, status);
      }
      return peers;
    });
  }

  /** Copies the ended job's output into its user's files, then sets the job's output folder to it. */
  private async collectOutput(jobId: string, signal: AbortSignal) {
    // The job's row and its owner's account in one transaction: null when nothing is left to copy.
    const found = await this.host.tx(async (q) => {
      const [job] = await q.query<Pick<RunnerRow, 'owner' | 'app_name'> & { output_task: string | null }>(
        `SELECT owner, app_name, output_task FROM example_jobs WHERE job_id = $1 AND output_pending`,
        [jobId],
      );
      return job ? { row: job, account: await this.account(q, job.owner) } : null;
    });
    if (!found || signal.aborted) return;
    const { row, account } = found;
    const area = await this.backend.area(row.owner, account);
    const result = await this.collector!.collect(
      {
        jobId,
        owner: row.owner,
        application: row.app_name,
        account: this.backend.switchesUsers ? account : null,
        workDir: this.backend.workDir(jobId),
        runDir: this.backend.runDir(jobId),
        area,
      },
      {
        signal,
        task: row.output_task,
        taskOpened: (task) => this.host.tx(async (q) => void (await q.query(`UPDATE example_jobs SET output_task = $2 WHERE job_id = $1`, [jobId, task]))),
      },
    );
    if (result.outcome === 'interrupted') return;
    await this.host.tx(async (q) => {
      await q.query(`UPDATE example_jobs SET output_pending = false, output_task = NULL WHERE job_id = $1`, [jobId]);
      if (result.outcome === 'collected') {
        await this.host.enqueue(q, [
          { jobId, update: { ...EMPTY_JOB_UPDATE, status: `Output copied to ${result.folder}`, outputFolder: result.folder } },
        ]);
      }
    });
    this.host.sendQueuedUpdates();
  }

  private verdict(row: RunnerRow, outcome: Outcome | 'lost'): [JobState, string] {
    if (row.stop_reason === 'terminate') return ['SUCCESS', text.terminated()];
    if (row.stop_reason === 'expire') return ['EXPIRED', text.expired(row.time_allocation_ms ?? 0)];
    if (row.stop_reason?.startsWith('expire-offline:')) {
      return ['EXPIRED', text.expiredWhileDown(row.time_allocation_ms ?? 0, Number(row.stop_reason.split(':')[1]))];
    }
    if (outcome === 'lost') return ['FAILURE', text.processLost()];
    if (outcome.error !== null) return ['FAILURE', text.couldNotStart(outcome.error)];
    const last = lastLine(path.join(this.backend.runDir(row.job_id), 'stderr.log'));
    if (outcome.signal !== null) return ['FAILURE', text.killedBySignal(outcome.signal, last)];
    if (outcome.code === 0) return ['SUCCESS', text.exited(0, null)];
    return ['FAILURE', text.exited(outcome.code ?? -1, last)];
  }
}

/** The last non-empty line a job wrote to stderr (at most 200 characters), to say why it failed. */
function lastLine(file: string): string | null {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 4096);
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, size - length);
      const line = buffer.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean).pop();
      return line ? line.slice(0, 200) : null;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}
