import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { loopbackTransport, type Loopback } from '../kit/transport';
import { whileLeader } from '../../db/leader';
import { SlurmClient } from './client';
import { SLURM_PROVIDER_ID, SlurmProvider } from './slurm-provider';
import { slurmProviderRoutes } from './routes';
import { outputFilesIn } from './script';
import type { AppParts } from '../../context';

export { SlurmProvider, SLURM_PROVIDER_ID } from './slurm-provider';

/**
 * Mounts the `slurm` provider when JOBDECK_SLURM_URL names a slurmrestd: its routes under /ucloud/slurm, and its loop
 * (the poll and the outbox, in the leader only), which reaches the core over `loopback` with its own token.
 */
export const slurmProviderPlugin = fp(async (app: FastifyInstance, opts: { loopback: Loopback; parts: AppParts }) => {
  const { db, config, credentials } = app.services;
  if (!config.slurmUrl) return;
  const client = new SlurmClient({ url: config.slurmUrl, jwt: config.slurmJwt, timeoutMs: config.providerTimeoutMs });
  const provider = new SlurmProvider({
    db,
    core: loopbackTransport(app, opts.loopback, config.providerTimeoutMs),
    token: credentials.slurm,
    log: app.log.child({ component: 'slurm-provider' }),
    client,
    catalog: app.services.catalog,
    workDir: config.slurmWorkDir,
    pollMs: Math.max(1, config.slurmPollMs),
    retryMs: config.providerRetryMs,
    retryMaxMs: config.providerRetryMaxMs,
    probeWaitMs: config.slurmProbeWaitMs,
    productsMs: Math.max(1, config.slurmProductsMs),
  });
  opts.parts.slurm = provider;
  // Its jobs' output files are on this machine (a shared file system on a real cluster): jobs.follow and the download.
  app.services.outputs.set(SLURM_PROVIDER_ID, (jobId) => outputFilesIn(config.slurmWorkDir, jobId));
  await app.register(slurmProviderRoutes, { provider });
  const loops = whileLeader(app.services.leader, { start: () => provider.start(), stop: () => provider.stop() }, (error) =>
    app.log.error({ err: error }, 'slurm provider: starting or stopping failed'),
  );
  app.addHook(opts.loopback === 'http' ? 'onListen' : 'onReady', () => loops.enable());
  app.addHook('preClose', () => loops.disable());
});
