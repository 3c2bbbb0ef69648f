import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { JobsOpenInteractiveSessionRequest, JobsOpenInteractiveSessionResponse, type OpenSessionWithProvider } from '../../contract/jobs';
import { replies } from '../http/replies';
import { HttpError, badRequest, conflict } from '../http/errors';
import { principal } from '../auth/plugin';
import { interfaceOrigin, jobIdOfHost, parseInterfaceDomain } from './domain';
import { buildInterfaceApp, GRANT_PATH } from './proxy';
import { InterfaceService } from './service';
import type { AppParts } from '../context';

/**
 * Job interfaces (README.md): UCloud's `jobs.openInteractiveSession` on the dashboard's API, and the interface
 * origins `job-<id>.<domain>`, whose requests the main server hands to a separate Fastify instance by Host header
 * before its own router ever sees them.
 */
export const interfacesPlugin = fp(async (app: FastifyInstance, opts: { parts: AppParts }) => {
  const { db, bus, credentials, config, jobs, catalog } = app.services;
  const domain = parseInterfaceDomain(config.interfaceDomain);
  const service = new InterfaceService({
    db,
    bus,
    transportFor: () => app.services.providers!.transportFor,
    serviceToken: credentials.ucloud,
    log: app.log,
  });
  opts.parts.interfaces = service;
  const { app: proxy, sockets } = await buildInterfaceApp({ service, domain, log: app.log });

  // Every request and upgrade whose Host is a job's interface origin goes to the interface server instead; the test
  // is a few string operations, so the dashboard's own requests pay nothing for it.
  const server = app.server;
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  const emitProxy = proxy.server.emit.bind(proxy.server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]) => {
    if ((event === 'request' || event === 'upgrade') && jobIdOfHost(domain, (args[0] as IncomingMessage).headers.host) !== null) {
      return emitProxy(event, ...args);
    }
    return emit(event, ...args);
  }) as typeof server.emit;

  app.addHook('preClose', async () => {
    for (const socket of sockets) socket.terminate();
  });
  app.addHook('onClose', async () => {
    service.close();
    await proxy.close();
  });

  const listeningPort = () => {
    const address = app.server.address() as AddressInfo | string | null;
    return address && typeof address === 'object' ? address.port : config.port;
  };

  // UCloud's jobs.openInteractiveSession, for WEB sessions: a grant for each job, all checked before any is made.
  const open = { body: JobsOpenInteractiveSessionRequest, response: replies(JobsOpenInteractiveSessionResponse) };
  app.withTypeProvider<TypeBoxTypeProvider>().post('/api/jobs/interactiveSession', { schema: open, config: { roles: ['USER'] } }, async (request) => {
    const { items } = request.body;
    const owner = principal(request).username;
    const checked = [];
    for (const [i, item] of items.entries()) {
      if (item.sessionType !== 'WEB') throw badRequest(`items[${i}].sessionType: only WEB sessions are served here, not ${item.sessionType}`);
      if (item.rank !== 0) throw badRequest(`items[${i}].rank: jobs here run on one node; use rank 0`);
      let job;
      try {
        job = await jobs.retrieve(owner, item.id, false);
      } catch (error) {
        if (error instanceof HttpError && error.statusCode === 404) throw new HttpError(404, `items[${i}].id: no job '${item.id}'`);
        throw error;
      }
      const { name, version } = job.specification.application;
      if (catalog.findApplication(name, version)?.applicationType !== 'WEB') {
        throw badRequest(`items[${i}].id: job ${job.id} runs ${name} ${version}, which has no web interface`);
      }
      if (job.status.state !== 'RUNNING') {
        throw conflict(`items[${i}].id: job ${job.id} is ${job.status.state}; its interface opens while it runs`, 'JOB_NOT_RUNNING');
      }
      checked.push(job);
    }
    const responses: OpenSessionWithProvider[] = [];
    for (const job of checked) {
      const { grant, expiresAt } = await service.createGrant(job.id, owner);
      const origin = interfaceOrigin(domain, job.id, listeningPort());
      responses.push({
        providerDomain: origin,
        providerId: job.specification.product.provider,
        session: { type: 'web', jobId: job.id, rank: 0, redirectClientTo: `${origin}${GRANT_PATH}?g=${grant}`, expiresAt },
      });
    }
    return { responses };
  });
});
