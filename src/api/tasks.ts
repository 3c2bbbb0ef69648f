import { queryOptions } from '@tanstack/react-query';
import { http } from '@/api/http';
import { socketClient, type StreamHandlers } from '@/api/socket';
import type { Task, TaskUpdate, TasksListResponse } from '@contract/tasks';

/*
 * The tasks API (contract §6): REST reads for the owner, and the `tasks.listen`
 * stream on `/api/tasks`. Live task state is folded by seq in the tasks
 * feature's store; these are the calls it makes.
 */
export type { Progress, Speed, Task, TaskUpdate, TasksListResponse } from '@contract/tasks';

/** How many messages the server keeps per task (contract §6). */
export { TASK_MESSAGE_LIMIT } from '@contract/constants';

export const taskKeys = {
  all: ['tasks'] as const,
  list: (page: number, itemsPerPage: number) => [...taskKeys.all, 'list', { page, itemsPerPage }] as const,
  detail: (id: string) => [...taskKeys.all, 'detail', id] as const,
};

/** The caller's own tasks, newest first, in UCloud's legacy Page. */
export function listTasks(page: number, itemsPerPage: number, signal?: AbortSignal): Promise<TasksListResponse> {
  return http.get<TasksListResponse>('/api/tasks', { query: { itemsPerPage, page }, signal });
}

export function retrieveTask(id: string, signal?: AbortSignal): Promise<Task> {
  return http.get<Task>('/api/tasks/retrieve', { query: { id }, signal });
}

export const tasksQueries = {
  detail: (id: string) =>
    queryOptions({
      queryKey: taskKeys.detail(id),
      queryFn: ({ signal }) => retrieveTask(id, signal),
    }),
};

export interface TaskStreamHandlers {
  onUpdate: (update: TaskUpdate) => void;
  onEnd?: StreamHandlers['onEnd'];
}

const isUpdate = (value: unknown): value is TaskUpdate =>
  typeof value === 'object' && value !== null && typeof (value as { jobId?: unknown }).jobId === 'string';

/**
 * Subscribes to `tasks.listen`; returns the unsubscribe function. Asks for batched messages (the server's
 * extension: `{updates: TaskUpdate[]}` per commit rather than a message per update) and still understands the
 * contract's one update per message.
 */
export function listenToTasks(handlers: TaskStreamHandlers): () => void {
  return socketClient.subscribe('/api/tasks', 'tasks.listen', { batch: true }, {
    onMessage: (payload) => {
      const updates = typeof payload === 'object' && payload !== null ? (payload as { updates?: unknown }).updates : undefined;
      if (Array.isArray(updates)) {
        for (const update of updates) if (isUpdate(update)) handlers.onUpdate(update);
      } else if (isUpdate(payload)) handlers.onUpdate(payload);
    },
    onEnd: handlers.onEnd,
  });
}

/** Runs `listener` each time the tasks socket came back and its stream was resubscribed. */
export function onTasksReconnect(listener: () => void): () => void {
  return socketClient.onReconnect((path) => {
    if (path === '/api/tasks') listener();
  });
}

/** `?task=<id>` on any page opens that task's detail view (the tray owns it; notifications link to it). */
export const TASK_DETAIL_PARAM = 'task';
