import type { Db, Queryable } from '../../db/index';
import type { JobUpdate } from '../../../contract/jobs';
import { Backoff } from './backoff';
import { deliver } from './deliver';
import { InFlight } from './in-flight';
import { whyOf, type Transport } from './transport';

/*
 * A provider's job updates to the core (contract §4), durable: each is written to the outbox table in the
 * transaction of the change it reports, so a crash between the change and its delivery loses neither. Delivery
 * sends them in order, up to 1000 per control/update; an update sent twice is harmless (state changes carry
 * expectedDifferentState, final states are sticky in the core). The core refuses a whole batch for one bad item
 * (400, or 404 for a job it does not have): that one is found and dropped, the rest go through. A core that cannot
 * be reached, or fails, is tried again with backoff.
 */

export interface Outgoing {
  jobId: string;
  update: JobUpdate;
}

export interface OutboxOptions {
  db: Db;
  /** The provider's outbox table: (id bigserial, job_id text, body jsonb, created_at bigint). */
  table: string;
  /** HTTP to the core. */
  core: Transport;
  /** The provider's own PROVIDER token. */
  token: string;
  retryMs: number;
  retryMaxMs: number;
  /** Prefix of the log lines ("example provider"). */
  name: string;
  log: { warn: (obj: object, msg: string) => void; error: (obj: object, msg: string) => void };
  /** Updates per control/update request; 1000 (the contract's bulk limit) by default. */
  batchSize?: number;
}

interface Row {
  id: number;
  job_id: string;
  body: JobUpdate;
}

/** The core judged the request: one of its items is bad. */
const REFUSAL = new Set([400, 404]);

export class Outbox {
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  private running = false;
  private stopped = false;
  private readonly backoff: Backoff;
  private readonly inFlight: InFlight;

  constructor(private readonly opts: OutboxOptions) {
    this.backoff = new Backoff(opts.retryMs, opts.retryMaxMs);
    this.inFlight = new InFlight((error) => opts.log.error({ err: error }, `${opts.name} error`));
  }

  /** Queues updates in the caller's transaction; sendQueued() sends them once it has committed. */
  async enqueue(q: Queryable, out: Outgoing[]): Promise<void> {
    if (out.length === 0) return;
    await q.query(
      `INSERT INTO ${this.opts.table} (job_id, body, created_at)
       SELECT j, b::jsonb, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(j, b, n) ORDER BY n`,
      [out.map((o) => o.jobId), out.map((o) => JSON.stringify(o.update)), Date.now()],
    );
  }

  /** Drops a job's queued updates (a provider that forgets a job has nothing left to say about it). */
  async drop(q: Queryable, jobId: string): Promise<void> {
    await q.query(`DELETE FROM ${this.opts.table} WHERE job_id = $1`, [jobId]);
  }

  /** Delivers from now on: what is queued at once, and what is queued later at each sendQueued(). */
  start(): void {
    this.running = true;
    this.stopped = false;
    this.sendQueued();
  }

  /** Sends what is queued, unless stopped or waiting out a backoff (then the retry sends it). */
  sendQueued(): void {
    if (!this.running || this.backoff.waiting) return;
    this.inFlight.track(this.flush());
  }

  /** Stops delivering; resolves when no delivery runs. The queue stays in the table for the next start. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    this.backoff.cancel();
    await this.inFlight.idle();
    if (this.flushing) await this.flushing;
  }

  /** Whether a delivery runs or is about to. */
  get busy(): boolean {
    return this.inFlight.size > 0 || this.flushing !== null;
  }

  /** Resolves when no delivery runs right now (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.flushing) await Promise.all([this.inFlight.current(), this.flushing]);
  }

  /** Sends queued updates to the core's control/update, in order; one delivery at a time, a second call joins it. */
  async flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = this.deliverAll().finally(() => {
      this.flushing = null;
      if (this.flushAgain && this.running) {
        this.flushAgain = false;
        this.sendQueued();
      }
    });
    return this.flushing;
  }

  private async deliverAll(): Promise<void> {
    while (!this.stopped) {
      const rows = await this.opts.db.query<Row>(
        `SELECT id, job_id, body FROM ${this.opts.table} ORDER BY id LIMIT ${this.opts.batchSize ?? 1000}`,
      );
      if (rows.length === 0) return;
      if ((await this.send(rows)) === 'retry') {
        this.retryLater();
        return;
      }
      this.backoff.reset();
    }
  }

  private send(rows: Row[]) {
    const { db, table, core, token, log, name } = this.opts;
    return deliver(rows, {
      send: (batch) =>
        core('POST', '/api/jobs/control/update', token, JSON.stringify({ items: batch.map((r) => ({ id: r.job_id, update: r.body })) })),
      isRefusal: (status) => REFUSAL.has(status),
      delivered: async (batch) => {
        await db.query(`DELETE FROM ${table} WHERE id = ANY($1::bigint[])`, [batch.map((r) => r.id)]);
      },
      refused: async (row, result) => {
        log.warn({ jobId: row.job_id, why: whyOf(result) }, `${name}: the core refused an update; dropped`);
        await db.query(`DELETE FROM ${table} WHERE id = $1`, [row.id]);
      },
      failed: async (_batch, failure) => {
        if (failure.reached) log.warn({ why: whyOf(failure.result) }, `${name}: control/update failed; will retry`);
        else log.warn({ error: failure.message }, `${name}: the core cannot be reached; will retry`);
      },
    });
  }

  private retryLater() {
    if (!this.running) return;
    this.backoff.retryLater(() => this.sendQueued());
  }
}
