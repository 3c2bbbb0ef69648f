import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DEFAULT_ITEMS_PER_PAGE } from '../../contract/common';
import { MarkAsCompleteRequest, PostStatusRequest, TasksCreateRequest, TasksListQuery, TasksRetrieveQuery } from '../../contract/tasks';
import { parse, parseQuery } from '../http/parse';
import { badRequest } from '../http/errors';
import { authorize, bearerOf, principal } from '../auth/plugin';
import { whileLeader } from '../db/leader';
import { TasksListenCall } from './listen-call';

const PROCESSORS = ['SERVICE', 'PROVIDER'] as const;
const USER = ['USER'] as const;
const MAX_PAGE = 1_000_000;

/**
 * The tasks API (contract §6) and its socket call, tasks.listen. GET /api/tasks is both tasks.list and a socket
 * path: server/live/plugin.ts mounts it, with `tasksList` for a plain GET.
 */
export async function tasksRoutes(app: FastifyInstance) {
  const { tasks, bus, live } = app.services;
  const listen = new TasksListenCall(bus);
  live.register('tasks.listen', listen);
  app.addHook('onClose', async () => listen.stop());
  // The retention sweep runs in the leader only (server/db/leader.ts).
  const onError = (error: unknown) => app.log.error({ err: error }, 'deleting expired tasks failed');
  const sweep = whileLeader(app.services.leader, { start: () => tasks.start(onError), stop: () => tasks.stop() }, onError);
  app.addHook('onReady', () => sweep.enable());
  app.addHook('preClose', () => sweep.disable());
  // Every accepted update is written before the database closes.
  app.addHook('onClose', async () => tasks.close());

  app.put('/api/tasks', { config: { roles: PROCESSORS, shed: true } }, async (request) => {
    const body = parse(TasksCreateRequest, request.body);
    return tasks.create(principal(request), body);
  });

  app.post('/api/tasks/postStatus', { config: { roles: PROCESSORS, shed: true } }, async (request) => {
    const { update } = parse(PostStatusRequest, request.body);
    await tasks.postStatus(principal(request), update);
    return {};
  });

  app.post('/api/tasks/markAsComplete', { config: { roles: PROCESSORS, shed: true } }, async (request) => {
    const { id } = parse(MarkAsCompleteRequest, request.body);
    await tasks.markAsComplete(principal(request), id);
    return {};
  });

  app.get('/api/tasks/retrieve', { config: { roles: USER } }, async (request) => {
    const { id } = parseQuery(TasksRetrieveQuery, request.query);
    return tasks.view(principal(request).username, id);
  });
}

/**
 * tasks.list: GET /api/tasks without an upgrade. The route has no `roles`: an upgrade on the same path carries
 * its bearer in each frame, never in a header (contract §7), so the plain GET checks its header itself.
 */
export function tasksList(app: FastifyInstance) {
  const { db, tasks } = app.services;
  return async (request: FastifyRequest) => {
    const caller = await authorize(db, bearerOf(request.headers.authorization), USER);
    const query = parseQuery(TasksListQuery, request.query);
    const page = query.page ?? 0;
    if (page > MAX_PAGE) throw badRequest(`page: must be at most ${MAX_PAGE}`);
    return tasks.list(caller.username, query.itemsPerPage ?? DEFAULT_ITEMS_PER_PAGE, page);
  };
}
