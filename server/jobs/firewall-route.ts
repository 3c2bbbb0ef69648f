import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { FindByStringId } from '../../contract/common';
import { HttpError } from '../http/errors';
import { replies } from '../http/replies';
import { principal } from '../auth/plugin';
import { isSuccess, whyOf, type HttpResult, type Transport } from '../provider/kit/transport';

type FirewallView = { jobId: string; allowsFrom: unknown[]; resolves: unknown[] };

/**
 * Extension: `GET /api/jobs/firewall?id=`, who may connect to the caller's job, as its provider's firewall has it
 * (server/provider/README.md). Another user's job is a 404; a provider that cannot be reached is a 502.
 */
export async function firewallRoute(fastify: FastifyInstance, opts: { transportFor: (provider: string) => Transport }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { jobs, credentials } = app.services;
  // The provider's view, passed on as it is (server/provider/README.md), so only its frame is declared.
  const firewall = { querystring: FindByStringId, response: replies(Type.Object({ jobId: Type.String(), allowsFrom: Type.Array(Type.Unknown()), resolves: Type.Array(Type.Unknown()) })) };
  app.get('/api/jobs/firewall', { schema: firewall, config: { roles: ['USER'] } }, async (request) => {
    const { id } = request.query;
    const job = await jobs.retrieve(principal(request).username, id, false);
    const provider = job.specification.product.provider;
    let result: HttpResult;
    try {
      result = await opts.transportFor(provider)('GET', `/ucloud/${provider}/jobs/firewall?id=${encodeURIComponent(id)}`, credentials.ucloud);
    } catch (error) {
      throw new HttpError(502, `Provider '${provider}' could not be reached (${(error as Error).message}); try again shortly`);
    }
    // A provider that does not know the job has no rule for it: everything is denied.
    if (result.status === 404) return { jobId: id, allowsFrom: [], resolves: [] };
    if (!isSuccess(result.status)) throw new HttpError(502, `Provider '${provider}' could not show its firewall (${whyOf(result)})`);
    return result.body as FirewallView;
  });
}
