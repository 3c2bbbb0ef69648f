import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { FindByStringId } from '../../../contract/common';
import { notFound } from '../../http/errors';
import { replies } from '../../http/replies';
import { checkProvider, JobViewReply, providerApiRoutes } from '../kit/api-routes';
import { SLURM_PROVIDER_ID, type SlurmProvider } from './slurm-provider';

const SERVICE_OR_ADMIN = ['SERVICE', 'ADMIN'] as const;

/** The provider API of `slurm` (contract §5) under /ucloud/slurm; only the core (SERVICE) runs jobs. */
export async function slurmProviderRoutes(fastify: FastifyInstance, opts: { provider: SlurmProvider }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { provider } = opts;
  providerApiRoutes(app, { id: SLURM_PROVIDER_ID, api: provider, check: (jobs, at) => checkProvider(SLURM_PROVIDER_ID, jobs, at) });

  // The provider's own view of a job, with its Slurm job id: for operators (`squeue -j`) and tests.
  const retrieve = { querystring: FindByStringId, response: replies(JobViewReply) };
  app.get(`/ucloud/${SLURM_PROVIDER_ID}/jobs/retrieve`, { schema: retrieve, config: { roles: SERVICE_OR_ADMIN } }, async (request) => {
    const { id } = request.query;
    const view = await provider.describe(id);
    if (!view) throw notFound(`id: provider '${SLURM_PROVIDER_ID}' does not know job '${id}'`);
    return view;
  });
}
