import type { Db } from '../db/index';
import type { EventBus } from '../live/bus';
import type { JobUpdate } from '../../contract/jobs';
import { MAX_TIME_ALLOCATION_MS } from '../../contract/common';
import { badRequest, notFound } from '../http/errors';
import { ID_PATTERN, isFinal, toJob, toJobStatus, toJobUpdate, type JobRow, type JobUpdateRow } from './model';

/** A provider's status and output folder: capped as task texts are (server/tasks/model.ts). */
const MAX_JOB_TEXT_LENGTH = 4096;

/** One item of a provider's `jobs.control.update`. */
export interface ControlItem {
  id: string;
  update: JobUpdate;
}

/**
 * Contract §4: all ids must be the provider's (else 404, nothing applied); each update is then applied or dropped
 * by the expected-state rules, and final states never change. Publishes each changed job on the bus after the commit.
 */
export async function applyControlUpdates(db: Db, bus: EventBus, provider: string, items: ControlItem[]): Promise<void> {
  items.forEach((item, i) => {
    if (!ID_PATTERN.test(item.id)) throw notFound(`items[${i}].id: no job '${item.id}' on provider '${provider}'`);
    // Capped as task texts are (4096): a 900 KB status once widened the job page to 7.8 million pixels.
    for (const field of ['status', 'outputFolder'] as const) {
      const text = item.update[field];
      if (text != null && text.length > MAX_JOB_TEXT_LENGTH) {
        throw badRequest(`items[${i}].update.${field}: must be at most ${MAX_JOB_TEXT_LENGTH} characters (got ${text.length})`);
      }
    }
    // Bounded like a user's allocation: past it, startedAt + allocation leaves the dates a browser can show.
    const allocation = item.update.newTimeAllocation;
    if (allocation != null && allocation > MAX_TIME_ALLOCATION_MS) {
      throw badRequest(`items[${i}].update.newTimeAllocation: must be at most ${MAX_TIME_ALLOCATION_MS} ms (720 hours, the product's maximum)`);
    }
  });
  const changed = await db.tx(async (q) => {
    const ids = [...new Set(items.map((i) => Number(i.id)))];
    const rows = await q.query<JobRow>(`SELECT * FROM jobs WHERE id = ANY($1::bigint[]) FOR UPDATE`, [ids]);
    const byId = new Map(rows.filter((r) => r.provider === provider).map((r) => [r.id, r]));
    items.forEach((item, i) => {
      if (!byId.has(Number(item.id))) throw notFound(`items[${i}].id: no job '${item.id}' on provider '${provider}'`);
    });
    const seqs = await q.query<{ job_id: number; seq: number }>(
      `SELECT job_id, max(seq) AS seq FROM job_updates WHERE job_id = ANY($1::bigint[]) GROUP BY job_id`,
      [ids],
    );
    const nextSeq = new Map(seqs.map((s) => [s.job_id, s.seq + 1]));
    const applied = new Map<number, JobUpdateRow[]>();
    const now = Date.now();
    for (const { id, update } of items) {
      const row = byId.get(Number(id))!;
      if (update.expectedState != null) {
        if (row.state !== update.expectedState) continue;
      } else if (update.expectedDifferentState === true && update.state != null && row.state === update.state) {
        continue;
      }
      if (update.state != null && isFinal(row.state) && update.state !== row.state) continue;

      if (update.state != null && update.state !== row.state) {
        if (update.state === 'RUNNING' && row.started_at === null) row.started_at = now;
        row.state = update.state;
      }
      if (update.newTimeAllocation != null) row.time_allocation_ms = update.newTimeAllocation;
      if (row.started_at !== null && row.time_allocation_ms !== null) row.expires_at = row.started_at + row.time_allocation_ms;
      if (update.outputFolder != null) row.output_folder = update.outputFolder;
      if (update.status != null) row.status_text = update.status;
      row.modified_at = now;

      const seq = nextSeq.get(row.id) ?? 0;
      nextSeq.set(row.id, seq + 1);
      const list = applied.get(row.id) ?? [];
      list.push({
        job_id: row.id,
        seq,
        state: update.state ?? null,
        status: update.status ?? null,
        output_folder: update.outputFolder ?? null,
        expected_state: update.expectedState ?? null,
        expected_different_state: update.expectedDifferentState ?? null,
        new_time_allocation: update.newTimeAllocation ?? null,
        timestamp: now,
      });
      applied.set(row.id, list);
    }
    const updates = [...applied.values()].flat();
    if (updates.length === 0) return [];
    // One set-based statement per table, however many updates the batch holds.
    await q.query(
      `INSERT INTO job_updates (job_id, seq, state, status, output_folder, expected_state, expected_different_state,
                                new_time_allocation, timestamp)
       SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[],
                            $8::bigint[], $9::bigint[])`,
      [updates.map((u) => u.job_id), updates.map((u) => u.seq), updates.map((u) => u.state), updates.map((u) => u.status),
       updates.map((u) => u.output_folder), updates.map((u) => u.expected_state), updates.map((u) => u.expected_different_state),
       updates.map((u) => u.new_time_allocation), updates.map((u) => u.timestamp)],
    );
    const changedRows = [...applied.keys()].map((id) => byId.get(id)!);
    // The version grows by one per applied update, in the statement that writes them: each version is one state.
    const versions = await q.query<{ id: number; version: number }>(
      `UPDATE jobs j SET state = t.state, status_text = t.status_text, time_allocation_ms = t.alloc, started_at = t.started,
              expires_at = t.expires, output_folder = t.output, modified_at = t.modified, version = j.version + t.applied
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::bigint[],
                   $9::int[])
            AS t(id, state, status_text, alloc, started, expires, output, modified, applied)
       WHERE j.id = t.id
       RETURNING j.id, j.version`,
      [changedRows.map((r) => r.id), changedRows.map((r) => r.state), changedRows.map((r) => r.status_text),
       changedRows.map((r) => r.time_allocation_ms), changedRows.map((r) => r.started_at), changedRows.map((r) => r.expires_at),
       changedRows.map((r) => r.output_folder), changedRows.map((r) => r.modified_at), changedRows.map((r) => applied.get(r.id)!.length)],
    );
    for (const { id, version } of versions) byId.get(id)!.version = version;
    return changedRows.map((row) => ({ row, updates: applied.get(row.id)! }));
  });
  for (const { row, updates } of changed) {
    bus.publish({
      kind: 'job',
      owner: row.owner,
      provider: row.provider,
      jobId: String(row.id),
      job: toJob(row),
      updates: updates.map(toJobUpdate),
      newStatus: toJobStatus(row),
    });
  }
}
