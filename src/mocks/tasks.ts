import { http, HttpResponse } from 'msw';
import type { Task, TaskUpdate, TasksListResponse } from '@/api/tasks';
import type { CommonErrorMessage, SocketRequest } from '@/api/types';
import { isMockBearer, MOCK_USER } from '@/mocks/fixtures';

/*
 * The tasks API (contract §6) and `tasks.listen` (§7) for dev and unit tests,
 * with the server's rules: seq per task, messages kept to the latest 1000,
 * 409 once complete. Tests drive it with the functions below.
 */

const MESSAGE_LIMIT = 1000;

interface MockTasks {
  tasks: Map<string, Task>;
  nextId: number;
  /** Each socket's tasks.listen streams, and whether the stream asked for batched messages (the server's extension). */
  clients: Set<{ send: (data: string) => void; close: () => void; streams: Map<string, { batch: boolean }> }>;
}

const db: MockTasks = { tasks: new Map(), nextId: 1, clients: new Set() };

function error(status: number, why: string): HttpResponse<never> {
  return HttpResponse.json<CommonErrorMessage>({ why, errorCode: null }, { status }) as unknown as HttpResponse<never>;
}

const authorized = (request: Request) => isMockBearer(request.headers.get('Authorization')?.replace(/^Bearer /, ''));

export function resetMockTasks(): void {
  db.tasks.clear();
  db.nextId = 1;
  // Sockets of an earlier test may not have reported their close yet.
  db.clients.clear();
}

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/** Creates a task for the mock user (as the `ucloud` service would). Creating sends nothing to listeners, as on the server. */
export function createMockTask(partial: Partial<Task> = {}): Task {
  const now = Date.now();
  const task: Task = {
    jobId: uuid(db.nextId++),
    owner: MOCK_USER,
    processor: '_ucloud',
    title: 'We are counting to 3',
    status: null,
    complete: false,
    startedAt: now,
    modifiedAt: now,
    progress: null,
    speeds: [],
    messages: [],
    seq: 0,
    ...partial,
  };
  db.tasks.set(task.jobId, task);
  return task;
}

export function findMockTask(id: string): Task | undefined {
  return db.tasks.get(id);
}

/** Like the server: a batching stream gets `{updates: [...]}`, any other one message per update. */
function broadcast(update: TaskUpdate): void {
  for (const client of db.clients) {
    for (const [streamId, { batch }] of client.streams) {
      client.send(JSON.stringify({ type: 'message', streamId, payload: batch ? { updates: [update] } : update }));
    }
  }
}

/**
 * postStatus: applies the update, assigns the next seq and sends it to listeners.
 * `deliver: false` applies it without telling anyone (a message lost while disconnected).
 */
export function postMockStatus(update: Partial<TaskUpdate> & { jobId: string }, { deliver = true } = {}): TaskUpdate {
  const task = db.tasks.get(update.jobId);
  if (!task) throw new Error(`mock: no task ${update.jobId}`);
  if (task.complete) throw new Error(`mock: task ${update.jobId} is already complete`);
  const seq = (task.seq ?? 0) + 1;
  const next: Task = { ...task, seq, modifiedAt: Date.now() };
  if (update.newTitle != null) next.title = update.newTitle;
  if (update.newStatus != null) next.status = update.newStatus;
  if (update.progress != null) next.progress = update.progress;
  if (update.speeds != null) next.speeds = update.speeds;
  if (update.messageToAppend != null) next.messages = [...(task.messages ?? []), update.messageToAppend].slice(-MESSAGE_LIMIT);
  if (update.complete === true) next.complete = true;
  db.tasks.set(task.jobId, next);
  const sent: TaskUpdate = {
    jobId: update.jobId,
    newTitle: update.newTitle ?? null,
    speeds: update.speeds ?? null,
    progress: update.progress ?? null,
    complete: update.complete ?? null,
    messageToAppend: update.messageToAppend ?? null,
    newStatus: update.newStatus ?? null,
    seq,
  };
  if (deliver) broadcast(sent);
  return sent;
}

/** markAsComplete, as seed 002 shows it reaching listeners. */
export function completeMockTask(id: string, options: { deliver?: boolean } = {}): TaskUpdate {
  return postMockStatus({ jobId: id, complete: true, speeds: [] }, options);
}

/** Sends an update as is, one per message as in the contract (duplicates, out-of-order delivery). */
export function sendRawTaskUpdate(update: TaskUpdate): void {
  for (const client of db.clients) {
    for (const streamId of client.streams.keys()) client.send(JSON.stringify({ type: 'message', streamId, payload: update }));
  }
}

/** Sends several updates in one batched message, as is. */
export function sendRawTaskBatch(updates: TaskUpdate[]): void {
  for (const client of db.clients) {
    for (const streamId of client.streams.keys()) client.send(JSON.stringify({ type: 'message', streamId, payload: { updates } }));
  }
}

/** True once some socket listens to tasks.listen, so a test can wait for it instead of sleeping. */
export function hasTaskListener(): boolean {
  return [...db.clients].some((c) => c.streams.size > 0);
}

/** Drops every socket that carries tasks.listen, from the server side; clients reconnect with backoff. */
export function dropTaskSockets(): void {
  for (const client of [...db.clients]) client.close();
}

/** What a mock socket needs to serve `tasks.listen`: its client, and a way to answer the frames meant for it. */
export interface TasksOnSocket {
  /** Answers `frame` if it is a tasks.listen call; false for any other call. */
  handle(frame: SocketRequest): boolean;
}

/** `tasks.listen` on one mock socket (any path: as on the server, every path accepts every call). */
export function serveTasksListen(client: {
  send: (data: string) => void;
  close: () => void;
  addEventListener: (type: 'close', listener: () => void) => void;
}): TasksOnSocket {
  const entry = { send: (data: string) => client.send(data), close: () => client.close(), streams: new Map<string, { batch: boolean }>() };
  db.clients.add(entry);
  client.addEventListener('close', () => db.clients.delete(entry));
  return {
    handle(frame) {
      if (frame.call !== 'tasks.listen') return false;
      const payload = frame.payload as { batch?: unknown } | null;
      entry.streams.set(frame.streamId, { batch: payload?.batch === true });
      return true;
    },
  };
}

export const taskHandlers = [
  http.get('/api/tasks', ({ request }) => {
    if (!authorized(request)) return error(401, 'Missing or unknown token');
    const q = new URL(request.url).searchParams;
    const itemsPerPage = Math.min(1000, Number(q.get('itemsPerPage') ?? 50) || 50);
    const pageNumber = Number(q.get('page') ?? 0) || 0;
    const mine = [...db.tasks.values()].filter((t) => t.owner === MOCK_USER).reverse();
    const body: TasksListResponse = {
      itemsInTotal: mine.length,
      itemsPerPage,
      pageNumber,
      items: mine.slice(pageNumber * itemsPerPage, (pageNumber + 1) * itemsPerPage),
    };
    return HttpResponse.json(body);
  }),

  http.get('/api/tasks/retrieve', ({ request }) => {
    if (!authorized(request)) return error(401, 'Missing or unknown token');
    const id = new URL(request.url).searchParams.get('id') ?? '';
    const task = db.tasks.get(id);
    if (!task || task.owner !== MOCK_USER) return error(404, `id: no task '${id}'`);
    return HttpResponse.json(task);
  }),

];
