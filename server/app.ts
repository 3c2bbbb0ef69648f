import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { Db } from './db/index';
import { startLeaderElection } from './db/leader';
import { configFromEnv, type Config } from './config';
import { loadCatalog } from './catalog/catalog';
import { EventBus } from './live/bus';
import { bootstrapPrincipals } from './auth/bootstrap';
import { authPlugin } from './auth/plugin';
import { HttpError } from './http/errors';
import { schemaErrorFormatter, validatorCompiler } from './http/parse';
import { lazySerializerCompiler, replies } from './http/replies';
import { Type } from 'typebox';
import { securityHeaders } from './http/security-headers';
import { eventLoopLagMs, registerLoadShedding } from './http/load-shed';
import { authRoutes } from './auth/routes';
import { catalogRoutes } from './catalog/routes';
import { jobsRoutes } from './jobs/routes';
import { jobOutputRoutes } from './jobs/output-routes';
import { controlRoutes } from './jobs/control-routes';
import type { AppParts, Services } from './context';
import { JobsService } from './jobs/service';
import websocket from '@fastify/websocket';
import { TasksService } from './tasks/service';
import { TASKS_LIST_REPLIES, tasksList, tasksRoutes } from './tasks/routes';
import { jobsSocketCalls } from './jobs/socket-calls';
import { LiveHub, MAX_CLIENT_FRAME_BYTES } from './live/hub';
import { liveRoutes } from './live/plugin';
import { socketErrorHandler } from './live/socket-errors';
import { providerGatewayPlugin } from './jobs/providers-plugin';
import type { Loopback } from './provider/kit/transport';
import { exampleProviderPlugin } from './provider/index';
import { slurmProviderPlugin } from './provider/slurm/index';
import { interfacesPlugin } from './interfaces/plugin';

export const BODY_LIMIT = 1024 * 1024;

export interface BuildOptions {
  db: Db;
  config?: Partial<Config>;
  logger?: FastifyServerOptions['logger'];
  /** How the core and the built-in provider reach each other: 'http' once listening (main.ts), else app.inject. */
  loopback?: Loopback;
  /** Filled in with the objects the plugins build (providers, gateway, verify loop, interfaces), for the caller to reach. */
  parts?: AppParts;
}

function parseJson(body: string): unknown {
  if (body.trim() === '') throw new HttpError(400, '(body): the request body is empty; send a JSON document');
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new HttpError(400, `(body): malformed JSON (${(error as Error).message})`);
  }
}

/**
 * A lost or refused database connection is an outage, not a bug in the request: PostgreSQL's connection-exception
 * (08…) and operator-intervention (57P…) classes, and the driver's own "connection terminated" errors.
 */
function isDatabaseUnavailable(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (/^08/.test(code) || /^57P0[1-3]$/.test(code) || code === 'ECONNREFUSED' || code === 'ECONNRESET')) return true;
  return typeof message === 'string' && /Connection terminated|Client has encountered a connection error|terminating connection/i.test(message);
}

/** Builds the whole server as a Fastify instance; it never listens (main.ts does, tests use inject). */
export async function buildApp(options: BuildOptions): Promise<FastifyInstance> {
  const config: Config = { ...configFromEnv(), publicDir: null, ...options.config };
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    schemaErrorFormatter,
  });
  // Every route's schema.body/querystring is checked by TypeBox's compiled validator; its 200 and error bodies are
  // written by fast-json-stringify from schema.response (Fastify's own serialiser, compiled at a route's first answer).
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(lazySerializerCompiler());

  const catalog = loadCatalog(config.catalogFile ?? undefined);
  const bus = new EventBus();
  const leader = startLeaderElection(options.db, { retryMs: config.leaderRetryMs, log: app.log });
  const outputs: Services['outputs'] = new Map();
  const services: Services = {
    db: options.db,
    leader,
    config,
    catalog,
    bus,
    credentials: await bootstrapPrincipals(options.db, config.dataDir),
    jobs: new JobsService(options.db, catalog, bus),
    tasks: new TasksService(options.db, bus, {
      retentionMs: config.taskRetentionMs,
      maxQueue: config.shedTaskQueue,
      retryAfterS: config.shedRetryAfterS,
    }),
    live: new LiveHub(options.db, {
      pingIntervalMs: config.wsPingIntervalMs,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      maxStreamsPerSocket: config.wsMaxStreamsPerSocket,
      idleUnauthenticatedMs: config.wsIdleUnauthenticatedMs,
      maxSocketsPerToken: config.wsMaxSocketsPerToken,
      maxSockets: config.wsMaxSockets,
    }, app.log),
    outputs,
  };
  app.decorate('services', services);

  // The seeds send `Content-Type: content-type: application/json; charset=utf-8`, which is not a valid
  // media type; any body is therefore read as JSON, whatever its declared type.
  // Callback hooks here and below, not async ones: every request passes them, and a promise each adds up.
  app.addHook('onRequest', (request, _reply, done) => {
    const type = request.headers['content-type'];
    if (type !== undefined && !/^[\w.+-]+\/[\w.+-]+\s*(;.*)?$/.test(type)) request.headers['content-type'] = 'application/json';
    done();
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_req, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      if (error.retryAfterS !== null) reply.header('retry-after', String(error.retryAfterS));
      return reply.status(error.statusCode).send({ why: error.why, errorCode: error.errorCode });
    }
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      return reply.status(413).send({ why: '(body): the request body is larger than 1 MiB', errorCode: null });
    }
    // schemaErrorFormatter has worded it already: `items[0].replicas: must be an integer >= 1`.
    if (error.validation) return reply.status(400).send({ why: error.message, errorCode: null });
    if (status >= 400 && status < 500) {
      return reply.status(status).send({ why: error.message, errorCode: null });
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      return reply.status(503).header('retry-after', '2').send({ why: 'The database is unavailable right now; try again in a few seconds', errorCode: 'DATABASE_UNAVAILABLE' });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send({ why: 'Internal server error', errorCode: null });
  });

  // First, so every answer carries them, a 401 or a 404 included.
  await app.register(securityHeaders);
  await app.register(authPlugin, { db: options.db });
  // After authentication (401/403 first), before the body is even parsed.
  await registerLoadShedding(app, { maxLagMs: config.shedLagMs, retryAfterS: config.shedRetryAfterS });
  await app.register(websocket, { options: { maxPayload: MAX_CLIENT_FRAME_BYTES }, errorHandler: socketErrorHandler(app.log) });
  await app.register(authRoutes);
  await app.register(catalogRoutes);
  await app.register(jobsRoutes);
  await app.register(jobOutputRoutes);
  await app.register(controlRoutes);
  // Socket calls in the order a 400 for an unknown call lists them: tasks.listen, then jobs.follow and jobs.listen.
  await app.register(tasksRoutes);
  await app.register(jobsSocketCalls);
  await app.register(liveRoutes, { plainGet: { '/api/tasks': { handler: tasksList(app), response: TASKS_LIST_REPLIES } } });
  const parts = options.parts ?? {};
  await app.register(providerGatewayPlugin, { loopback: options.loopback ?? 'inject', parts });
  await app.register(exampleProviderPlugin, { loopback: options.loopback ?? 'inject', parts });
  await app.register(slurmProviderPlugin, { loopback: options.loopback ?? 'inject', parts });
  await app.register(interfacesPlugin, { parts });

  // No database query: a load balancer's check must not depend on it. `leader`: this process runs the background loops.
  // `load`: what load shedding looks at (server/http/load-shed.ts), so an operator can see why a replica sheds.
  const Health = Type.Object({ status: Type.Literal('ok'), database: Type.String(), leader: Type.Boolean() });
  app.get('/api/health', { schema: { response: replies(Health) } }, async () => ({
    status: 'ok',
    database: options.db.kind,
    leader: leader.isLeader(),
    load: { eventLoopLagMs: eventLoopLagMs(app), taskQueue: services.tasks.queueDepth },
  }));
  // After every plugin's preClose (which stops its loops): give up leadership so another process takes over at once.
  app.addHook('onClose', async () => leader.stop());

  const publicDir = config.publicDir;
  if (publicDir && fs.existsSync(path.join(publicDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: publicDir, wildcard: false });
  }
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0] ?? '';
    const isApi = url.startsWith('/api/') || url.startsWith('/ucloud/');
    // Client-side routes get the SPA; unknown API paths get a contract-shaped 404.
    if (!isApi && request.method === 'GET' && publicDir && fs.existsSync(path.join(publicDir, 'index.html'))) {
      return reply.type('text/html').sendFile('index.html');
    }
    return reply.status(404).send({ why: `No such endpoint: ${request.method} ${url}`, errorCode: null });
  });

  return app;
}
