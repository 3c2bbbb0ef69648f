import type { FastifyInstance } from 'fastify';
import {
  ProviderJobsCreateRequest,
  ProviderJobsExtendRequest,
  ProviderJobsTerminateRequest,
  ProviderJobsVerifyRequest,
  type Job,
} from '../../../contract/jobs';
import { durationToMillis, type SimpleDuration } from '../../../contract/common';
import { parse } from '../../http/parse';
import { badRequest } from '../../http/errors';
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

/** A 400 naming the field when a job is for another provider. */
export function checkProvider(id: string, jobs: Job[], at: (i: number) => string): void {
  jobs.forEach((job, i) => {
    const provider = job.specification.product.provider;
    if (provider !== id) throw badRequest(`${at(i)}.specification.product.provider: this is provider '${id}', not '${provider}'`);
  });
}

/** Mounts create, terminate, extend and verify; only the core (SERVICE) may call them. */
export function providerApiRoutes(
  app: FastifyInstance,
  opts: { id: string; api: ProviderApi; check: (jobs: Job[], at: (i: number) => string) => void },
): void {
  const { api, check } = opts;
  const base = `/ucloud/${opts.id}`;

  app.post(`${base}/jobs`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsCreateRequest, request.body);
    check(items, (i) => `items[${i}]`);
    return { responses: await api.create(items, parseCallIds(request.headers, items.length)) };
  });

  app.post(`${base}/jobs/terminate`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsTerminateRequest, request.body);
    check(items, (i) => `items[${i}]`);
    await api.terminate(items, parseCallIds(request.headers, items.length));
    return { responses: items.map(() => ({})) };
  });

  app.post(`${base}/jobs/extend`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsExtendRequest, request.body);
    check(items.map((i) => i.job), (i) => `items[${i}].job`);
    items.forEach((item, i) => {
      if (durationToMillis(item.requestedTime) <= 0) throw badRequest(`items[${i}].requestedTime: must be longer than zero`);
    });
    await api.extend(items, parseCallIds(request.headers, items.length));
    return { responses: items.map(() => ({})) };
  });

  app.post(`${base}/jobs/verify`, { config: { roles: SERVICE } }, async (request) => {
    const { items } = parse(ProviderJobsVerifyRequest, request.body);
    check(items, (i) => `items[${i}]`);
    await api.verify(items);
    return {};
  });
}
