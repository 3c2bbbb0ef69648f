import { queryOptions } from '@tanstack/react-query';
import { http } from '@/api/http';
import type { Task, TasksListResponse } from '@contract/tasks';

/*
 * The tasks API (contract §6): REST reads for the owner. The `tasks.listen` stream is the live layer's
 * (`api/live/`); live task state is folded by seq in the tasks feature's store.
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

/** `?task=<id>` on any page opens that task's detail view (the tray owns it; notifications link to it). */
export const TASK_DETAIL_PARAM = 'task';
