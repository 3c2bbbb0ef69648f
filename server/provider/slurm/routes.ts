import type { FastifyInstance } from 'fastify';
import {
  ProviderJobsCreateRequest,
  ProviderJobsExtendRequest,
  ProviderJobsTerminateRequest,
  ProviderJobsVerifyRequest,
  type Job,
} from '../../../contract/jobs';
import { FindByStringId, durationToMillis } from '../../../contract/common';
import { parse, parseQuery } from '../../http/parse';
import { badRequest, notFound } from '../../http/errors';
import { parseCallIds } from '../kit/call-ids';
import { SLURM_PROVIDER_ID, type SlurmProvider } from './slurm-provider';

const SERVICE = ['SERVICE'] as const;
const SERVICE_OR_ADMIN = ['SERVICE', 'ADMIN'] as const;

function checkJobs(jobs: Job[], at: (i: number) => string) {
  jobs.forEach((job, i) => {
    const provider = job.specification.product.provider;
    if (provider !== SLURM_PROVIDER_ID) {
      throw badRequest(`${at(i)}.specification.product.provider: this is provider '${SLURM_PROVIDER_ID}', not '${provider}'`);
    }
  });
}

/** The provider API of `slurm` (contract §5) under /ucloud/slurm; only the core (SERVICE) runs jobs. */
export async function slurmProviderRoutes(app: FastifyInstance, opts: { provider: SlurmProvider }) {
  const { provider } = opts;
  const base = `/ucloud/${SLURM_PROVIDER_ID}`;

  app.post(`${base}/jobs`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsCreateRequest, request.body);
    checkJobs(items, (i) => `items[${i}]`);
    return { responses: await provider.create(items, parseCallIds(request.headers, items.length)) };
  });

  app.post(`${base}/jobs/terminate`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsTerminateRequest, request.body);
    checkJobs(items, (i) => `items[${i}]`);
    await provider.terminate(items, parseCallIds(request.headers, items.length));
    return { responses: items.map(() => ({})) };
  });

  app.post(`${base}/jobs/extend`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsExtendRequest, request.body);
    checkJobs(items.map((i) => i.job), (i) => `items[${i}].job`);
    items.forEach((item, i) => {
      if (durationToMillis(item.requestedTime) <= 0) throw badRequest(`items[${i}].requestedTime: must be longer than zero`);
    });
    await provider.extend(items, parseCallIds(request.headers, items.length));
    return { responses: items.map(() => ({})) };
  });

  app.post(`${base}/jobs/verify`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsVerifyRequest, request.body);
    checkJobs(items, (i) => `items[${i}]`);
    await provider.verify(items);
    return {};
  });

  // The provider's own view of a job, with its Slurm job id: for operators (`squeue -j`) and tests.
  app.get(`${base}/jobs/retrieve`, { config: { roles: SERVICE_OR_ADMIN } }, async (request) => {
    const { id } = parseQuery(FindByStringId, request.query);
    const view = await provider.describe(id);
    if (!view) throw notFound(`id: provider '${SLURM_PROVIDER_ID}' does not know job '${id}'`);
    return view;
  });
}
