import type { ExecutionBackend } from './execution';
import { stateUpdate, type ExampleJobRow, type JobStore } from './job-state';
import { isActiveState } from '../../contract/constants';
import type { Outbox, Outgoing } from './kit/outbox';
import { text } from './messages';

/*
 * Transitions that are due by the clock (example_jobs.next_event_at): a simulated job's start and finish, and
 * every job's expiry. Due times are stored, so jobs whose time ran out while the provider was down expire at its
 * first turn, saying so.
 */

/** At most this many due jobs per transaction; more are taken in further rounds. */
const BATCH = 500;

export async function runDueTransitions(store: JobStore, backend: ExecutionBackend, outbox: Outbox, tickMs: number): Promise<void> {
  // Real jobs start when the runner has launched their process, not when a timer says so.
  const events = backend.startsOnTimer ? '' : `AND next_event = 'expire'`;
  for (;;) {
    const now = Date.now();
    const stopping: string[] = [];
    const count = await store.tx(async (q) => {
      const due = await q.query<ExampleJobRow>(
        `SELECT * FROM example_jobs WHERE next_event_at <= $1 ${events} ORDER BY next_event_at, job_id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        [now],
      );
      if (due.length === 0) return 0;
      const out: Outgoing[] = [];
      const started: ExampleJobRow[] = [];
      const overdueAfter = Math.max(2_000, 10 * tickMs);
      for (const row of due) {
        const at = row.next_event_at!;
        if (row.next_event === 'start') {
          row.state = 'RUNNING';
          row.started_at = now;
          row.status = text.started(row.product_id, row.time_allocation_ms);
          store.schedule(row);
          out.push({ jobId: row.job_id, update: stateUpdate('RUNNING', row.status) });
          started.push(row);
        } else if (row.next_event === 'finish') {
          row.status = text.finished();
          out.push(...store.end(row, 'SUCCESS', now));
        } else if (row.pid !== null) {
          // A real process: stopped like a terminate; it is EXPIRED once it has exited. Nothing enforced the
          // deadline while the provider was down, so a late stop says when it really ran out.
          row.stop_reason = now - at > overdueAfter ? `expire-offline:${at}` : 'expire';
          store.schedule(row);
          stopping.push(row.job_id);
        } else {
          row.status = now - at > overdueAfter ? text.expiredWhileDown(row.time_allocation_ms!, at) : text.expired(row.time_allocation_ms!);
          out.push(...store.end(row, 'EXPIRED', now));
        }
      }
      await store.save(q, due);
      out.push(...(await store.connections(q, started)));
      out.push(...(await store.peerNotices(q, due.filter((r) => !isActiveState(r.state)))));
      await store.enqueue(q, out);
      return due.length;
    });
    for (const id of stopping) backend.stopJob(id);
    if (count === 0) return;
    outbox.sendQueued();
    if (count < BATCH) return;
  }
}
