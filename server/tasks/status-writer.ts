import type { Db, Queryable } from '../db/index';
import type { EventBus, TaskEvent } from '../live/bus';
import type { TaskUpdate } from '../../contract/tasks';
import { HttpError, conflict, notFound } from '../http/errors';
import { TASK_COLUMNS, TASK_MESSAGE_LIMIT, completionUpdate, normalizeUpdate, type TaskRow } from './model';

/** One postStatus or markAsComplete call waiting for its batch to commit. */
interface Pending {
  processor: string;
  update: TaskUpdate;
  /** markAsComplete: listeners see seed 002's completion shape rather than an echo. */
  completion: boolean;
  /** Names the id field in errors: `update.jobId` or `id`. */
  field: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Upper bound on one transaction, so a burst cannot make a single batch (and its NOTIFY) unbounded. */
const MAX_BATCH = 2000;

/**
 * Group commit for task updates (contract §6, toolchain: PGlite pays ~0.2 ms per statement on the JS thread).
 * Every update that arrives while the previous batch is being written, or within the same tick, goes into
 * one transaction of a fixed handful of set-based statements, whatever the batch size. Each caller's
 * promise settles only after that transaction has committed, so an acknowledged update is durable.
 * Listeners are told after the commit, in seq order; on PostgreSQL the NOTIFY for other processes is part of
 * the transaction, so it is sent exactly when, and only if, the updates commit.
 */
export class StatusWriter {
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
  ) {}

  submit(processor: string, update: TaskUpdate, completion: boolean, field: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ processor, update, completion, field, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far has been written (used on close). */
  async drain(): Promise<void> {
    while (this.running || this.scheduled || this.queue.length > 0) {
      if (this.running) await this.running;
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private schedule() {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every request parsed in this I/O turn joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.run();
    });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.write(batch);
      } catch (error) {
        for (const p of batch) p.reject(error as Error);
      }
    }
    this.running = null;
  }

  private async write(batch: Pending[]): Promise<void> {
    const outcome = new Map<Pending, HttpError | null>();
    const events: TaskEvent[] = [];
    const ids = [...new Set(batch.map((p) => p.update.jobId))];

    await this.db.tx(async (q) => {
      const rows = await q.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ANY($1::uuid[]) FOR UPDATE`, [ids]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      const changed = new Set<TaskRow>();
      const messages: { task_id: string; n: number; message: string }[] = [];
      const now = Date.now();

      // Applied in arrival order, so two updates to one task in one batch behave as if sent one by one.
      for (const p of batch) {
        const id = p.update.jobId;
        const row = byId.get(id);
        // Someone else's task gets the same answer as a missing one (contract §0).
        if (!row || row.processor !== p.processor) {
          outcome.set(p, notFound(`${p.field}: no task '${id}' processed by '${p.processor}'`));
          continue;
        }
        if (row.complete) {
          outcome.set(p, conflict(`${p.field}: task '${id}' is already complete`));
          continue;
        }
        const u = p.update;
        row.seq += 1;
        if (u.newTitle != null) row.title = u.newTitle;
        if (u.newStatus != null) row.status = u.newStatus;
        if (u.progress != null) row.progress = u.progress;
        if (u.speeds != null) row.speeds = u.speeds;
        if (u.messageToAppend != null) {
          row.msg_count += 1;
          messages.push({ task_id: id, n: row.msg_count, message: u.messageToAppend });
        }
        if (u.complete === true) {
          row.complete = true;
          row.completed_at = now;
        }
        row.modified_at = now;
        changed.add(row);
        outcome.set(p, null);
        events.push({
          kind: 'task',
          owner: row.owner,
          taskId: id,
          update: p.completion ? completionUpdate(id, row.seq) : normalizeUpdate(u, row.seq),
        });
      }
      if (changed.size === 0) return;
      await writeChanges(q, [...changed], messages);
      const payloads = this.bus.crossProcess?.encode(events);
      if (payloads && payloads.length > 0) {
        await q.query(`SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i`, [
          this.bus.crossProcess!.channel,
          payloads,
        ]);
      }
    });

    // Committed: tell this process's listeners (other processes hear the NOTIFY), then answer the callers.
    for (const event of events) this.bus.publish(event, { shared: true });
    for (const p of batch) {
      const error = outcome.get(p);
      if (error) p.reject(error);
      else p.resolve();
    }
  }
}

async function writeChanges(q: Queryable, rows: TaskRow[], messages: { task_id: string; n: number; message: string }[]) {
  await q.query(
    `UPDATE tasks t SET title = v.title, status = v.status, complete = v.complete, progress = v.progress, speeds = v.speeds,
            seq = v.seq, msg_count = v.msg_count, modified_at = v.modified_at, completed_at = v.completed_at
     FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, title text, status text, complete boolean, progress jsonb, speeds jsonb,
                                            seq integer, msg_count integer, modified_at bigint, completed_at bigint)
     WHERE t.id = v.id`,
    [
      JSON.stringify(
        rows.map((r) => ({
          id: r.id,
          title: r.title,
          status: r.status,
          complete: r.complete,
          progress: r.progress,
          speeds: r.speeds,
          seq: r.seq,
          msg_count: r.msg_count,
          modified_at: r.modified_at,
          completed_at: r.completed_at,
        })),
      ),
    ],
  );
  if (messages.length === 0) return;
  await q.query(
    `INSERT INTO task_messages (task_id, n, message)
     SELECT task_id, n, message FROM jsonb_to_recordset($1::jsonb) AS v(task_id uuid, n integer, message text)`,
    [JSON.stringify(messages)],
  );
  // Keep only the latest TASK_MESSAGE_LIMIT messages of the tasks that just went past it.
  const appended = new Set(messages.map((m) => m.task_id));
  const overflowing = rows.filter((r) => r.msg_count > TASK_MESSAGE_LIMIT && appended.has(r.id));
  if (overflowing.length > 0) {
    await q.query(
      `DELETE FROM task_messages m USING unnest($1::uuid[], $2::integer[]) AS v(id, keep_from)
       WHERE m.task_id = v.id AND m.n < v.keep_from`,
      [overflowing.map((r) => r.id), overflowing.map((r) => r.msg_count - TASK_MESSAGE_LIMIT + 1)],
    );
  }
}
