import crypto from 'node:crypto';
import os from 'node:os';
import type { Db } from '../db/index';
import type { SimpleDuration } from '../../contract/common';

/*
 * The core's queue of calls to providers (provider_calls): create, terminate and extend, written when the user
 * asks and deleted once the provider has answered. Before a call is sent it is claimed (claimed_by,
 * claimed_session, claimed_until; migration 006), so two live processes never send the same call; a claim ends
 * with its lease or with its claimant's leader session.
 */

export type Op = 'create' | 'terminate' | 'extend';

export interface CallRow {
  id: number;
  provider: string;
  op: Op;
  job_id: number;
  payload: SimpleDuration | null;
  attempts: number;
  last_error: string | null;
}

export interface QueuedCall {
  provider: string;
  jobId: number;
  payload: SimpleDuration | null;
}

/** A claim outlives one delivery attempt (the HTTP time limit) with room to spare; it is renewed before each send. */
const LEASE_MARGIN_MS = 5_000;

export class CallQueue {
  /** Who holds a claim on a call (provider_calls.claimed_by): this queue, in this process. */
  readonly claimant = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
  private readonly leaseMs: number;

  constructor(
    private readonly db: Db,
    /** The transport's time limit for one call. */
    timeoutMs: number,
    /** This process's leader session (backend pid), which its claims live no longer than; null on PGlite. */
    private readonly session: () => number | null = () => null,
  ) {
    this.leaseMs = timeoutMs + LEASE_MARGIN_MS;
  }

  /** Queues calls, in order. */
  async add(op: Op, calls: QueuedCall[]): Promise<void> {
    await this.db.query(
      `INSERT INTO provider_calls (provider, op, job_id, payload, created_at)
       SELECT p, $1, j, d::jsonb, $5 FROM unnest($2::text[], $3::bigint[], $4::text[]) WITH ORDINALITY AS t(p, j, d, n) ORDER BY n`,
      [op, calls.map((c) => c.provider), calls.map((c) => c.jobId), calls.map((c) => (c.payload ? JSON.stringify(c.payload) : null)), Date.now()],
    );
  }

  /** PGlite has one process: a claim not made by this queue was made by a process that is gone. */
  async releaseAllOnPglite(): Promise<void> {
    if (this.db.kind !== 'pglite') return;
    await this.db.query(`UPDATE provider_calls SET claimed_by = NULL, claimed_session = NULL, claimed_until = NULL WHERE claimed_by IS NOT NULL`);
  }

  async providersWithCalls(): Promise<string[]> {
    const rows = await this.db.query<{ provider: string }>(`SELECT DISTINCT provider FROM provider_calls`);
    return rows.map((r) => r.provider);
  }

  /**
   * Queues a create for each active job that its provider never answered for and that has no create queued (a
   * crash, or a failed write, between the job's commit and its call); the providers concerned. Jobs younger than
   * minAgeMs are skipped: their create may still be on its way into the queue.
   */
  async addMissingCreates(minAgeMs: number): Promise<string[]> {
    const now = Date.now();
    const rows = await this.db.query<{ provider: string }>(
      `INSERT INTO provider_calls (provider, op, job_id, created_at)
       SELECT j.provider, 'create', j.id, $1 FROM jobs j
       WHERE j.state IN ('IN_QUEUE', 'RUNNING', 'SUSPENDED') AND j.provider_acked_at IS NULL AND j.created_at <= $2
         AND NOT EXISTS (SELECT 1 FROM provider_calls c WHERE c.job_id = j.id AND c.op = 'create')
       ORDER BY j.id
       RETURNING provider`,
      [now, now - minAgeMs],
    );
    return rows.map((r) => r.provider);
  }

  /**
   * Claims the head of a provider's queue (up to 1000 calls, in order) for this process, unless another process
   * holds a live claim on any of them: then nothing is claimed, and the queue is looked at again at the next poll.
   * FOR UPDATE makes two claimants take turns, so two live processes never both claim a call. A claim is live
   * until its lease ends, and no longer than its claimant's leader session: a process that died (its session is
   * gone) leaves nothing to wait for, and the new leader sends its calls again at once (at-least-once: a call the
   * dead process had already sent goes out twice; see server/provider/README.md).
   */
  async claim(provider: string): Promise<CallRow[]> {
    const now = Date.now();
    const rows = await this.db.query<CallRow>(
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
      [provider, this.claimant, now, now + this.leaseMs, this.session()],
    );
    return rows.sort((a, b) => a.id - b.id);
  }

  /** Renews this process's claim on `calls` just before sending them; false if any is no longer ours. */
  async renew(calls: CallRow[]): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE provider_calls SET claimed_until = $3 WHERE id = ANY($1::bigint[]) AND claimed_by = $2 RETURNING id`,
      [calls.map((c) => c.id), this.claimant, Date.now() + this.leaseMs],
    );
    return rows.length === calls.length;
  }

  /** Lets go of this process's claims on a provider's calls, so a new leader need not wait for them to expire. */
  async release(provider: string): Promise<void> {
    await this.db.query(
      `UPDATE provider_calls SET claimed_by = NULL, claimed_session = NULL, claimed_until = NULL WHERE provider = $1 AND claimed_by = $2`,
      [provider, this.claimant],
    );
  }

  /** The provider answered these calls: they leave the queue, and a create marks its job as answered for. */
  async answered(op: Op, calls: CallRow[], generatedIds: (string | null)[]): Promise<void> {
    await this.db.tx(async (q) => {
      await q.query(`DELETE FROM provider_calls WHERE id = ANY($1::bigint[])`, [calls.map((c) => c.id)]);
      if (op === 'create') {
        // The provider's id is part of the job a client sees, so its arrival is a change (status.version).
        await q.query(
          `UPDATE jobs j SET provider_acked_at = $3, provider_generated_id = COALESCE(t.gen, j.provider_generated_id),
                  version = j.version + (t.gen IS NOT NULL AND t.gen IS DISTINCT FROM j.provider_generated_id)::int
           FROM unnest($1::bigint[], $2::text[]) AS t(id, gen) WHERE j.id = t.id`,
          [calls.map((c) => c.job_id), generatedIds, Date.now()],
        );
      }
    });
  }

  /**
   * Records a failed attempt of `calls`, and `what` on every call of the provider not yet told of a failure; those
   * (each gets one status line, however many retries follow).
   */
  async failed(provider: string, calls: CallRow[], what: string): Promise<{ job_id: number; op: Op }[]> {
    const fresh = await this.db.query<{ job_id: number; op: Op }>(
      `UPDATE provider_calls SET last_error = $2 WHERE provider = $1 AND last_error IS NULL RETURNING job_id, op, id`,
      [provider, what],
    );
    await this.db.query(`UPDATE provider_calls SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`, [
      calls.map((c) => c.id),
      what,
    ]);
    return fresh;
  }

  /**
   * The provider refused the call: it leaves the queue. A refused create still counts as answered, so verify asks
   * the provider about the job and the provider decides its fate; the core never fails a job by itself.
   */
  async refused(call: CallRow): Promise<void> {
    await this.db.tx(async (q) => {
      await q.query(`DELETE FROM provider_calls WHERE id = $1`, [call.id]);
      if (call.op === 'create') await q.query(`UPDATE jobs SET provider_acked_at = $2 WHERE id = $1`, [call.job_id, Date.now()]);
    });
  }
}
