import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  JobState,
  ProviderJobsCreateRequest,
  ProviderJobsCreateResponse,
  ProviderJobsExtendRequest,
  ProviderJobsTerminateRequest,
  ProviderJobsVerifyRequest,
  type Job,
} from '../../../contract/jobs';
import { BulkResponse, Unit, durationToMillis, type SimpleDuration } from '../../../contract/common';
import { badRequest } from '../../http/errors';
import { replies } from '../../http/replies';
import { parseCallIds } from './call-ids';

/*
 * The provider API's four bulk calls (contract §5) under /ucloud/<provider>, for any provider built on the kit: the
 * request schemas, the Jobdeck-Call-Id header, and the answers' shapes are the protocol's, the same for every
 * provider; what a provider checks beyond the schema (`check`) and what it does are its own.
 */

export interface ProviderApi {
  create(jobs: Job[], callIds?: string[]): Promise<{ id: string }[]>;
  terminate(jobs: Job[], callIds?: string[]): Promise<void>;
  extend(items: { job: Job; requestedTime: SimpleDuration }[], callIds?: string[]): Promise<void>;
  verify(jobs: Job[]): Promise<void>;
}

const SERVICE = ['SERVICE'] as const;

/** A provider's own view of a job (`GET /ucloud/<provider>/jobs/retrieve`, operators and tests): its frame; each provider adds fields, passed as they are. */
export const JobViewReply = Type.Object({ jobId: Type.String(), owner: Type.String(), state: JobState });

/** A 400 naming the field when a job is for another provider. */
export function checkProvider(id: string, jobs: Job[], at: (i: number) => string): void {
  jobs.forEach((job, i) => {
    const provider = job.specification.product.provider;
    if (provider !== id) throw badRequest(`${at(i)}.specification.product.provider: this is provider '${id}', not '${provider}'`);
  });
}

/** Mounts create, terminate, extend and verify; only the core (SERVICE) may call them. */
export function providerApiRoutes(
  fastify: FastifyInstance,
  opts: { id: string; api: ProviderApi; check: (jobs: Job[], at: (i: number) => string) => void },
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { api, check } = opts;
  const base = `/ucloud/${opts.id}`;

  const create = { body: ProviderJobsCreateRequest, response: replies(ProviderJobsCreateResponse) };
  app.post(`${base}/jobs`, { schema: create, config: { roles: SERVICE } }, async (request) => {
    const { items } = request.body;
    check(items, (i) => `items[${i}]`);
    return { responses: await api.create(items, parseCallIds(request.headers, items.length)) };
  });

  const terminate = { body: ProviderJobsTerminateRequest, response: replies(BulkResponse(Unit)) };
  app.post(`${base}/jobs/terminate`, { schema: terminate, config: { roles: SERVICE } }, async (request) => {
    const { items } = request.body;
    check(items, (i) => `items[${i}]`);
    await api.terminate(items, parseCallIds(request.headers, items.length));
    return { responses: items.map(() => ({})) };
  });

  const extend = { body: ProviderJobsExtendRequest, response: replies(BulkResponse(Unit)) };
  app.post(`${base}/jobs/extend`, { schema: extend, config: { roles: SERVICE } }, async (request) => {
    const { items } = request.body;
    check(items.map((i) => i.job), (i) => `items[${i}].job`);
    items.forEach((item, i) => {
      if (durationToMillis(item.requestedTime) <= 0) throw badRequest(`items[${i}].requestedTime: must be longer than zero`);
    });
    await api.extend(items, parseCallIds(request.headers, items.length));
    return { responses: items.map(() => ({})) };
  });

  const verify = { body: ProviderJobsVerifyRequest, response: replies(Unit) };
  app.post(`${base}/jobs/verify`, { schema: verify, config: { roles: SERVICE } }, async (request) => {
    const { items } = request.body;
    check(items, (i) => `items[${i}]`);
    await api.verify(items);
    return {};
  });
}
