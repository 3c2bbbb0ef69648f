import type { FastifyInstance, FastifySchema, RouteHandlerMethod } from 'fastify';
import { badRequest } from '../http/errors';
import { ERROR_REPLIES } from '../http/replies';
import { startBridge } from './bridge';

/** The socket paths. Contract §7 names one per call; each accepts every call, so a client can keep one socket. */
export const SOCKET_PATHS = ['/api/tasks', '/api/jobs'] as const;
export type SocketPath = (typeof SOCKET_PATHS)[number];

export interface LiveRoutesOptions {
  /** What a plain GET (no upgrade) answers on a socket path that is also a REST endpoint (GET /api/tasks: tasks.list). */
  plainGet?: Partial<Record<SocketPath, { handler: RouteHandlerMethod; response: FastifySchema['response'] }>>;
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
    const plain = options.plainGet?.[url];
    app.route({
      method: 'GET',
      url,
      // No querystring schema: Fastify would check it on every upgrade too. The 101 of an upgrade is not serialised.
      schema: { response: plain?.response ?? ERROR_REPLIES },
      handler:
        plain?.handler ??
        (async () => {
          throw badRequest(`(request): GET ${url} is a WebSocket (${live.callNames().join(', ')}); open it with a WebSocket upgrade`);
        }),
      wsHandler: (socket) => live.accept(socket),
    });
  }
}
