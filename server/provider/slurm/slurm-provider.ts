import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Db, Queryable } from '../../db/index';
import type { Job } from '../../../contract/jobs';
import { durationToMillis, type SimpleDuration } from '../../../contract/common';
import type { Catalog } from '../../catalog/catalog';
import { AppliedCalls } from '../kit/call-ids';
import { InFlight } from '../kit/in-flight';
import { Outbox, type Outgoing } from '../kit/outbox';
import type { Transport } from '../kit/transport';
import { stateUpdate, statusUpdate, unknownJobUpdate, update } from '../job-state';
import { SlurmRefused, SlurmUnreachable, type SlurmClient, type SlurmJob } from './client';
import { Offering, SLURM_PROVIDER_ID } from './products';
import { jobAccount, resolveFiles } from './files';
import { ScriptError, jobDirOf, minutesOf, outputFilesIn, slurmJobName, submitRequest } from './script';
import { isPending, observe, pendingStatus } from './states';
import { ACTIVE, SlurmStore, type SlurmJobRow } from './store';
import { lastLine, text } from './messages';

/*
 * The `slurm` provider: Jobdeck's jobs as batch jobs of a Slurm cluster, through slurmrestd. Like `example`, it knows
 * jobs only from the provider API, keeps its own state (store.ts), and reports to the core only over HTTP with its own
 * PROVIDER token (control/update through the kit's outbox, its products through products/control/register). The
 * cluster is the scheduler: this only submits, cancels, and reads states back, once per poll for all of its jobs.
 */

export interface SlurmProviderOptions {
  db: Db;
  core: Transport;
  token: string;
  log: FastifyBaseLogger;
  client: SlurmClient;
  catalog: Catalog;
  /** The jobs' work folders (their output), on a file system the compute nodes share. */
  workDir: string;
  pollMs: number;
  retryMs: number;
  retryMaxMs: number;
  /** How long the start-up probe waits for its job to run. */
  probeWaitMs?: number;
  /** How often the partitions are read again (config slurmProductsMs). */
  productsMs: number;
}

const CALL_RETENTION_MS = 7 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;

export class SlurmProvider {
  private readonly outbox: Outbox;
  private readonly calls: AppliedCalls;
  private readonly store: SlurmStore;
  private readonly inFlight: InFlight;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private running = false;
  private instance = '';
  /** Whether the last look at the cluster got an answer (null: not looked yet). */
  private reachable: boolean | null = null;
  private readonly offering: Offering;
  /** How many GET /jobs the provider has made (the bench and the tests read it: one per poll, whatever the jobs). */
  listings = 0;
  /** How many verify requests it has answered (the lost-job test counts sweeps, not seconds). */
  verifies = 0;

  constructor(private readonly opts: SlurmProviderOptions) {
    const { db, core, token, log } = opts;
    const name = 'slurm provider';
    this.outbox = new Outbox({ db, table: 'slurm_outbox', core, token, retryMs: opts.retryMs, retryMaxMs: opts.retryMaxMs, name, log });
    this.calls = new AppliedCalls({ db, table: 'slurm_applied_calls', retentionMs: CALL_RETENTION_MS, pruneEveryMs: PRUNE_EVERY_MS, name, log });
    this.store = new SlurmStore(db, this.outbox);
    this.inFlight = new InFlight((error) => log.error({ err: error }, 'slurm provider error'));
    this.offering = new Offering({
      client: opts.client,
      core,
      token,
      log,
      store: this.store,
      probeWaitMs: opts.probeWaitMs,
      refreshMs: opts.productsMs,
      track: (work) => this.inFlight.track(work),
      running: () => this.running,
      jobUidKnown: () => this.pollInBackground(),
    });
  }

  async create(jobs: Job[], callIds?: string[]): Promise<{ id: string }[]> {
    this.opts.log.info({ received: 'create', jobIds: jobs.map((j) => j.id) }, 'slurm provider: create received');
    const now = Date.now();
    await this.store.tx(async (q) => {
      const isNewCall = await this.calls.recordCalls(q, 'create', jobs.map((j) => j.id), callIds);
      await this.store.insert(q, jobs.filter((_, i) => isNewCall[i]).map((job) => ({
        job_id: job.id,
        owner: job.owner.createdBy,
        app_name: job.specification.application.name,
        partition: job.specification.product.id,
        state: 'IN_QUEUE',
        time_allocation_ms: job.specification.timeAllocation ? durationToMillis(job.specification.timeAllocation) : null,
        spec: job,
        received_at: now,
      })));
    });
    this.pollInBackground();
    return jobs.map((job) => ({ id: job.id }));
  }

  async terminate(jobs: Job[], callIds?: string[]): Promise<void> {
    this.opts.log.info({ received: 'terminate', jobIds: jobs.map((j) => j.id) }, 'slurm provider: terminate received');
    const cancel: number[] = [];
    await this.store.tx(async (q) => {
      const ids = jobs.map((j) => j.id);
      const isNewCall = await this.calls.recordCalls(q, 'terminate', ids, callIds);
      const rows = await this.store.rows(q, ids.filter((_, i) => isNewCall[i]));
      const out: Outgoing[] = [];
      const known = new Set(rows.map((r) => r.job_id));
      for (const id of ids.filter((id, i) => isNewCall[i] && !known.has(id))) out.push({ jobId: id, update: unknownJobUpdate() });
      const changed = rows.filter((r) => ACTIVE.includes(r.state));
      for (const row of changed) {
        row.cancel_requested = true;
        if (row.slurm_id !== null) {
          // Its end is read from the cluster: CANCELLED, which the flag makes "Terminated by user".
          cancel.push(row.slurm_id);
          continue;
        }
        row.state = 'SUCCESS';
        row.status = 'Terminated by user';
        row.ended_at = Date.now();
        out.push({ jobId: row.job_id, update: stateUpdate('SUCCESS', row.status) });
      }
      await this.store.save(q, changed);
      await this.store.enqueue(q, out);
    });
    this.outbox.sendQueued();
    await this.cancelAll(cancel);
    this.pollInBackground();
  }

  async extend(items: { job: Job; requestedTime: SimpleDuration }[], callIds?: string[]): Promise<void> {
    this.opts.log.info({ received: 'extend', jobIds: items.map((i) => i.job.id) }, 'slurm provider: extend received');
    const rows = await this.store.tx(async (q) => {
      const isNewCall = await this.calls.recordCalls(q, 'extend', items.map((i) => i.job.id), callIds);
      return this.store.rows(q, items.filter((_, i) => isNewCall[i]).map((i) => i.job.id));
    });
    for (const item of items) {
      const row = rows.find((r) => r.job_id === item.job.id);
      if (!row || !ACTIVE.includes(row.state)) continue;
      const by = durationToMillis(item.requestedTime);
      let line: Outgoing;
      try {
        if (row.slurm_id === null) throw new SlurmRefused(409, [{ error: 'the job has not been submitted yet; try again in a moment' }]);
        const current = row.time_allocation_ms ?? ((await this.opts.client.job(row.slurm_id))?.time_limit ?? 0) * 60_000;
        const total = minutesOf(current + by) * 60_000;
        await this.opts.client.setTimeLimit(row.slurm_id, total / 60_000);
        row.time_allocation_ms = total;
        line = { jobId: row.job_id, update: update({ status: text.extended(by, total), newTimeAllocation: total }) };
      } catch (error) {
        if (!(error instanceof SlurmRefused) && !(error instanceof SlurmUnreachable)) throw error;
        line = { jobId: row.job_id, update: statusUpdate(text.notExtended(error.message)) };
      }
      await this.store.tx(async (q) => {
        await q.query(`UPDATE slurm_jobs SET time_allocation_ms = $2 WHERE job_id = $1`, [row.job_id, row.time_allocation_ms]);
        await this.store.enqueue(q, [line]);
      });
    }
    this.outbox.sendQueued();
  }

  /**
   * Seed 000, for real: a job this provider never had, or one the cluster no longer knows (purged, or its controller
   * restarted with its state lost), is FAILURE "Your job is no longer available". A cluster that cannot be reached
   * fails nothing: it is asked again next time.
   */
  async verify(jobs: Job[]): Promise<void> {
    this.verifies++;
    const ids = [...new Set(jobs.map((j) => j.id))];
    const rows = await this.store.rows(this.opts.db, ids);
    const known = new Set(rows.map((r) => r.job_id));
    const unknown = ids.filter((id) => !known.has(id));
    const submitted = rows.filter((r) => ACTIVE.includes(r.state) && r.slurm_id !== null);
    let lost: string[] = [];
    if (submitted.length > 0) {
      try {
        const listing = await this.list();
        lost = submitted.filter((r) => !this.find(listing, r)).map((r) => r.job_id);
      } catch (error) {
        if (!(error instanceof SlurmUnreachable)) throw error;
        this.opts.log.warn({ error: error.message }, 'slurm provider: verify could not reach the cluster; no job is failed');
      }
    }
    if (unknown.length + lost.length === 0) return;
    this.opts.log.info({ unknown: unknown.length, lost: lost.length }, 'slurm provider: verify found jobs that are no longer available');
    await this.store.tx(async (q) => {
      const now = Date.now();
      const gone = (await this.store.rows(q, lost)).filter((r) => ACTIVE.includes(r.state));
      for (const row of gone) Object.assign(row, { state: 'FAILURE', status: unknownJobUpdate().status, ended_at: now });
      await this.store.save(q, gone);
      await this.store.enqueue(q, [...unknown, ...gone.map((r) => r.job_id)].map((jobId) => ({ jobId, update: unknownJobUpdate() })));
    });
    this.outbox.sendQueued();
  }

  /** The provider's own view of a job (GET /ucloud/slurm/jobs/retrieve); null if it does not know it. */
  async describe(jobId: string) {
    const [row] = await this.store.rows(this.opts.db, [jobId]);
    if (!row) return null;
    const { job_id, owner, state, status, slurm_id, slurm_state, pending_reason, partition, time_allocation_ms } = row;
    return { jobId: job_id, owner, state, status, slurmJobId: slurm_id, slurmState: slurm_state, pendingReason: pending_reason, partition, timeAllocationMs: time_allocation_ms, slurmName: slurmJobName(this.instance, job_id) };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.instance = await this.store.settingOnce('instance', crypto.randomBytes(4).toString('hex'));
    await this.offering.load();
    // As root the folder can be entered by the jobs' account, not listed; each job's own folder is theirs alone.
    // chmod as well: the server runs with umask 077 (server/main.ts), which would leave mkdir's 0711 at 0700.
    const workMode = process.getuid?.() === 0 ? 0o711 : 0o700;
    await fsp.mkdir(this.opts.workDir, { recursive: true, mode: workMode });
    await fsp.chmod(this.opts.workDir, workMode);
    this.outbox.start();
    const loop = () => {
      this.timer = setTimeout(() => {
        this.inFlight.track(this.poll().finally(() => this.running && loop()));
        this.inFlight.track(this.calls.prune().then(() => undefined));
      }, this.opts.pollMs);
      this.timer.unref?.();
    };
    loop();
    this.pollInBackground();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const outboxStopped = this.outbox.stop();
    await this.inFlight.idle();
    if (this.polling) await this.polling;
    await outboxStopped;
  }

  /** Resolves when nothing is being processed or delivered right now (tests). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.polling || this.outbox.busy) {
      await Promise.all([this.inFlight.current(), this.polling, this.outbox.settled()]);
    }
  }

  private pollInBackground() {
    if (this.running) this.inFlight.track(this.poll());
  }

  /** One look at the cluster: products until registered, submissions, cancels, and every job's state, from one listing. */
  poll(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.pollOnce().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    let listing: SlurmJob[];
    try {
      listing = await this.list();
    } catch (error) {
      if (!(error instanceof SlurmUnreachable)) throw error;
      await this.sayReachable(false, error.message);
      return;
    }
    await this.sayReachable(true);
    await this.offering.offer(this.instance);
    // As root, each job's folder is made the jobs' account's: not before the probe has said which account that is.
    if (this.offering.jobUid !== null || process.getuid?.() !== 0) await this.submitWaiting(listing);
    await this.apply(listing);
  }

  private async list(): Promise<SlurmJob[]> {
    this.listings++;
    const prefix = `jobdeck-${this.instance}-`;
    return (await this.opts.client.jobs()).filter((j) => j.name.startsWith(prefix));
  }

  /** The cluster's job for a row: its id and its name must both match (ids start again after a controller's state is lost). */
  private find(listing: SlurmJob[], row: SlurmJobRow): SlurmJob | undefined {
    const name = slurmJobName(this.instance, row.job_id);
    return listing.find((j) => j.job_id === row.slurm_id && j.name === name);
  }

  private async sayReachable(ok: boolean, why = ''): Promise<void> {
    const before = this.reachable;
    this.reachable = ok;
    if (ok ? before !== false : before === false) return;
    if (!ok) this.opts.log.warn({ error: why, where: this.opts.client.where }, 'slurm provider: the cluster cannot be reached');
    const line = ok ? text.reachable() : text.unreachable(this.opts.client.where, why);
    await this.store.tx(async (q) => {
      const rows = await this.store.active(q);
      await this.store.enqueue(q, rows.map((r) => ({ jobId: r.job_id, update: statusUpdate(line) })));
    });
    this.outbox.sendQueued();
  }

  private async cancelAll(ids: number[]): Promise<void> {
    for (const id of ids) {
      try {
        await this.opts.client.cancel(id);
      } catch (error) {
        if (!(error instanceof SlurmUnreachable) && !(error instanceof SlurmRefused)) throw error;
        // The flag stays: the next poll that reaches the cluster cancels it again.
        this.opts.log.warn({ slurmId: id, error: error.message }, 'slurm provider: cancel failed; will retry');
      }
    }
  }

  /** Submits the jobs that are not on the cluster yet (adopting one a crash left submitted but unrecorded). */
  private async submitWaiting(listing: SlurmJob[]): Promise<void> {
    const waiting = (await this.store.active()).filter((r) => r.slurm_id === null && !r.cancel_requested);
    for (const row of waiting) {
      const name = slurmJobName(this.instance, row.job_id);
      const adopted = listing.find((j) => j.name === name);
      let outcome: { slurmId: number } | { failed: string } | null;
      try {
        outcome = adopted ? { slurmId: adopted.job_id } : { slurmId: await this.submit(row) };
      } catch (error) {
        if (error instanceof SlurmUnreachable) return; // next poll
        if (!(error instanceof SlurmRefused) && !(error instanceof ScriptError)) throw error;
        outcome = { failed: error.message };
      }
      await this.store.tx(async (q) => {
        const [current] = await this.store.rows(q, [row.job_id]);
        if (!current || !ACTIVE.includes(current.state)) return;
        if ('failed' in outcome) {
          Object.assign(current, { state: 'FAILURE', status: text.notSubmitted(outcome.failed), submit_error: outcome.failed, ended_at: Date.now() });
          await this.store.enqueue(q, [{ jobId: row.job_id, update: stateUpdate('FAILURE', current.status!) }]);
        } else {
          current.slurm_id = outcome.slurmId;
          current.status = text.submitted(outcome.slurmId, current.partition, current.time_allocation_ms);
          await this.store.enqueue(q, [{ jobId: row.job_id, update: statusUpdate(current.status) }]);
        }
        await this.store.save(q, [current]);
      });
    }
    if (waiting.length > 0) this.outbox.sendQueued();
  }

  private async submit(row: SlurmJobRow): Promise<number> {
    const account = jobAccount(this.offering.jobUid);
    const files = await resolveFiles(row.spec, this.opts.catalog, path.join(this.opts.workDir, 'storage'), account);
    const request = submitRequest(row.spec, row.time_allocation_ms, { catalog: this.opts.catalog, workDir: this.opts.workDir, instance: this.instance }, files);
    const dir = jobDirOf(this.opts.workDir, row.job_id);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    // The job runs as the cluster's account for it (slurmrestd's): its folder is theirs, and nobody else's.
    if (account) await fsp.chown(dir, account.uid, account.gid);
    return this.opts.client.submit(request);
  }

  /** Reads every active job's state from the listing; changes and pending reasons become updates, in one transaction. */
  private async apply(listing: SlurmJob[]): Promise<void> {
    const cancelAgain: number[] = [];
    await this.store.tx(async (q: Queryable) => {
      const rows = (await this.store.active(q)).filter((r) => r.slurm_id !== null);
      const out: Outgoing[] = [];
      const changed: SlurmJobRow[] = [];
      for (const row of rows) {
        const job = this.find(listing, row);
        // Not listed: verify decides (a job the cluster has lost is "no longer available").
        if (!job) continue;
        const files = outputFilesIn(this.opts.workDir, row.job_id);
        const seen = observe(job, { cancelRequested: row.cancel_requested, timeAllocationMs: row.time_allocation_ms }, () => lastLine(files.stderr));
        const before = JSON.stringify([row.state, row.slurm_state, row.pending_reason]);
        row.slurm_state = job.job_state;
        if (seen === null) {
          // 'None' is Slurm's "no reason yet": the job is about to be looked at; nothing worth a line.
          if (isPending(job) && job.state_reason !== 'None' && job.state_reason !== row.pending_reason) {
            row.pending_reason = job.state_reason;
            out.push({ jobId: row.job_id, update: statusUpdate(pendingStatus(job.partition, job.state_reason)) });
          }
        } else if (seen.state !== row.state) {
          row.state = seen.state;
          row.status = seen.status;
          row.pending_reason = null;
          if (!ACTIVE.includes(seen.state)) row.ended_at = Date.now();
          out.push({ jobId: row.job_id, update: stateUpdate(seen.state, seen.status) });
        }
        if (row.cancel_requested && ACTIVE.includes(row.state)) cancelAgain.push(row.slurm_id!);
        if (JSON.stringify([row.state, row.slurm_state, row.pending_reason]) !== before) changed.push(row);
      }
      await this.store.save(q, changed);
      await this.store.enqueue(q, out);
    });
    this.outbox.sendQueued();
    await this.cancelAll(cancelAgain);
  }
}

export { SLURM_PROVIDER_ID };
