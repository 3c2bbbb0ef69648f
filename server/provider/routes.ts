import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Job } from '../../contract/jobs';
import { FindByStringId } from '../../contract/common';
import { isDnsName } from '../../contract/validators';
import { parse, parseQuery } from '../http/parse';
import { badRequest, conflict, notFound } from '../http/errors';
import { PROVIDER_ID, type ExampleProvider } from './example-provider';
import { checkProvider, providerApiRoutes } from './kit/api-routes';

const SERVICE = ['SERVICE'] as const;
const SERVICE_OR_ADMIN = ['SERVICE', 'ADMIN'] as const;
const ADMIN = ['ADMIN'] as const;

const ForgetRequest = Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: false });

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
export async function exampleProviderRoutes(app: FastifyInstance, opts: { provider: ExampleProvider }) {
  const { provider } = opts;
  const base = `/ucloud/${PROVIDER_ID}`;

  providerApiRoutes(app, { id: PROVIDER_ID, api: provider, check: checkJobs });

  // Who may connect to a job: the core's /api/jobs/firewall and the dashboard show this (README.md).
  app.get(`${base}/jobs/firewall`, { config: { roles: SERVICE_OR_ADMIN } }, async (request) => {
    const { id } = parseQuery(FindByStringId, request.query);
    const view = await provider.firewall(id);
    if (!view) throw notFound(`id: provider '${PROVIDER_ID}' does not know job '${id}'`);
    return view;
  });

  // The provider's own view of a job: what it would answer verify with, for operators and tests.
  app.get(`${base}/jobs/retrieve`, { config: { roles: SERVICE_OR_ADMIN } }, async (request) => {
    const { id } = parseQuery(FindByStringId, request.query);
    const view = await provider.describe(id);
    if (!view) throw notFound(`id: provider '${PROVIDER_ID}' does not know job '${id}'`);
    return view;
  });

  // Where a running job's web interface listens, for the core's interface proxy only (server/interfaces/).
  app.get(`${base}/jobs/interface`, { config: { roles: SERVICE } }, async (request) => {
    const { id } = parseQuery(FindByStringId, request.query);
    const target = await provider.interfaceTarget(id);
    if ('missing' in target) {
      if (target.missing === 'unknown') throw notFound(`id: ${target.why}`);
      throw conflict(`id: ${target.why}`, target.missing === 'not-running' ? 'JOB_NOT_RUNNING' : 'NO_INTERFACE');
    }
    return target;
  });

  // `npm run cli -- provider forget <jobId>` (contract §8).
  app.post(`${base}/admin/forget`, { config: { roles: ADMIN } }, async (request) => {
    const { id } = parse(ForgetRequest, request.body);
    if (!(await provider.forget(id))) throw notFound(`id: provider '${PROVIDER_ID}' does not know job '${id}'`);
    return { id, forgotten: true };
  });
}
