import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/index';
import { CALL_ID_HEADER, EMPTY_JOB_UPDATE, type Job, type JobUpdate } from '../../contract/jobs';
import type { SimpleDuration } from '../../contract/common';
import type { JobsService, ProviderGateway } from './service';
import { toJob, type JobRow } from './model';
import { CallQueue, type CallRow, type Op } from './call-queue';
import { whyOf, type HttpResult, type Transport } from '../provider/kit/transport';
import { Backoff } from '../provider/kit/backoff';
import { deliver, type Failure, type Outcome } from '../provider/kit/deliver';
import { InFlight } from '../provider/kit/in-flight';
import { itemsBody, prefixWithin } from '../provider/kit/bulk';
import { callIdsWithin } from '../provider/kit/call-ids';

/*
 * Core → provider (contract §5). Every call goes over HTTP with the `ucloud` service token, to a base URL per
 * provider, so a third-party provider can replace the built-in one. Calls are first written to
 * `provider_calls` (call-queue.ts), then delivered in order; a provider that fails or cannot be reached never fails
 * the user's request: the job gets a status line saying so and the call is retried with backoff.
 */

/** A provider that answers these has judged the request itself; sending it again cannot help. */
const REFUSAL = new Set([400, 409, 413, 422]);

/** A status line from the core itself: it never changes the state. */
export function statusLine(status: string): JobUpdate {
  return { ...EMPTY_JOB_UPDATE, status };
}

/**
 * The job as a provider receives it. A spec without a time allocation runs with the application's default,
 * which only the core's catalog knows; the provider is told the allocation in force.
 */
export function jobForProvider(row: JobRow): Job {
  const job = toJob(row);
  const ms = row.time_allocation_ms;
  if (job.specification.timeAllocation == null && ms !== null) {
    const seconds = Math.round(ms / 1000);
    job.specification = {
      ...job.specification,
      timeAllocation: { hours: Math.floor(seconds / 3600), minutes: Math.floor((seconds % 3600) / 60), seconds: seconds % 60 },
    };
  }
  return job;
}

const VERB: Record<Op, string> = { create: 'start', terminate: 'stop', extend: 'extend' };
const PATH: Record<Op, string> = { create: 'jobs', terminate: 'jobs/terminate', extend: 'jobs/extend' };

export interface GatewayOptions {
  db: Db;
  jobs: JobsService;
  /** The `ucloud` service token. */
  token: string;
  transportFor: (provider: string) => Transport;
  retryMs: number;
  retryMaxMs: number;
  /** This process's leader session (backend pid), which its claims live no longer than; null on PGlite. */
  session?: () => number | null;
  /** The transport's time limit for one call; a claim on a call lasts this long plus a margin. */
  timeoutMs?: number;
  log: FastifyBaseLogger;
}

/**
 * How soon a provider's queued calls go out: 'now' for calls a user just made (tried at once, even during a
 * backoff); 'unlessBackingOff' for a poll, a NOTIFY or a recovery, which must not cut a backoff short.
 */
type DeliveryUrgency = 'now' | 'unlessBackingOff';

interface ProviderQueue {
  running: Promise<void> | null;
  /** A delivery asked for while one runs, started when it ends; null: none asked for. */
  requestedWhileRunning: DeliveryUrgency | null;
  backoff: Backoff;
}

/** NOTIFY channel: a process that queued calls tells the leader which provider has work (payload: provider id). */
export const CALLS_CHANNEL = 'jobdeck_provider_calls';

/** How often the leader looks for queued calls it was not told about (a NOTIFY lost while reconnecting, an expired claim). */
const POLL_MS = 5_000;

/** A job younger than this may still have its create on the way into the queue; see start(). */
const RECOVER_AFTER_MS = 2_000;

export class HttpProviderGateway implements ProviderGateway {
  private readonly queues = new Map<string, ProviderQueue>();
  private readonly inFlight: InFlight;
  private readonly calls: CallQueue;
  private started = false;
  private stopped = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private recoverTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: GatewayOptions) {
    this.calls = new CallQueue(opts.db, opts.timeoutMs ?? 10_000, opts.session);
    this.inFlight = new InFlight((error) => opts.log.error({ err: error }, 'provider gateway error'));
  }

  created(jobs: Job[]): void {
    this.enqueue('create', jobs.map((job) => ({ job, payload: null })));
  }

  terminate(jobs: Job[]): void {
    this.enqueue('terminate', jobs.map((job) => ({ job, payload: null })));
  }

  extend(items: { job: Job; requestedTime: SimpleDuration }[]): void {
    this.enqueue('extend', items.map((i) => ({ job: i.job, payload: i.requestedTime })));
  }

  private enqueue(op: Op, items: { job: Job; payload: SimpleDuration | null }[]): void {
    if (items.length === 0) return;
    this.inFlight.track(
      (async () => {
        await this.calls.add(op, items.map((i) => ({ provider: i.job.specification.product.provider, jobId: Number(i.job.id), payload: i.payload })));
        for (const provider of new Set(items.map((i) => i.job.specification.product.provider))) {
          this.deliverQueued(provider);
          // The leader may be another process sharing the database.
          if (this.opts.db.kind === 'postgres') await this.opts.db.notify(CALLS_CHANNEL, JSON.stringify({ from: this.calls.claimant, provider }));
        }
      })(),
    );
  }

  /** Starts delivery, after queueing a create for any job left without one (see recover). */
  async start(): Promise<void> {
    this.started = true;
    this.stopped = false;
    await this.calls.releaseAllOnPglite();
    // A job committed a moment ago may have its create on the way into the queue (in this process, or in another
    // replica): only jobs older than RECOVER_AFTER_MS count as missing one, and a second look after that long
    // catches the younger ones, so a job being created while this process takes over is not sent twice.
    await this.inFlight.current();
    // A database error here (a takeover often follows a dropped connection) must not leave delivery half started:
    // the second look below and the polls carry on.
    await this.recover(RECOVER_AFTER_MS).catch((error) => this.opts.log.error({ err: error }, 'provider gateway: recovering missing creates failed'));
    this.recoverTimer = setTimeout(() => this.inFlight.track(this.recover(RECOVER_AFTER_MS)), RECOVER_AFTER_MS + 500);
    this.recoverTimer.unref?.();
    await this.poll().catch((error) => this.opts.log.error({ err: error }, 'provider gateway: reading the queue failed; will poll again'));
  }

  /** Starts delivery for every provider with queued calls, now and every POLL_MS while started. */
  private async poll(): Promise<void> {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.stopped) return;
    try {
      // A provider waiting out its backoff keeps waiting: the poll finds forgotten work, it does not retry sooner.
      for (const provider of await this.calls.providersWithCalls()) this.deliverQueued(provider, 'unlessBackingOff');
    } finally {
      if (!this.stopped) {
        this.pollTimer = setTimeout(() => this.inFlight.track(this.poll()), POLL_MS);
        this.pollTimer.unref?.();
      }
    }
  }

  /**
   * A crash (or a failed write) between a job's commit and its create being queued leaves an active job that
   * its provider never answered for and no call to make; queue a create for each, so no job waits forever.
   * Jobs younger than minAgeMs are skipped: their create may still be on its way into the queue.
   */
  async recover(minAgeMs: number): Promise<void> {
    if (this.stopped) return;
    const providers = await this.calls.addMissingCreates(minAgeMs);
    if (providers.length > 0) this.opts.log.warn({ jobs: providers.length }, 'provider gateway: queued creates that were missing');
    for (const provider of new Set(providers)) this.deliverQueued(provider, 'unlessBackingOff');
  }

  /** Stops delivery (this process is no longer the leader, or it is closing); start() resumes it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.recoverTimer) clearTimeout(this.recoverTimer);
    this.recoverTimer = null;
    for (const queue of this.queues.values()) queue.backoff.cancel();
    await Promise.all([this.inFlight.current(), ...[...this.queues.values()].map((q) => q.running)]);
  }

  /**
   * A NOTIFY on CALLS_CHANNEL: another process queued calls for a provider (delivery of this process's own has started already).
   * It does not cut a backoff short: NOTIFY channels are per database, so in a test run that gives each app a schema
   * of the same database, other apps' calls arrive here too.
   */
  notified(payload: string): void {
    let message: { from?: unknown; provider?: unknown };
    try {
      message = JSON.parse(payload) as typeof message;
    } catch {
      return;
    }
    if (message.from === this.calls.claimant || typeof message.provider !== 'string') return;
    this.deliverQueued(message.provider, 'unlessBackingOff');
  }

  /**
   * Delivers the provider's queued calls now, in the background; see DeliveryUrgency for what `urgency` changes
   * while the provider is waiting out a backoff.
   */
  deliverQueued(provider: string, urgency: DeliveryUrgency = 'now'): void {
    if (!this.started || this.stopped) return;
    let queue = this.queues.get(provider);
    if (!queue) {
      queue = { running: null, requestedWhileRunning: null, backoff: new Backoff(this.opts.retryMs, this.opts.retryMaxMs) };
      this.queues.set(provider, queue);
    }
    if (queue.running) {
      // Remembered for when this delivery ends; 'unlessBackingOff' then yields to a backoff that delivery started.
      if (queue.requestedWhileRunning !== 'now') queue.requestedWhileRunning = urgency;
      return;
    }
    if (urgency === 'unlessBackingOff' && queue.backoff.waiting) return;
    queue.backoff.cancel();
    const q = queue;
    q.running = this.drain(provider, q)
      .catch((error) => {
        // An unexpected failure (say, of the database) must not leave the queue idle until the next user action.
        this.opts.log.error({ err: error, provider }, 'provider gateway: delivery failed; will retry');
        this.retryLater(provider, q);
      })
      .finally(() => {
        q.running = null;
        const requested = q.requestedWhileRunning;
        q.requestedWhileRunning = null;
        if (requested) this.deliverQueued(provider, requested);
      });
  }

  /** Resolves when every queued call has been delivered or is waiting for a retry (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || [...this.queues.values()].some((q) => q.running)) {
      await Promise.all([this.inFlight.current(), ...[...this.queues.values()].map((q) => q.running)]);
    }
  }

  private async drain(provider: string, queue: ProviderQueue): Promise<void> {
    try {
      await this.drainClaimed(provider, queue);
    } finally {
      await this.calls.release(provider);
    }
  }

  private async drainClaimed(provider: string, queue: ProviderQueue): Promise<void> {
    while (!this.stopped) {
      const calls = await this.calls.claim(provider);
      if (calls.length === 0) {
        queue.backoff.reset();
        return;
      }
      // Calls go out in order, one bulk request per run of the same operation.
      const op = calls[0]!.op;
      const end = calls.findIndex((c) => c.op !== op);
      const run = end === -1 ? calls : calls.slice(0, end);
      if ((await this.deliverRun(provider, op, run)) === 'retry') {
        this.retryLater(provider, queue);
        return;
      }
      queue.backoff.reset();
    }
  }

  /** Counts a failure and delivers to the provider again after its backoff (not while stopped: start() resumes). */
  private retryLater(provider: string, queue: ProviderQueue) {
    if (this.stopped) {
      queue.backoff.fail();
      return;
    }
    const delay = queue.backoff.retryLater(() => this.deliverQueued(provider));
    this.opts.log.warn({ provider, attempts: queue.backoff.failures, retryInMs: Math.round(delay) }, 'provider call failed; will retry');
  }

  /** Sends the longest prefix of `run` that fits one request; on a refusal of several, each is tried alone. */
  private async deliverRun(provider: string, op: Op, run: CallRow[]): Promise<Outcome> {
    const rows = await this.opts.db.query<JobRow>(`SELECT * FROM jobs WHERE id = ANY($1::bigint[])`, [run.map((c) => c.job_id)]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const parts = new Map(
      run.map((call) => {
        const job = jobForProvider(byId.get(call.job_id)!);
        return [call.id, JSON.stringify(op === 'extend' ? { job, requestedTime: call.payload } : job)];
      }),
    );
    const count = Math.min(prefixWithin([...parts.values()]), callIdsWithin(run.map((c) => c.id)));
    return deliver(run.slice(0, count), {
      send: async (batch) => {
        // Never send once this process has stopped delivering, nor a call whose claim another process has taken.
        if (this.stopped || !(await this.calls.renew(batch))) return null;
        // Each item names its queued call, so the provider can tell a retry from a new call (see CALL_ID_HEADER).
        return this.opts.transportFor(provider)('POST', `/ucloud/${provider}/${PATH[op]}`, this.opts.token, itemsBody(batch.map((c) => parts.get(c.id)!)), {
          [CALL_ID_HEADER]: batch.map((c) => c.id).join(','),
        });
      },
      isRefusal: (status) => REFUSAL.has(status),
      delivered: (batch, result) => this.succeeded(provider, op, batch, result),
      refused: (call, result) => this.refused(provider, op, call, result),
      failed: (batch, failure) => this.failed(provider, batch, failure),
    });
  }

  private async succeeded(provider: string, op: Op, batch: CallRow[], result: HttpResult) {
    const responses = (result.body as { responses?: unknown[] } | null)?.responses;
    const generated = batch.map((_, i) => {
      const id = (responses?.[i] as { id?: unknown } | null | undefined)?.id;
      return typeof id === 'string' ? id : null;
    });
    await this.calls.answered(op, batch, generated);
    // Calls whose job was told of a failure are told it went through.
    const told = batch.filter((c) => c.last_error !== null);
    await this.appendStatus(
      provider,
      told.map((c) => ({
        id: c.job_id,
        status:
          c.attempts > 0
            ? `Provider '${provider}' answered after ${c.attempts + 1} attempts; the request to ${VERB[op]} the job went through.`
            : `Provider '${provider}' is answering again; the request to ${VERB[op]} the job went through.`,
      })),
    );
  }

  private async failed(provider: string, batch: CallRow[], failure: Failure): Promise<void> {
    // A call cut short by shutdown is delivered after the restart; it is no failure of the provider's.
    if (this.stopped) return;
    const what = failure.reached ? `failed (${whyOf(failure.result)})` : `could not be reached (${failure.message})`;
    // Every call waiting for this provider, not only those just tried, gets one line on its first failure: the
    // job shows what is wrong without a line per retry.
    const fresh = await this.calls.failed(provider, batch, what);
    await this.appendStatus(
      provider,
      fresh.map((c) => ({
        id: c.job_id,
        status: `Provider '${provider}' ${what} when asked to ${VERB[c.op]} the job. Jobdeck keeps retrying automatically.`,
      })),
    );
  }

  private async refused(provider: string, op: Op, call: CallRow, result: HttpResult) {
    await this.calls.refused(call);
    this.opts.log.warn({ provider, op, jobId: call.job_id, status: result.status }, 'provider refused a call');
    await this.appendStatus(provider, [
      { id: call.job_id, status: `Provider '${provider}' refused to ${VERB[op]} the job (${whyOf(result)}).` },
    ]);
  }

  private async appendStatus(provider: string, items: { id: number; status: string }[]) {
    if (items.length === 0) return;
    await this.opts.jobs.controlUpdate(provider, items.map((i) => ({ id: String(i.id), update: statusLine(i.status) })));
  }
}
