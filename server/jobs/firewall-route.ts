import type { FastifyInstance } from 'fastify';
import { FindByStringId } from '../../contract/common';
import { parseQuery } from '../http/parse';
import { HttpError } from '../http/errors';
import { principal } from '../auth/plugin';
import { isSuccess, whyOf, type HttpResult, type Transport } from '../provider/kit/transport';

/**
 * Extension: `GET /api/jobs/firewall?id=`, who may connect to the caller's job, as its provider's firewall has it
 * (server/provider/README.md). Another user's job is a 404; a provider that cannot be reached is a 502.
 */
export async function firewallRoute(app: FastifyInstance, opts: { transportFor: (provider: string) => Transport }) {
  const { jobs, credentials } = app.services;
  app.get('/api/jobs/firewall', { config: { roles: ['USER'] } }, async (request) => {
    const { id } = parseQuery(FindByStringId, request.query);
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
    return result.body;
  });
}
