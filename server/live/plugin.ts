import type { FastifyInstance } from 'fastify';
import { badRequest } from '../http/errors';
import { startBridge } from './bridge';

/**
 * Starts the live channel: the socket hub, and on PostgreSQL the LISTEN/NOTIFY bridge to other server
 * processes. Serves the WebSocket on GET /api/jobs (GET /api/tasks is served by the tasks routes, which
 * share that path with tasks.list). Both paths accept every call (contract §7 names one path per call;
 * accepting all on both lets a client keep a single socket).
 */
export async function liveRoutes(app: FastifyInstance) {
  const { db, bus, live } = app.services;
  bus.onListenerError = (error) => app.log.error({ err: error }, 'a live event listener failed');
  const stopBridge = await startBridge(db, bus, (error) => app.log.warn({ err: error }, 'NOTIFY to other server processes failed'));
  await live.start();

  // Sockets are dropped before the server waits for its connections to end.
  app.addHook('preClose', async () => live.close());
  app.addHook('onClose', async () => stopBridge());

  app.route({
    method: 'GET',
    url: '/api/jobs',
    handler: async () => {
      throw badRequest('(request): GET /api/jobs is the jobs WebSocket (jobs.follow, jobs.listen); open it with a WebSocket upgrade');
    },
    wsHandler: (socket) => live.accept(socket),
  });
}
