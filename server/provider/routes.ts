import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import {
  CALL_ID_HEADER,
  MAX_CALL_ID_LENGTH,
  ProviderJobsCreateRequest,
  ProviderJobsExtendRequest,
  ProviderJobsTerminateRequest,
  ProviderJobsVerifyRequest,
  type Job,
} from '../../contract/jobs';
import { FindByStringId, durationToMillis } from '../../contract/common';
import { isDnsName } from '../../contract/validators';
import { parse, parseQuery } from '../http/parse';
import { badRequest, conflict, notFound } from '../http/errors';
import { PROVIDER_ID, type ExampleProvider } from './example-provider';

const SERVICE = ['SERVICE'] as const;
const SERVICE_OR_ADMIN = ['SERVICE', 'ADMIN'] as const;
const ADMIN = ['ADMIN'] as const;

const ForgetRequest = Type.Object({ id: Type.String({ minLength: 1 }) }, { additionalProperties: false });

/** What the schema cannot say: the job is for this provider, and its peers have usable hostnames. */
function checkJobs(jobs: Job[], at: (i: number) => string) {
  jobs.forEach((job, i) => {
    const provider = job.specification.product.provider;
    if (provider !== PROVIDER_ID) {
      throw badRequest(`${at(i)}.specification.product.provider: this is provider '${PROVIDER_ID}', not '${provider}'`);
    }
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

const CALL_ID = /^[A-Za-z0-9._:-]+$/;

/**
 * The ids of the queued calls a request delivers (header `Jobdeck-Call-Id`, one per item, comma-separated; see
 * CALL_ID_HEADER), or undefined without the header: such a call is applied as it always was.
 */
function callIds(headers: Record<string, string | string[] | undefined>, count: number): string[] | undefined {
  const raw = headers[CALL_ID_HEADER];
  if (raw === undefined) return undefined;
  const name = 'Jobdeck-Call-Id';
  // A header sent twice arrives as a list (or joined with commas): either way one list of ids.
  const ids = (Array.isArray(raw) ? raw.join(',') : raw).split(',').map((id) => id.trim());
  ids.forEach((id, i) => {
    if (id === '') throw badRequest(`${name}: id ${i + 1} is empty; send one id per item, separated by commas`);
    if (id.length > MAX_CALL_ID_LENGTH) throw badRequest(`${name}: id ${i + 1} is longer than ${MAX_CALL_ID_LENGTH} characters`);
    if (!CALL_ID.test(id)) throw badRequest(`${name}: id ${i + 1} may only hold A-Z, a-z, 0-9, '.', '_', ':' and '-'`);
  });
  if (ids.length !== count) throw badRequest(`${name}: ${ids.length} ids for ${count} items; send one id per item, in item order`);
  if (new Set(ids).size !== ids.length) throw badRequest(`${name}: an id appears twice; each item is a call of its own`);
  return ids;
}

/** The provider API of the built-in provider (contract §5), and its operator calls. Only the core (SERVICE) may run jobs. */
export async function exampleProviderRoutes(app: FastifyInstance, opts: { provider: ExampleProvider }) {
  const { provider } = opts;
  const base = `/ucloud/${PROVIDER_ID}`;

  app.post(`${base}/jobs`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsCreateRequest, request.body);
    checkJobs(items, (i) => `items[${i}]`);
    return { responses: await provider.create(items, callIds(request.headers, items.length)) };
  });

  app.post(`${base}/jobs/terminate`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsTerminateRequest, request.body);
    checkJobs(items, (i) => `items[${i}]`);
    await provider.terminate(items, callIds(request.headers, items.length));
    return { responses: items.map(() => ({})) };
  });

  app.post(`${base}/jobs/extend`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsExtendRequest, request.body);
    checkJobs(items.map((i) => i.job), (i) => `items[${i}].job`);
    items.forEach((item, i) => {
      if (durationToMillis(item.requestedTime) <= 0) throw badRequest(`items[${i}].requestedTime: must be longer than zero`);
    });
    await provider.extend(items, callIds(request.headers, items.length));
    return { responses: items.map(() => ({})) };
  });

  app.post(`${base}/jobs/verify`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsVerifyRequest, request.body);
    checkJobs(items, (i) => `items[${i}]`);
    await provider.verify(items);
    return {};
  });

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
