import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DEFAULT_ITEMS_PER_PAGE, Unit } from '../../contract/common';
import {
  MarkAsCompleteRequest,
  PostStatusRequest,
  Task,
  TasksCreateRequest,
  TasksListQuery,
  TasksListResponse,
  TasksRetrieveQuery,
} from '../../contract/tasks';
import { checkRequest } from '../http/parse';
import { badRequest } from '../http/errors';
import { replies } from '../http/replies';
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
export async function tasksRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
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

  const create = { body: TasksCreateRequest, response: replies(Task) };
  app.put('/api/tasks', { schema: create, config: { roles: PROCESSORS, shed: true } }, async (request) => {
    return tasks.create(principal(request), request.body);
  });

  const postStatus = { body: PostStatusRequest, response: replies(Unit) };
  app.post('/api/tasks/postStatus', { schema: postStatus, config: { roles: PROCESSORS, shed: true } }, async (request) => {
    const { update } = request.body;
    await tasks.postStatus(principal(request), update);
    return {};
  });

  const markAsComplete = { body: MarkAsCompleteRequest, response: replies(Unit) };
  app.post('/api/tasks/markAsComplete', { schema: markAsComplete, config: { roles: PROCESSORS, shed: true } }, async (request) => {
    const { id } = request.body;
    await tasks.markAsComplete(principal(request), id);
    return {};
  });

  const retrieve = { querystring: TasksRetrieveQuery, response: replies(Task) };
  app.get('/api/tasks/retrieve', { schema: retrieve, config: { roles: USER } }, async (request) => {
    const { id } = request.query;
    return tasks.view(principal(request).username, id);
  });
}

/** GET /api/tasks's answers: tasks.list's page (server/live/plugin.ts declares them on the socket path). */
export const TASKS_LIST_REPLIES = replies(TasksListResponse);

/**
 * tasks.list: GET /api/tasks without an upgrade. The route has no `roles`: an upgrade on the same path carries
 * its bearer in each frame, never in a header (contract §7), so the plain GET checks its header itself; and
 * no `schema.querystring`, which Fastify would check before that header and on every upgrade too.
 */
export function tasksList(app: FastifyInstance) {
  const { db, tasks } = app.services;
  return async (request: FastifyRequest) => {
    const caller = await authorize(db, bearerOf(request.headers.authorization), USER);
    const checked = checkRequest(TasksListQuery, request.query, 'query');
    if (!checked.ok) throw badRequest(checked.why);
    const query = checked.value;
    const page = query.page ?? 0;
    if (page > MAX_PAGE) throw badRequest(`page: must be at most ${MAX_PAGE}`);
    return tasks.list(caller.username, query.itemsPerPage ?? DEFAULT_ITEMS_PER_PAGE, page);
  };
}
