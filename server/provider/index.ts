import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { loopbackTransport, type Loopback } from './kit/transport';
import { ExampleProvider } from './example-provider';
import { whileLeader } from '../db/leader';
import { exampleProviderRoutes } from './routes';
import { outputFilesOf } from './local/run-folder';
import { PROVIDER_ID } from './example-provider';
import type { AppParts } from '../context';

export { ExampleProvider, PROVIDER_ID } from './example-provider';

/**
 * Mounts the built-in provider `example` in this process: its routes under /ucloud/example, and its loop
 * (execution backend and outbox), which reaches the core over `loopback` with the provider's own token. It starts
 * once the app is ready (inject) or listening (http), and stops before the app closes.
 */
export const exampleProviderPlugin = fp(async (app: FastifyInstance, opts: { loopback: Loopback; parts: AppParts }) => {
  const { db, config, credentials } = app.services;
  if (!config.exampleProvider) return;
  const provider = new ExampleProvider({
    db,
    core: loopbackTransport(app, opts.loopback, config.providerTimeoutMs),
    token: credentials.provider,
    log: app.log.child({ component: 'example-provider' }),
    queueDelayMs: config.exampleQueueDelayMs,
    batchRunMs: config.exampleBatchRunMs,
    tickMs: Math.max(1, config.exampleTickMs),
    retryMs: config.providerRetryMs,
    retryMaxMs: config.providerRetryMaxMs,
    imagePull: config.exampleImagePull,
    backend: config.exampleBackend,
    catalog: app.services.catalog,
    dataDir: config.dataDir,
    graceMs: config.exampleGraceMs,
    keepJobs: config.exampleKeepJobs,
    isolation: config.exampleIsolation,
  });
  opts.parts.example = provider;
  // Its jobs' output is in files on this machine, which the core's jobs.follow and download read (server/jobs/output.ts).
  if (config.exampleBackend === 'local') app.services.outputs.set(PROVIDER_ID, (jobId) => outputFilesOf(config.dataDir, jobId));
  await app.register(exampleProviderRoutes, { provider });
  // The loop and the outbox run in the leader only; every process serves the routes (server/db/leader.ts).
  const loops = whileLeader(app.services.leader, { start: () => provider.start(), stop: () => provider.stop() }, (error) =>
    app.log.error({ err: error }, 'example provider: starting or stopping failed'),
  );
  app.addHook(opts.loopback === 'http' ? 'onListen' : 'onReady', () => loops.enable());
  app.addHook('preClose', () => loops.disable());
});
