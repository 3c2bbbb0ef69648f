import type { Db, Queryable } from '../db/index';
import type { Job, JobState, JobUpdate } from '../../contract/jobs';
import { text } from './messages';
import type { AppliedCalls } from './kit/call-ids';
import type { Outbox, Outgoing } from './kit/outbox';
import { ACTIVE_JOB_STATES, EMPTY_JOB_UPDATE, isActiveState } from '../../contract/constants';

/*
 * The built-in provider's jobs (example_jobs, example_peers): the state lock every change takes, the rows, the
 * next due transition of each job, and the updates a change reports (queued in the outbox in the same transaction).
 */

/** The active states as an SQL list written into a statement (the values are the contract's constants, never input). */
export const ACTIVE_STATES_SQL = `(${ACTIVE_JOB_STATES.map((state) => `'${state}'`).join(', ')})`;

export type SimEvent = 'start' | 'finish' | 'expire';
export type CallOp = 'create' | 'terminate' | 'extend';

/** Advisory lock key of the provider's state ('exam'). */
const STATE_LOCK = 0x6578616d;

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

export function update(fields: Partial<JobUpdate>): JobUpdate {
  return { ...EMPTY_JOB_UPDATE, ...fields };
}

/** A change of state; sent again after a crash it is dropped by the core rather than repeated. */
export const stateUpdate = (state: JobState, status: string) => update({ state, status, expectedDifferentState: true });
export const statusUpdate = (status: string) => update({ status });
/** Exactly seed 000's update. */
export const unknownJobUpdate = () => update({ state: 'FAILURE', status: text.unknown() });

export function peersOf(job: Job): { hostname: string; jobId: string }[] {
  const values = [...Object.values(job.specification.parameters ?? {}), ...(job.specification.resources ?? [])];
  return values.flatMap((v) => (v && v.type === 'peer' ? [{ hostname: v.hostname, jobId: v.jobId }] : []));
}

export interface JobStoreOptions {
  db: Db;
  outbox: Outbox;
  calls: AppliedCalls;
  /** IN_QUEUE → RUNNING on the simulator's timer (and the earliest a real job is launched). */
  queueDelayMs: number;
  /** How long a job that finishes by itself runs on the simulator. */
  batchRunMs: number;
}

export class JobStore {
  constructor(private readonly opts: JobStoreOptions) {}

  /**
   * Every change to the provider's state runs one at a time. Otherwise, on PostgreSQL, a job starting while
   * its peer ends could miss both "peer is gone" and "could not connect": each transaction would read the
   * other's row as it was before (write skew). Changes are short, so a single lock costs nothing here.
   */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.opts.db.tx(async (q) => {
      await q.query(`SELECT pg_advisory_xact_lock(${STATE_LOCK})`);
      return fn(q);
    });
  }

  enqueue(q: Queryable, out: Outgoing[]): Promise<void> {
    return this.opts.outbox.enqueue(q, out);
  }

  /** The next timed transition of a job, from its state: the simulator's start and finish, and every job's expiry. */
  schedule(row: ExampleJobRow) {
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

  /** Ends a job in `state` with its status line; the update that reports it. */
  end(row: ExampleJobRow, state: JobState, now: number): Outgoing[] {
    row.state = state;
    row.ended_at = now;
    this.schedule(row);
    return [{ jobId: row.job_id, update: stateUpdate(state, row.status!) }];
  }

  /**
   * Applies `fn` to each active job of `items` (with that job's items) under a row lock, saves the rows, tells the
   * peers of jobs that ended, and queues the updates. A job the provider does not know gets seed 000's FAILURE.
   * Items whose call id was applied before are left out, in the same transaction that records the new ones.
   */
  async change<T extends { jobId: string }>(
    op: CallOp,
    items: T[],
    callIds: string[] | undefined,
    fn: (row: ExampleJobRow, items: T[]) => Outgoing[],
  ): Promise<void> {
    if (items.length === 0) return;
    await this.tx(async (q) => {
      const isNewCall = await this.opts.calls.recordCalls(q, op, items.map((i) => i.jobId), callIds);
      const byJob = new Map<string, T[]>();
      items.forEach((item, i) => {
        if (isNewCall[i]) byJob.set(item.jobId, [...(byJob.get(item.jobId) ?? []), item]);
      });
      if (byJob.size === 0) return;
      const rows = await q.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = ANY($1::text[]) FOR UPDATE`, [[...byJob.keys()]]);
      const byId = new Map(rows.map((r) => [r.job_id, r]));
      const out: Outgoing[] = [];
      const changed: ExampleJobRow[] = [];
      for (const [id, applied] of byJob) {
        const row = byId.get(id);
        if (!row) out.push({ jobId: id, update: unknownJobUpdate() });
        else if (isActiveState(row.state)) {
          out.push(...fn(row, applied));
          changed.push(row);
        }
      }
      await this.save(q, changed);
      out.push(...(await this.peerNotices(q, changed.filter((r) => !isActiveState(r.state)))));
      await this.enqueue(q, out);
    });
    this.opts.outbox.sendQueued();
  }

  async save(q: Queryable, rows: ExampleJobRow[]) {
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
  async peerNotices(q: Queryable, ended: ExampleJobRow[]): Promise<Outgoing[]> {
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

  /** "Connected to job 4101 as 'database'" for each peer of a job that just started. */
  async connections(q: Queryable, started: ExampleJobRow[]): Promise<Outgoing[]> {
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
        l.peer_state !== null && isActiveState(l.peer_state) ? text.connected(l.peer_job_id, l.hostname) : text.peerNotRunning(l.peer_job_id, l.hostname),
      ),
    }));
  }
}
