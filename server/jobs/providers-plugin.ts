import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { fetchTransport, loopbackTransport, type Loopback, type Transport } from '../provider/kit/transport';
import { whileLeader } from '../db/leader';
import { CALLS_CHANNEL, HttpProviderGateway } from './provider-gateway';
import { VerifyLoop } from './verify';
import { firewallRoute } from './firewall-route';
import type { AppParts } from '../context';

export interface ProviderGatewayPluginOptions {
  loopback: Loopback;
  parts: AppParts;
}

/**
 * The core's side of contract §5: a transport per provider (its configured URL, or this server over loopback), the
 * gateway, the verify loop and the user's firewall view. Loops start when the app is ready (inject) or listening
 * (http), and stop before it closes.
 */
export const providerGatewayPlugin = fp(async (app: FastifyInstance, opts: ProviderGatewayPluginOptions) => {
  const { db, config, jobs, credentials } = app.services;
  const loopback = loopbackTransport(app, opts.loopback, config.providerTimeoutMs);
  const transports = new Map<string, Transport>();
  const transportFor = (provider: string): Transport => {
    let transport = transports.get(provider);
    if (!transport) {
      const url = config.providerUrls[provider];
      transport = url ? fetchTransport(url, config.providerTimeoutMs) : loopback;
      transports.set(provider, transport);
    }
    return transport;
  };

  const gateway = new HttpProviderGateway({
    db,
    jobs,
    token: credentials.ucloud,
    transportFor,
    retryMs: config.providerRetryMs,
    retryMaxMs: config.providerRetryMaxMs,
    timeoutMs: config.providerTimeoutMs,
    session: () => app.services.leader.session(),
    log: app.log,
  });
  jobs.gateway = gateway;
  const verify = new VerifyLoop({
    db,
    intervalMs: config.verifyIntervalMs,
    token: credentials.ucloud,
    transportFor,
    log: app.log,
    // Each sweep also catches any job whose create never made it into the queue.
    beforeSweep: () => gateway.recover(60_000),
  });
  app.services.providers = { transportFor };
  opts.parts.gateway = gateway;
  opts.parts.verify = verify;

  // Delivery and verify run in the leader only (server/db/leader.ts); any process may queue calls.
  const loops = whileLeader(
    app.services.leader,
    {
      start: async () => {
        verify.start();
        await gateway.start();
      },
      stop: async () => {
        await verify.stop();
        await gateway.stop();
      },
    },
    (error) => app.log.error({ err: error }, 'provider gateway: starting or stopping failed'),
  );
  const unlisten = db.kind === 'postgres' ? await db.listen(CALLS_CHANNEL, (payload) => gateway.notified(payload)) : null;
  app.addHook(opts.loopback === 'http' ? 'onListen' : 'onReady', () => loops.enable());
  app.addHook('preClose', async () => {
    await loops.disable();
    await unlisten?.();
  });

  await firewallRoute(app, { transportFor });
});
