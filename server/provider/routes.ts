import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProviderInterfaceTarget, type Job } from '../../contract/jobs';
import { FindByStringId } from '../../contract/common';
import { isDnsName } from '../../contract/validators';
import { badRequest, conflict, notFound } from '../http/errors';
import { replies } from '../http/replies';
import { PROVIDER_ID, type ExampleProvider } from './example-provider';
import { checkProvider, JobViewReply, providerApiRoutes } from './kit/api-routes';

const SERVICE = ['SERVICE'] as const;
const SERVICE_OR_ADMIN = ['SERVICE', 'ADMIN'] as const;
const ADMIN = ['ADMIN'] as const;

const ForgetRequest = Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: false });

// The provider's firewall view (views.ts): its frame; every other field passes as it is.
const Peer = Type.Object({ jobId: Type.String(), hostname: Type.String() });
export const FirewallReply = Type.Object({ jobId: Type.String(), allowsFrom: Type.Array(Peer), resolves: Type.Array(Peer) });

/** What the schema cannot say: the job is for this provider, and its peers have usable hostnames. */
function checkJobs(jobs: Job[], at: (i: number) => string) {
  checkProvider(PROVIDER_ID, jobs, at);
  jobs.forEach((job, i) => {
    const check = (value: { type: string; hostname?: string }, field: string) => {
      if (value.type === 'peer' && !isDnsName(value.hostname!)) {
        throw badRequest(`${field}.hostname: must be a DNS name (a-z, 0-9, '-', '.'; labels of at most 63 characters)`);
      }
    };
    for (const [name, value] of Object.entries(job.specification.parameters ?? {})) {
      if (value) check(value, `${at(i)}.specification.parameters.${name}`);
    }
    (job.specification.resources ?? []).forEach((value, j) => check(value, `${at(i)}.specification.resources[${j}]`));
  });
}

/** The provider API of the built-in provider (contract §5), and its operator calls. Only the core (SERVICE) may run jobs. */
export async function exampleProviderRoutes(fastify: FastifyInstance, opts: { provider: ExampleProvider }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { provider } = opts;
  const base = `/ucloud/${PROVIDER_ID}`;

  providerApiRoutes(app, { id: PROVIDER_ID, api: provider, check: checkJobs });

  // Who may connect to a job: the core's /api/jobs/firewall and the dashboard show this (README.md).
  const firewall = { querystring: FindByStringId, response: replies(FirewallReply) };
  app.get(`${base}/jobs/firewall`, { schema: firewall, config: { roles: SERVICE_OR_ADMIN } }, async (request) => {
    const { id } = request.query;
    const view = await provider.firewall(id);
    if (!view) throw notFound(`id: provider '${PROVIDER_ID}' does not know job '${id}'`);
    return view;
  });

  // The provider's own view of a job: what it would answer verify with, for operators and tests.
  const retrieve = { querystring: FindByStringId, response: replies(JobViewReply) };
  app.get(`${base}/jobs/retrieve`, { schema: retrieve, config: { roles: SERVICE_OR_ADMIN } }, async (request) => {
    const { id } = request.query;
    const view = await provider.describe(id);
    if (!view) throw notFound(`id: provider '${PROVIDER_ID}' does not know job '${id}'`);
    return view;
  });

  // Where a running job's web interface listens, for the core's interface proxy only (server/interfaces/).
  const target = { querystring: FindByStringId, response: replies(ProviderInterfaceTarget) };
  app.get(`${base}/jobs/interface`, { schema: target, config: { roles: SERVICE } }, async (request) => {
    const { id } = request.query;
    const target = await provider.interfaceTarget(id);
    if ('missing' in target) {
      if (target.missing === 'unknown') throw notFound(`id: ${target.why}`);
      throw conflict(`id: ${target.why}`, target.missing === 'not-running' ? 'JOB_NOT_RUNNING' : 'NO_INTERFACE');
    }
    return target;
  });

  // `npm run cli -- provider forget <jobId>` (contract §8).
  const forget = { body: ForgetRequest, response: replies(Type.Object({ id: Type.String(), forgotten: Type.Boolean() })) };
  app.post(`${base}/admin/forget`, { schema: forget, config: { roles: ADMIN } }, async (request) => {
    const { id } = request.body;
    if (!(await provider.forget(id))) throw notFound(`id: provider '${PROVIDER_ID}' does not know job '${id}'`);
    return { id, forgotten: true };
  });
}
