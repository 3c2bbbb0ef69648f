import type { Db, Queryable } from '../../db/index';
import type { Job, JobState } from '../../../contract/jobs';
import type { Outbox, Outgoing } from '../kit/outbox';
import { ACTIVE_JOB_STATES } from '../../../contract/constants';

/*
 * The slurm provider's own state (migration 012): slurm_jobs, slurm_settings, and its outbox and applied calls.
 * Every change takes the provider's state lock, so the poll loop and the API handlers (in any process) never
 * interleave on a job.
 */

/** Advisory lock key of the provider's state ('slur'). */
const STATE_LOCK = 0x736c7572;

export const ACTIVE: readonly string[] = ACTIVE_JOB_STATES;

export interface SlurmJobRow {
  job_id: string;
  owner: string;
  app_name: string;
  partition: string;
  state: JobState;
  status: string | null;
  slurm_id: number | null;
  slurm_state: string | null;
  pending_reason: string | null;
  time_allocation_ms: number | null;
  cancel_requested: boolean;
  submit_error: string | null;
  spec: Job;
  received_at: number;
  ended_at: number | null;
}

export class SlurmStore {
  constructor(
    readonly db: Db,
    readonly outbox: Outbox,
  ) {}

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.db.tx(async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(${STATE_LOCK})`);
      return fn(q);
    });
  }

  enqueue(q: Queryable, out: Outgoing[]): Promise<void> {
    return this.outbox.enqueue(q, out);
  }

  async setting(key: string): Promise<string | null> {
    const [row] = await this.db.query<{ value: string }>(`SELECT value FROM slurm_settings WHERE key = $1`, [key]);
    return row?.value ?? null;
  }

  /** Sets a setting unless it is set already; returns the value in force. */
  async settingOnce(key: string, value: string): Promise<string> {
    await this.db.query(`INSERT INTO slurm_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [key, value]);
    return (await this.setting(key))!;
  }

  async putSetting(key: string, value: string): Promise<void> {
    await this.db.query(`INSERT INTO slurm_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [key, value]);
  }

  async rows(q: Queryable, ids: string[]): Promise<SlurmJobRow[]> {
    return q.query<SlurmJobRow>(`SELECT * FROM slurm_jobs WHERE job_id = ANY($1::text[]) ORDER BY job_id`, [ids]);
  }

  async active(q: Queryable = this.db): Promise<SlurmJobRow[]> {
    return q.query<SlurmJobRow>(`SELECT * FROM slurm_jobs WHERE state = ANY($1::text[]) ORDER BY received_at, job_id`, [ACTIVE]);
  }

  async insert(q: Queryable, rows: Omit<SlurmJobRow, 'status' | 'slurm_id' | 'slurm_state' | 'pending_reason' | 'cancel_requested' | 'submit_error' | 'ended_at'>[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const inserted = await q.query<{ job_id: string }>(
      `INSERT INTO slurm_jobs (job_id, owner, app_name, partition, state, time_allocation_ms, spec, received_at)
       SELECT j, o, a, p, s, t, sp::jsonb, r
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[])
         AS u(j, o, a, p, s, t, sp, r)
       ON CONFLICT (job_id) DO NOTHING RETURNING job_id`,
      [rows.map((r) => r.job_id), rows.map((r) => r.owner), rows.map((r) => r.app_name), rows.map((r) => r.partition),
       rows.map((r) => r.state), rows.map((r) => r.time_allocation_ms), rows.map((r) => JSON.stringify(r.spec)),
       rows.map((r) => r.received_at)],
    );
    return new Set(inserted.map((r) => r.job_id));
  }

  /** Writes the mutable fields of rows back, in one statement. */
  async save(q: Queryable, rows: SlurmJobRow[]): Promise<void> {
    if (rows.length === 0) return;
    await q.query(
      `UPDATE slurm_jobs AS s SET state = u.state, status = u.status, slurm_id = u.slurm_id, slurm_state = u.slurm_state,
              pending_reason = u.pending_reason, time_allocation_ms = u.time_allocation_ms,
              cancel_requested = u.cancel_requested, submit_error = u.submit_error, ended_at = u.ended_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::boolean[],
                   $9::text[], $10::bigint[])
         AS u(job_id, state, status, slurm_id, slurm_state, pending_reason, time_allocation_ms, cancel_requested, submit_error, ended_at)
       WHERE s.job_id = u.job_id`,
      [rows.map((r) => r.job_id), rows.map((r) => r.state), rows.map((r) => r.status), rows.map((r) => r.slurm_id),
       rows.map((r) => r.slurm_state), rows.map((r) => r.pending_reason), rows.map((r) => r.time_allocation_ms),
       rows.map((r) => r.cancel_requested), rows.map((r) => r.submit_error), rows.map((r) => r.ended_at)],
    );
  }
}
