import type { Db } from '../db/index';
import type { EventBus, TaskEvent } from '../live/bus';
import type { TaskUpdate } from '../../contract/tasks';
import { conflict, notFound, type HttpError } from '../http/errors';
import { overloaded } from '../http/load-shed';
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

/** Upper bound on one write, so a burst cannot make a single statement (and its NOTIFYs) unbounded. */
const MAX_BATCH = 2000;

/**
 * Group commit for task updates (contract §6, toolchain: PGlite pays ~0.2 ms per statement on the JS thread).
 * Every update that arrives while the previous batch is being written, or within the same tick, goes into
 * one batch: one read and one set-based write statement, whatever the batch size. Each caller's promise
 * settles only after that statement has committed, so an acknowledged update is durable. Listeners are told
 * after the commit, in seq order; on PostgreSQL the NOTIFY for other processes is part of the same statement,
 * so it is sent exactly when, and only if, the updates commit.
 */
export class StatusWriter {
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  /**
   * Open tasks as this writer last wrote them, so a busy task costs no read per batch. Only a hint: every
   * write is a compare-and-set on seq, so a stale entry (another process wrote the task, or it was deleted)
   * costs one re-read, never a wrong result. Completed tasks are not kept.
   */
  private readonly known = new Map<string, TaskRow>();
  /** Updates in the batch being written now. */
  private writing = 0;

  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
    private readonly limits: { maxQueue: number; retryAfterS: number } = { maxQueue: 0, retryAfterS: 1 },
  ) {}

  /** Updates accepted and not yet written: waiting, and in the batch being written. */
  get depth(): number {
    return this.queue.length + this.writing;
  }

  submit(processor: string, update: TaskUpdate, completion: boolean, field: string): Promise<void> {
    // Load shedding: past maxQueue a new update would only wait longer behind the others; refuse it before it is
    // queued, so it is either written whole later or not at all.
    const { maxQueue, retryAfterS } = this.limits;
    if (maxQueue > 0 && this.depth >= maxQueue) {
      return Promise.reject(
        overloaded(`The server is overloaded (${this.depth} task updates are waiting to be written, the limit is ${maxQueue}); nothing was written, try again in ${retryAfterS} s`, retryAfterS),
      );
    }
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
      this.writing = batch.length;
      try {
        await this.write(batch);
      } catch (error) {
        for (const p of batch) p.reject(error as Error);
      } finally {
        this.writing = 0;
      }
    }
    this.running = null;
  }

  private async write(batch: Pending[]): Promise<void> {
    const outcome = new Map<Pending, HttpError | null>();
    const events: TaskEvent[] = [];
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > MAX_ATTEMPTS) throw new Error(`task updates kept conflicting with another server process (${MAX_ATTEMPTS} attempts)`);
      const ids = [...new Set(pending.map((p) => p.update.jobId))];
      const rows: TaskRow[] = [];
      const unknown: string[] = [];
      for (const id of ids) {
        const row = attempt === 1 ? this.known.get(id) : undefined;
        // A copy: the plan changes its rows, and the write may not happen.
        if (row) rows.push({ ...row });
        else unknown.push(id);
      }
      if (unknown.length > 0) rows.push(...(await this.db.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ANY($1::uuid[])`, [unknown])));
      const plan = planBatch(pending, rows, Date.now());
      let applied: Set<string>;
      try {
        applied = plan.changed.length > 0 ? await this.commit(plan) : new Set<string>();
      } catch (error) {
        // Two processes writing the same tasks can deadlock or fail serialisation; nothing was written, so retry
        // the whole batch like a seq conflict rather than answer 500.
        if (!isRetryableConflict(error)) throw error;
        await conflictBackoff(attempt);
        continue;
      }
      this.remember(rows, plan, applied);
      const retry: Pending[] = [];
      for (const p of pending) {
        const id = p.update.jobId;
        // Another process wrote this task since we read it: read it again and re-apply its updates.
        if (plan.expectedSeq.has(id) && !applied.has(id)) retry.push(p);
        else outcome.set(p, plan.outcome.get(p) ?? null);
      }
      events.push(...plan.events.filter((e) => applied.has(e.taskId)));
      pending = retry;
      // Two writers that lose to each other in lockstep would use up their attempts; a jittered pause breaks the tie.
      if (pending.length > 0) await conflictBackoff(attempt);
    }

    // Committed: tell this process's listeners (other processes hear the NOTIFY), then answer the callers.
    for (const event of events) this.bus.publish(event, { shared: true });
    for (const p of batch) {
      const error = outcome.get(p);
      if (error) p.reject(error);
      else p.resolve();
    }
  }

  private remember(rows: TaskRow[], plan: Plan, applied: Set<string>) {
    for (const row of rows) {
      this.known.delete(row.id);
      const stale = plan.expectedSeq.has(row.id) && !applied.has(row.id);
      if (row.complete || stale) continue;
      if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
      this.known.set(row.id, row);
    }
  }

  /**
   * Writes a planned batch in ONE statement, so it commits atomically without an explicit transaction
   * (PGlite pays per statement, BEGIN and COMMIT included). Each task row is updated only if its seq is still
   * what the plan read (compare-and-set, which is what makes this safe with several server processes); its
   * messages are inserted, the log trimmed and, on PostgreSQL, its NOTIFYs sent only if that update happened.
   * Returns the ids of the tasks that were written.
   */
  private async commit(plan: Plan): Promise<Set<string>> {
    const rows = JSON.stringify(
      plan.changed.map((r) => ({
        id: r.id,
        expected_seq: plan.expectedSeq.get(r.id),
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
    );
    const messages = JSON.stringify(plan.messages);
    const trimmed = plan.trims.length > 0;
    const params: unknown[] = [rows, messages];
    if (trimmed) params.push(plan.trims.map((t) => t.id), plan.trims.map((t) => t.keepFrom));
    const cross = this.bus.crossProcess;
    if (cross) {
      const ids: string[] = [];
      const payloads: string[] = [];
      for (const event of plan.events) {
        for (const payload of cross.encode([event])) {
          ids.push(event.taskId);
          payloads.push(payload);
        }
      }
      params.push(cross.channel, ids, payloads, cross.payloadNumbers(payloads), cross.separator);
    }
    const name: WriteName = `tasks-write${trimmed ? '' : '-untrimmed'}${cross ? '-notify' : ''}`;
    // Named, so real PostgreSQL plans each variant once per connection (parsing and planning it cost as much as
    // running it); PGlite plans it every time (QueryOptions.prepare says why).
    const written = await this.db.query<{ id: string }>(WRITE_STATEMENTS[name], params, { prepare: name });
    return new Set(written.map((r) => r.id));
  }
}

/*
 * The write: parameters $1 the new task rows (JSON), $2 the messages to append (JSON), $3/$4 the tasks whose log
 * is trimmed and where it now starts (the variants without a trim have no $3/$4). Each row is updated only if its
 * seq is unchanged (compare-and-set); its messages, trim and (on PostgreSQL, the last five parameters) NOTIFY
 * records happen only if it was.
 */
const WRITE_HEAD = `WITH v AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, expected_seq integer, title text, status text, complete boolean,
      progress jsonb, speeds jsonb, seq integer, msg_count integer, modified_at bigint, completed_at bigint)
  ), upd AS (
    UPDATE tasks t SET title = v.title, status = v.status, complete = v.complete, progress = v.progress, speeds = v.speeds,
           seq = v.seq, msg_count = v.msg_count, modified_at = v.modified_at, completed_at = v.completed_at
    FROM v
    -- Rows are found through the primary key, one lookup per task (LATERAL, kept from being flattened into a
    -- join by OFFSET 0, then by ctid): the cost follows the batch, never the size of the table.
    WHERE t.ctid = ANY (ARRAY(SELECT x.ctid FROM v AS w CROSS JOIN LATERAL (SELECT ctid FROM tasks WHERE id = w.id OFFSET 0) AS x))
      AND t.id = v.id AND t.seq = v.expected_seq
    RETURNING t.id
  ), ins AS (
    INSERT INTO task_messages (task_id, n, message)
    SELECT m.task_id, m.n, m.message FROM jsonb_to_recordset($2::jsonb) AS m(task_id uuid, n integer, message text)
    JOIN upd ON upd.id = m.task_id
  )`;
const TRIM = `, trimmed AS (
    DELETE FROM task_messages WHERE ctid = ANY (ARRAY(
      SELECT old.ctid FROM unnest($3::uuid[], $4::integer[]) AS k(id, keep_from)
      JOIN upd ON upd.id = k.id
      CROSS JOIN LATERAL (SELECT ctid FROM task_messages m WHERE m.task_id = k.id AND m.n < k.keep_from OFFSET 0) AS old
    ))
  )`;
const WRITE_TAIL = 'SELECT upd.id::text AS id FROM upd';
// The records of the tasks written, joined by the bridge's separator into the payloads the writer numbered; a
// record of a task whose compare-and-set failed is left out, which only shortens its payload. The
// subquery's ORDER BY, kept by OFFSET 0, sends the NOTIFYs in the order the records were encoded: seq order.
const notify = (channel: number) => `, note AS (
    SELECT pg_notify($${channel}, p.payload) FROM (
      SELECT x.n, string_agg(x.payload, $${channel + 4}::text ORDER BY x.i) AS payload
      FROM unnest($${channel + 1}::uuid[], $${channel + 2}::text[], $${channel + 3}::integer[]) WITH ORDINALITY AS x(task_id, payload, n, i)
      JOIN upd ON upd.id = x.task_id
      GROUP BY x.n ORDER BY x.n OFFSET 0
    ) AS p
  )
${WRITE_TAIL} WHERE (SELECT count(*) FROM note) >= 0`;
const WRITE = `${WRITE_HEAD}${TRIM}\n${WRITE_TAIL}`;
const WRITE_WITH_NOTIFY = `${WRITE_HEAD}${TRIM}${notify(5)}`;
// Most batches trim nothing: without the trim the statement costs PGlite noticeably less to parse and plan.
const WRITE_UNTRIMMED = `${WRITE_HEAD}\n${WRITE_TAIL}`;
const WRITE_UNTRIMMED_WITH_NOTIFY = `${WRITE_HEAD}${notify(3)}`;
/** The write's variants by the name each is prepared under (prepared-write.test.ts checks their cached plans). */
export const WRITE_STATEMENTS = {
  'tasks-write': WRITE,
  'tasks-write-notify': WRITE_WITH_NOTIFY,
  'tasks-write-untrimmed': WRITE_UNTRIMMED,
  'tasks-write-untrimmed-notify': WRITE_UNTRIMMED_WITH_NOTIFY,
} as const;
type WriteName = keyof typeof WRITE_STATEMENTS;
const MAX_ATTEMPTS = 20;

/** PostgreSQL's deadlock_detected and serialization_failure: the statement was rolled back and may be retried. */
function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === '40P01' || code === '40001';
}

const conflictBackoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
const TRIM_EVERY = 250;
const MAX_KNOWN = 10_000;

interface Plan {
  /** The task rows as they will be after the batch. */
  changed: TaskRow[];
  /** The seq each changed task had when it was read: the compare-and-set condition. */
  expectedSeq: Map<string, number>;
  messages: { task_id: string; n: number; message: string }[];
  /** Tasks whose log passed another TRIM_EVERY messages beyond the limit: delete below keepFrom. */
  trims: { id: string; keepFrom: number }[];
  events: TaskEvent[];
  /** 404/409 for updates that cannot apply; null for those that do. */
  outcome: Map<Pending, HttpError | null>;
}

/** Applies the updates to the rows read, in arrival order, so a batch behaves as if they were sent one by one. */
function planBatch(pending: Pending[], rows: TaskRow[], now: number): Plan {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const plan: Plan = { changed: [], expectedSeq: new Map(), messages: [], trims: [], events: [], outcome: new Map() };
  const countBefore = new Map<string, number>();
  for (const p of pending) {
    const id = p.update.jobId;
    const row = byId.get(id);
    // Someone else's task gets the same answer as a missing one (contract §0).
    if (!row || row.processor !== p.processor) {
      plan.outcome.set(p, notFound(`${p.field}: no task '${id}' processed by '${p.processor}'`));
      continue;
    }
    if (row.complete) {
      plan.outcome.set(p, conflict(`${p.field}: task '${id}' is already complete`));
      continue;
    }
    if (!plan.expectedSeq.has(id)) {
      plan.expectedSeq.set(id, row.seq);
      countBefore.set(id, row.msg_count);
      plan.changed.push(row);
    }
    const u = p.update;
    row.seq += 1;
    if (u.newTitle != null) row.title = u.newTitle;
    if (u.newStatus != null) row.status = u.newStatus;
    if (u.progress != null) row.progress = u.progress;
    if (u.speeds != null) row.speeds = u.speeds;
    if (u.messageToAppend != null) {
      row.msg_count += 1;
      plan.messages.push({ task_id: id, n: row.msg_count, message: u.messageToAppend });
    }
    if (u.complete === true) {
      row.complete = true;
      row.completed_at = now;
    }
    row.modified_at = now;
    plan.outcome.set(p, null);
    plan.events.push({
      kind: 'task',
      owner: row.owner,
      taskId: id,
      update: p.completion ? completionUpdate(id, row.seq) : normalizeUpdate(u, row.seq),
    });
  }
  // Old messages are deleted in bulk every TRIM_EVERY appends, not one per append; reads show only the latest
  // TASK_MESSAGE_LIMIT anyway.
  for (const row of plan.changed) {
    const before = countBefore.get(row.id)!;
    if (row.msg_count > TASK_MESSAGE_LIMIT && Math.floor(row.msg_count / TRIM_EVERY) > Math.floor(before / TRIM_EVERY)) {
      plan.trims.push({ id: row.id, keepFrom: row.msg_count - TASK_MESSAGE_LIMIT + 1 });
    }
  }
  // The trim cannot see rows inserted by the same statement; messages already out of the window are not inserted.
  if (plan.trims.length > 0) {
    const keepFrom = new Map(plan.trims.map((t) => [t.id, t.keepFrom]));
    plan.messages = plan.messages.filter((m) => m.n >= (keepFrom.get(m.task_id) ?? 0));
  }
  return plan;
}
