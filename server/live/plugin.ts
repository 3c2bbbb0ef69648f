import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { badRequest } from '../http/errors';
import { startBridge } from './bridge';

/** The socket paths. Contract §7 names one per call; each accepts every call, so a client can keep one socket. */
export const SOCKET_PATHS = ['/api/tasks', '/api/jobs'] as const;
export type SocketPath = (typeof SOCKET_PATHS)[number];

export interface LiveRoutesOptions {
  /** What a plain GET (no upgrade) answers on a socket path that is also a REST endpoint (GET /api/tasks: tasks.list). */
  plainGet?: Partial<Record<SocketPath, RouteHandlerMethod>>;
}

/**
 * Starts the live channel: the socket hub, and on PostgreSQL the LISTEN/NOTIFY bridge to other server
 * processes. Mounts both socket paths; the calls themselves are registered by the plugins that own them.
 */
export async function liveRoutes(app: FastifyInstance, options: LiveRoutesOptions) {
  const { db, bus, live } = app.services;
  bus.onListenerError = (error) => app.log.error({ err: error }, 'a live event listener failed');
  const stopBridge = await startBridge(db, bus, (error) => app.log.warn({ err: error }, 'NOTIFY to other server processes failed'));
  await live.start();

  // Sockets are dropped before the server waits for its connections to end.
  app.addHook('preClose', async () => live.close());
  app.addHook('onClose', async () => stopBridge());

  for (const url of SOCKET_PATHS) {
    app.route({
      method: 'GET',
      url,
      handler:
        options.plainGet?.[url] ??
        (async () => {
          throw badRequest(`(request): GET ${url} is a WebSocket (${live.callNames().join(', ')}); open it with a WebSocket upgrade`);
        }),
      wsHandler: (socket) => live.accept(socket),
    });
  }
}
