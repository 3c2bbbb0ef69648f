import fp from 'fastify-plugin';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import crypto from 'node:crypto';
import os from 'node:os';
import type { Db } from '../db/index';
import { CALL_ID_HEADER, type Job, type JobUpdate } from '../../contract/jobs';
import type { SimpleDuration } from '../../contract/common';
import { FindByStringId } from '../../contract/common';
import { parseQuery } from '../http/parse';
import { HttpError } from '../http/errors';
import { principal } from '../auth/plugin';
import type { JobsService, ProviderGateway } from './service';
import { toJob, type JobRow } from './model';
import { VerifyLoop } from './verify';
import { whileLeader } from '../db/leader';
import { TransportError, fetchTransport, isSuccess, loopbackTransport, whyOf, type HttpResult, type Loopback, type Transport } from '../provider/kit/transport';
import { backoffDelay } from '../provider/kit/backoff';
import { itemsBody, prefixWithin } from '../provider/kit/bulk';
import { callIdsWithin } from '../provider/kit/call-ids';

/*
 * Core → provider (contract §5). Every call goes over HTTP with the `ucloud` service token, to a base URL per
 * provider, so a third-party provider can replace the built-in one. Calls are first written to
 * `provider_calls`, then delivered in order; a provider that fails or cannot be reached never fails the
 * user's request: the job gets a status line saying so and the call is retried with backoff.
 */

/** A provider that answers these has judged the request itself; sending it again cannot help. */
const REFUSAL = new Set([400, 409, 413, 422]);

/** A status line from the core itself: it never changes the state. */
export function statusLine(status: string): JobUpdate {
  return {
    state: null,
    status,
    outputFolder: null,
    expectedState: null,
    expectedDifferentState: null,
    newTimeAllocation: null,
    timestamp: 0,
  };
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

// ─── Gateway ───────────────────────────────────────────────────────────────────────────────────────────────

type Op = 'create' | 'terminate' | 'extend';

interface CallRow {
  id: number;
  provider: string;
  op: Op;
  job_id: number;
  payload: SimpleDuration | null;
  attempts: number;
  last_error: string | null;
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

interface ProviderQueue {
  running: Promise<void> | null;
  /**
   * Asked to deliver while a delivery was running: 'now' for calls a user just made (tried at once, even during a
   * backoff), 'soft' for a poll or a NOTIFY (which must not cut a backoff short), false for neither.
   */
  again: false | 'soft' | 'now';
  timer: NodeJS.Timeout | null;
  failures: number;
}

type Outcome = 'delivered' | 'retry';

/** NOTIFY channel: a process that queued calls tells the leader which provider has work (payload: provider id). */
export const CALLS_CHANNEL = 'jobdeck_provider_calls';

/** How often the leader looks for queued calls it was not told about (a NOTIFY lost while reconnecting, an expired claim). */
const POLL_MS = 5_000;

/** A job younger than this may still have its create on the way into the queue; see start(). */
const RECOVER_AFTER_MS = 2_000;

export class HttpProviderGateway implements ProviderGateway {
  private readonly queues = new Map<string, ProviderQueue>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private started = false;
  private stopped = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private recoverTimer: NodeJS.Timeout | null = null;
  /** Who holds a claim on a call (provider_calls.claimed_by): this gateway, in this process. */
  private readonly claimant = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
  /** A claim outlives one delivery attempt (the HTTP time limit) with room to spare; it is renewed before each send. */
  private readonly leaseMs: number;

  constructor(private readonly opts: GatewayOptions) {
    this.leaseMs = (opts.timeoutMs ?? 10_000) + 5_000;
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

  private track<T>(promise: Promise<T>): void {
    const tracked = promise.catch((error) => this.opts.log.error({ err: error }, 'provider gateway error'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private enqueue(op: Op, items: { job: Job; payload: SimpleDuration | null }[]): void {
    if (items.length === 0) return;
    this.track(
      (async () => {
        await this.opts.db.query(
          `INSERT INTO provider_calls (provider, op, job_id, payload, created_at)
           SELECT p, $1, j, d::jsonb, $5 FROM unnest($2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY AS t(p, j, d, n) ORDER BY n`,
          [op, items.map((i) => i.job.specification.product.provider), items.map((i) => Number(i.job.id)),
           items.map((i) => (i.payload ? JSON.stringify(i.payload) : null)), Date.now()],
        );
        for (const provider of new Set(items.map((i) => i.job.specification.product.provider))) {
          this.kick(provider);
          // The leader may be another process sharing the database.
          if (this.opts.db.kind === 'postgres') await this.opts.db.notify(CALLS_CHANNEL, JSON.stringify({ from: this.claimant, provider }));
        }
      })(),
    );
  }

  /** Starts delivery, after queueing a create for any job left without one (see recover). */
  async start(): Promise<void> {
    this.started = true;
    this.stopped = false;
    // PGlite has one process: a claim not made by this gateway was made by a process that is gone.
    if (this.opts.db.kind === 'pglite') {
      await this.opts.db.query(`UPDATE provider_calls SET claimed_by = NULL, claimed_session = NULL, claimed_until = NULL WHERE claimed_by IS NOT NULL`);
    }
    // A job committed a moment ago may have its create on the way into the queue (in this process, or in another
    // replica): only jobs older than RECOVER_AFTER_MS count as missing one, and a second look after that long
    // catches the younger ones. (Recovering at once queued a second create for a job being created through this
    // process while it took over: the leader test saw the provider receive it twice.)
    await Promise.all([...this.inFlight]);
    // A database error here (a takeover often follows a dropped connection) must not leave delivery half started:
    // the second look below and the polls carry on.
    await this.recover(RECOVER_AFTER_MS).catch((error) => this.opts.log.error({ err: error }, 'provider gateway: recovering missing creates failed'));
    this.recoverTimer = setTimeout(() => this.track(this.recover(RECOVER_AFTER_MS)), RECOVER_AFTER_MS + 500);
    this.recoverTimer.unref?.();
    await this.poll().catch((error) => this.opts.log.error({ err: error }, 'provider gateway: reading the queue failed; will poll again'));
  }

  /** Kicks every provider with queued calls, now and every POLL_MS while started. */
  private async poll(): Promise<void> {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.stopped) return;
    try {
      const providers = await this.opts.db.query<{ provider: string }>(`SELECT DISTINCT provider FROM provider_calls`);
      // A provider waiting out its backoff keeps waiting: the poll finds forgotten work, it does not retry sooner.
      for (const { provider } of providers) this.kick(provider, 'soft');
    } finally {
      if (!this.stopped) {
        this.pollTimer = setTimeout(() => this.track(this.poll()), POLL_MS);
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
    const now = Date.now();
    const rows = await this.opts.db.query<{ provider: string }>(
      `INSERT INTO provider_calls (provider, op, job_id, created_at)
       SELECT j.provider, 'create', j.id, $1 FROM jobs j
       WHERE j.state IN ('IN_QUEUE', 'RUNNING', 'SUSPENDED') AND j.provider_acked_at IS NULL AND j.created_at <= $2
         AND NOT EXISTS (SELECT 1 FROM provider_calls c WHERE c.job_id = j.id AND c.op = 'create')
       ORDER BY j.id
       RETURNING provider`,
      [now, now - minAgeMs],
    );
    if (rows.length > 0) this.opts.log.warn({ jobs: rows.length }, 'provider gateway: queued creates that were missing');
    for (const provider of new Set(rows.map((r) => r.provider))) this.kick(provider, 'soft');
  }

  /** Stops delivery (this process is no longer the leader, or it is closing); start() resumes it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.recoverTimer) clearTimeout(this.recoverTimer);
    this.recoverTimer = null;
    for (const queue of this.queues.values()) {
      if (queue.timer) clearTimeout(queue.timer);
      queue.timer = null;
    }
    await Promise.all([...this.inFlight, ...[...this.queues.values()].map((q) => q.running)]);
  }

  /**
   * A NOTIFY on CALLS_CHANNEL: another process queued calls for a provider (this process's own were kicked already).
   * It does not cut a backoff short: NOTIFY channels are per database, so in a test run that gives each app a schema
   * of the same database, other apps' calls arrive here too (the PostgreSQL leg saw extra retries from them).
   */
  notified(payload: string): void {
    let message: { from?: unknown; provider?: unknown };
    try {
      message = JSON.parse(payload) as typeof message;
    } catch {
      return;
    }
    if (message.from === this.claimant || typeof message.provider !== 'string') return;
    this.kick(message.provider, 'soft');
  }

  /**
   * Delivers the provider's queued calls now. `urgency` 'now' (a call the user just made) is tried at once, even
   * during a backoff; 'soft' (a poll, a NOTIFY, a recovery) leaves a provider that is waiting out its backoff alone.
   */
  kick(provider: string, urgency: 'now' | 'soft' = 'now'): void {
    if (!this.started || this.stopped) return;
    let queue = this.queues.get(provider);
    if (!queue) {
      queue = { running: null, again: false, timer: null, failures: 0 };
      this.queues.set(provider, queue);
    }
    if (queue.running) {
      // Remembered for when this delivery ends; a soft request then yields to a backoff that delivery started.
      if (queue.again !== 'now') queue.again = urgency;
      return;
    }
    if (urgency === 'soft' && queue.timer) return;
    if (queue.timer) clearTimeout(queue.timer);
    queue.timer = null;
    const q = queue;
    q.running = this.drain(provider, q)
      .catch((error) => {
        // An unexpected failure (say, of the database) must not leave the queue idle until the next user action.
        this.opts.log.error({ err: error, provider }, 'provider gateway: delivery failed; will retry');
        q.failures += 1;
        this.retryLater(provider, q);
      })
      .finally(() => {
        q.running = null;
        const again = q.again;
        q.again = false;
        if (again) this.kick(provider, again);
      });
  }

  /** Resolves when every queued call has been delivered or is waiting for a retry (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || [...this.queues.values()].some((q) => q.running)) {
      await Promise.all([...this.inFlight, ...[...this.queues.values()].map((q) => q.running)]);
    }
  }

  /**
   * Claims the head of a provider's queue (up to 1000 calls, in order) for this process, unless another process
   * holds a live claim on any of them: then nothing is claimed, and the queue is looked at again at the next poll.
   * FOR UPDATE makes two claimants take turns, so two live processes never both claim a call. A claim is live
   * until its lease ends, and no longer than its claimant's leader session: a process that died (its session is
   * gone) leaves nothing to wait for, and the new leader sends its calls again at once (at-least-once: a call the
   * dead process had already sent goes out twice; see server/provider/README.md).
   */
  private async claim(provider: string): Promise<CallRow[]> {
    const now = Date.now();
    const rows = await this.opts.db.query<CallRow>(
      `WITH head AS (
         SELECT id, claimed_by, claimed_session, claimed_until FROM provider_calls WHERE provider = $1 ORDER BY id LIMIT 1000 FOR UPDATE
       )
       UPDATE provider_calls c SET claimed_by = $2, claimed_session = $5, claimed_until = $4
       FROM head
       WHERE c.id = head.id
         AND NOT EXISTS (
           SELECT 1 FROM head h WHERE h.claimed_by IS DISTINCT FROM $2 AND h.claimed_until > $3
             AND (h.claimed_session IS NULL OR EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = h.claimed_session))
         )
       RETURNING c.*`,
      [provider, this.claimant, now, now + this.leaseMs, this.opts.session?.() ?? null],
    );
    return rows.sort((a, b) => a.id - b.id);
  }

  /** Renews this process's claim on `calls` just before sending them; false if any is no longer ours. */
  private async renew(calls: CallRow[]): Promise<boolean> {
    const rows = await this.opts.db.query(
      `UPDATE provider_calls SET claimed_until = $3 WHERE id = ANY($1::bigint[]) AND claimed_by = $2 RETURNING id`,
      [calls.map((c) => c.id), this.claimant, Date.now() + this.leaseMs],
    );
    return rows.length === calls.length;
  }

  /** Lets go of this process's claims on a provider's calls, so a new leader need not wait for them to expire. */
  private async release(provider: string): Promise<void> {
    await this.opts.db.query(
      `UPDATE provider_calls SET claimed_by = NULL, claimed_session = NULL, claimed_until = NULL WHERE provider = $1 AND claimed_by = $2`,
      [provider, this.claimant],
    );
  }

  private async drain(provider: string, queue: ProviderQueue): Promise<void> {
    try {
      await this.drainClaimed(provider, queue);
    } finally {
      await this.release(provider);
    }
  }

  private async drainClaimed(provider: string, queue: ProviderQueue): Promise<void> {
    while (!this.stopped) {
      const calls = await this.claim(provider);
      if (calls.length === 0) {
        queue.failures = 0;
        return;
      }
      // Calls go out in order, one bulk request per run of the same operation.
      const op = calls[0]!.op;
      const end = calls.findIndex((c) => c.op !== op);
      const run = end === -1 ? calls : calls.slice(0, end);
      if ((await this.deliver(provider, op, run)) === 'retry') {
        queue.failures += 1;
        this.retryLater(provider, queue);
        return;
      }
      queue.failures = 0;
    }
  }

  private retryLater(provider: string, queue: ProviderQueue) {
    if (this.stopped) return;
    const delay = backoffDelay(queue.failures, this.opts.retryMs, this.opts.retryMaxMs);
    if (queue.timer) clearTimeout(queue.timer);
    queue.timer = setTimeout(() => {
      queue.timer = null;
      this.kick(provider);
    }, delay);
    queue.timer.unref?.();
    this.opts.log.warn({ provider, attempts: queue.failures, retryInMs: Math.round(delay) }, 'provider call failed; will retry');
  }

  /** Sends the longest prefix of `run` that fits one request; on a refusal of several, each is tried alone. */
  private async deliver(provider: string, op: Op, run: CallRow[]): Promise<Outcome> {
    const rows = await this.opts.db.query<JobRow>(`SELECT * FROM jobs WHERE id = ANY($1::bigint[])`, [run.map((c) => c.job_id)]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const parts = run.map((call) => {
      const job = jobForProvider(byId.get(call.job_id)!);
      return JSON.stringify(op === 'extend' ? { job, requestedTime: call.payload } : job);
    });
    const count = Math.min(prefixWithin(parts), callIdsWithin(run.map((c) => c.id)));
    const batch = run.slice(0, count);
    // Never send once this process has stopped delivering, nor a call whose claim another process has taken.
    if (this.stopped || !(await this.renew(batch))) return 'retry';
    let result: HttpResult;
    try {
      // Each item names its queued call, so the provider can tell a retry from a new call (see CALL_ID_HEADER).
      result = await this.opts.transportFor(provider)('POST', `/ucloud/${provider}/${PATH[op]}`, this.opts.token, itemsBody(parts.slice(0, count)), {
        [CALL_ID_HEADER]: batch.map((c) => c.id).join(','),
      });
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      return this.failed(provider, op, batch, `could not be reached (${error.message})`);
    }
    if (isSuccess(result.status)) {
      await this.succeeded(provider, op, batch, result);
      return 'delivered';
    }
    if (!REFUSAL.has(result.status)) return this.failed(provider, op, batch, `failed (${whyOf(result)})`);
    if (batch.length > 1) {
      // Nothing in a bulk request is half-applied, so one bad item refuses them all: find it.
      for (const call of batch) {
        if ((await this.deliver(provider, op, [call])) === 'retry') return 'retry';
      }
      return 'delivered';
    }
    await this.refused(provider, op, batch[0]!, result);
    return 'delivered';
  }

  private async succeeded(provider: string, op: Op, batch: CallRow[], result: HttpResult) {
    const ids = batch.map((c) => c.job_id);
    const responses = (result.body as { responses?: unknown[] } | null)?.responses;
    const generated = batch.map((_, i) => {
      const id = (responses?.[i] as { id?: unknown } | null | undefined)?.id;
      return typeof id === 'string' ? id : null;
    });
    await this.opts.db.tx(async (q) => {
      await q.query(`DELETE FROM provider_calls WHERE id = ANY($1::bigint[])`, [batch.map((c) => c.id)]);
      if (op === 'create') {
        await q.query(
          `UPDATE jobs j SET provider_acked_at = $3, provider_generated_id = COALESCE(t.gen, j.provider_generated_id)
           FROM unnest($1::bigint[], $2::text[]) AS t(id, gen) WHERE j.id = t.id`,
          [ids, generated, Date.now()],
        );
      }
    });
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

  private async failed(provider: string, op: Op, batch: CallRow[], what: string): Promise<Outcome> {
    // A call cut short by shutdown is delivered after the restart; it is no failure of the provider's.
    if (this.stopped) return 'retry';
    // Every call waiting for this provider, not only those just tried, gets one line on its first failure: the
    // job shows what is wrong without a line per retry.
    const fresh = await this.opts.db.query<{ job_id: number; op: Op }>(
      `UPDATE provider_calls SET last_error = $2 WHERE provider = $1 AND last_error IS NULL RETURNING job_id, op, id`,
      [provider, what],
    );
    await this.opts.db.query(
      `UPDATE provider_calls SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`,
      [batch.map((c) => c.id), what],
    );
    await this.appendStatus(
      provider,
      fresh.map((c) => ({
        id: c.job_id,
        status: `Provider '${provider}' ${what} when asked to ${VERB[c.op]} the job. Jobdeck keeps retrying automatically.`,
      })),
    );
    return 'retry';
  }

  private async refused(provider: string, op: Op, call: CallRow, result: HttpResult) {
    await this.opts.db.tx(async (q) => {
      await q.query(`DELETE FROM provider_calls WHERE id = $1`, [call.id]);
      // The provider has answered for the job, so verify now asks it about the job and it decides its fate;
      // the core never fails a job by itself.
      if (op === 'create') await q.query(`UPDATE jobs SET provider_acked_at = $2 WHERE id = $1`, [call.job_id, Date.now()]);
    });
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

// ─── Wiring ────────────────────────────────────────────────────────────────────────────────────────────────

export interface ProviderGatewayPluginOptions {
  loopback: Loopback;
}

/**
 * The core's side of contract §5: the gateway, the verify loop and the user's firewall view. Loops start
 * when the app is ready (inject) or listening (http), and stop before it closes.
 */
export const providerGatewayPlugin = fp(async (app: FastifyInstance, opts: ProviderGatewayPluginOptions) => {
  const { db, config, jobs, credentials } = app.services;
  const loopback = loopbackTransport(app, opts.loopback, config.providerTimeoutMs);
  const transports = new Map<string, Transport>();
  const transportFor = (provider: string): Transport => {
    let transport = transports.get(provider);
    if (!transport) {
      const url = config.providerUrls[provider];
      transport = url ? fetchTransport(url, config.providerTimeoutMs) : loopback;
      transports.set(provider, transport);
    }
    return transport;
  };

  const gateway = new HttpProviderGateway({
    db,
    jobs,
    token: credentials.ucloud,
    transportFor,
    retryMs: config.providerRetryMs,
    retryMaxMs: config.providerRetryMaxMs,
    timeoutMs: config.providerTimeoutMs,
    session: () => app.services.leader.session(),
    log: app.log,
  });
  jobs.gateway = gateway;
  const verify = new VerifyLoop({
    db,
    intervalMs: config.verifyIntervalMs,
    token: credentials.ucloud,
    transportFor,
    log: app.log,
    // Each sweep also catches any job whose create never made it into the queue.
    beforeSweep: () => gateway.recover(60_000),
  });
  app.services.providers = { gateway, verify, transportFor };

  // Delivery and verify run in the leader only (server/db/leader.ts); any process may queue calls.
  const loops = whileLeader(
    app.services.leader,
    {
      start: async () => {
        verify.start();
        await gateway.start();
      },
      stop: async () => {
        await verify.stop();
        await gateway.stop();
      },
    },
    (error) => app.log.error({ err: error }, 'provider gateway: starting or stopping failed'),
  );
  const unlisten = db.kind === 'postgres' ? await db.listen(CALLS_CHANNEL, (payload) => gateway.notified(payload)) : null;
  app.addHook(opts.loopback === 'http' ? 'onListen' : 'onReady', () => loops.enable());
  app.addHook('preClose', async () => {
    await loops.disable();
    await unlisten?.();
  });

  // Extension: who may connect to the caller's job, as its provider's firewall has it (server/provider/README.md).
  app.get('/api/jobs/firewall', { config: { roles: ['USER'] } }, async (request) => {
    const { id } = parseQuery(FindByStringId, request.query);
    const job = await jobs.retrieve(principal(request).username, id, false);
    const provider = job.specification.product.provider;
    let result: HttpResult;
    try {
      result = await transportFor(provider)('GET', `/ucloud/${provider}/jobs/firewall?id=${encodeURIComponent(id)}`, credentials.ucloud);
    } catch (error) {
      throw new HttpError(502, `Provider '${provider}' could not be reached (${(error as Error).message}); try again shortly`);
    }
    // A provider that does not know the job has no rule for it: everything is denied.
    if (result.status === 404) return { jobId: id, allowsFrom: [], resolves: [] };
    if (!isSuccess(result.status)) throw new HttpError(502, `Provider '${provider}' could not show its firewall (${whyOf(result)})`);
    return result.body;
  });
});
