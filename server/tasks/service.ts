import crypto from 'node:crypto';
import type { Db } from '../db/index';
import type { EventBus } from '../live/bus';
import type { Principal } from '../auth/tokens';
import type { Page } from '../../contract/common';
import type { Task, TaskUpdate, TasksCreateRequest } from '../../contract/tasks';
import { badRequest, notFound } from '../http/errors';
import { StatusWriter } from './status-writer';
import { TASK_COLUMNS, TASK_MESSAGE_LIMIT, checkText, checkUpdateText, isTaskId, processorOf, toTask, type TaskRow } from './model';

export interface TasksOptions {
  /** How long a completed task is kept (contract §6: 7 days by default). */
  retentionMs: number;
  /** postStatus/markAsComplete answer 503 while this many updates wait to be written (0: never). */
  maxQueue?: number;
  retryAfterS?: number;
}

const HOUR = 3600_000;

/**
 * A task's kept log as one JSON array per task (one value to parse rather than a row per message), read
 * through the primary key. The table may briefly hold a few hundred more than the limit (see status-writer).
 */
const MESSAGES = `(SELECT coalesce(json_agg(m.message ORDER BY m.n), '[]'::json) FROM task_messages m
  WHERE m.task_id = t.id AND m.n > t.msg_count - ${TASK_MESSAGE_LIMIT}) AS messages`;

/** Tasks (contract §6): create, postStatus/markAsComplete through the batching writer, list and view, retention. */
export class TasksService {
  private readonly writer: StatusWriter;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;

  constructor(
    private readonly db: Db,
    bus: EventBus,
    private readonly options: TasksOptions,
  ) {
    this.writer = new StatusWriter(db, bus, { maxQueue: options.maxQueue ?? 0, retryAfterS: options.retryAfterS ?? 1 });
  }

  async create(principal: Principal, request: TasksCreateRequest): Promise<Task> {
    const processor = processorOf(principal);
    checkText('title', request.title);
    checkText('initialStatus', request.initialStatus);
    const isProvider = principal.role === 'PROVIDER';
    const now = Date.now();
    // One statement: the owner check and the insert cannot drift apart.
    const rows = await this.db.query<TaskRow>(
      `INSERT INTO tasks (id, owner, processor, title, status, started_at, modified_at)
       SELECT $1::uuid, u.username, $3, $4, $5, $6, $6 FROM users u
       WHERE u.username = $2 AND u.role = 'USER'
         AND (NOT $7::boolean OR EXISTS (SELECT 1 FROM jobs j WHERE j.owner = u.username AND j.provider = $3))
       RETURNING ${TASK_COLUMNS}`,
      [crypto.randomUUID(), request.owner, processor, request.title, request.initialStatus ?? null, now, isProvider],
    );
    const row = rows[0];
    if (!row) {
      // A provider is told the same thing whether the user is missing or merely not its customer.
      throw badRequest(
        isProvider
          ? `owner: no user '${request.owner}' with a job on provider '${processor}'`
          : `owner: no user '${request.owner}'`,
      );
    }
    return toTask(row, []);
  }

  postStatus(principal: Principal, update: TaskUpdate): Promise<void> {
    const processor = processorOf(principal);
    checkUpdateText(update);
    if (!isTaskId(update.jobId)) return Promise.reject(notFound(`update.jobId: no task '${update.jobId}' processed by '${processor}'`));
    return this.writer.submit(processor, update, false, 'update.jobId');
  }

  markAsComplete(principal: Principal, id: string): Promise<void> {
    const processor = processorOf(principal);
    if (!isTaskId(id)) return Promise.reject(notFound(`id: no task '${id}' processed by '${processor}'`));
    return this.writer.submit(processor, { jobId: id, complete: true }, true, 'id');
  }

  /** The owner's tasks, newest first, in UCloud's legacy Page (pageNumber counts from 0). */
  async list(owner: string, itemsPerPage: number, pageNumber: number): Promise<Page<Task>> {
    const [count] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE owner = $1`, [owner]);
    const rows = await this.db.query<TaskRow & { messages: string[] }>(
      `SELECT ${TASK_COLUMNS}, ${MESSAGES} FROM tasks t WHERE owner = $1 ORDER BY ord DESC LIMIT $2 OFFSET $3`,
      [owner, itemsPerPage, pageNumber * itemsPerPage],
    );
    return {
      itemsInTotal: count?.n ?? 0,
      itemsPerPage,
      pageNumber,
      items: rows.map((row) => toTask(row, row.messages)),
    };
  }

  /** The owner's task; someone else's is as unknown as a missing one (contract §0). */
  async view(owner: string, id: string): Promise<Task> {
    const rows = isTaskId(id)
      ? await this.db.query<TaskRow & { messages: string[] }>(
          `SELECT ${TASK_COLUMNS}, ${MESSAGES} FROM tasks t WHERE id = $1::uuid AND owner = $2`,
          [id, owner],
        )
      : [];
    const row = rows[0];
    if (!row) throw notFound(`id: no task '${id}'`);
    return toTask(row, row.messages);
  }

  /** Updates accepted and not yet written (health, tests, benchmarks). */
  get queueDepth(): number {
    return this.writer.depth;
  }

  /** Deletes tasks completed longer ago than the retention period; returns how many. */
  async sweep(now = Date.now(), vacuum = false): Promise<number> {
    const rows = await this.db.query(`DELETE FROM tasks WHERE complete AND completed_at <= $1 RETURNING 1 AS x`, [now - this.options.retentionMs]);
    // Embedded PGlite runs no autovacuum; the message log churns (an append and, in bulk, a trim per message).
    if (vacuum && this.db.kind === 'pglite') await this.db.query('VACUUM (ANALYZE) tasks, task_messages');
    return rows.length;
  }

  /** Starts the retention sweep: once now, then hourly (or more often for a short retention). */
  start(onError: (error: unknown) => void) {
    if (this.sweepTimer) return;
    const run = (vacuum: boolean) => {
      if (this.sweeping) return;
      this.sweeping = this.sweep(Date.now(), vacuum)
        .catch(onError)
        .finally(() => (this.sweeping = null));
    };
    // At start only the delete: a fresh process has nothing to vacuum yet, and starting should be quick.
    run(false);
    this.sweepTimer = setInterval(() => run(true), Math.max(1000, Math.min(HOUR, this.options.retentionMs)));
    this.sweepTimer.unref();
  }

  /** Stops the retention sweep (this process is no longer the leader, or it is closing). */
  async stop() {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    await this.sweeping;
  }

  /** Stops the sweep and waits for every accepted update to be written. */
  async close() {
    await this.stop();
    await this.writer.drain();
  }
}
