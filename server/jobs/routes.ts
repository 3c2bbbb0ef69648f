import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  ConnectedJob,
  Job,
  JobsBrowseQuery,
  JobsBrowseResponse,
  JobsCreateRequest,
  JobsCreateResponse,
  JobsExtendRequest,
  JobsRetrieveQuery,
  JobsTerminateRequest,
} from '../../contract/jobs';
import { BulkResponse, FindByStringId, DEFAULT_ITEMS_PER_PAGE, Unit } from '../../contract/common';
import { badRequest } from '../http/errors';
import { replies } from '../http/replies';
import { principal } from '../auth/plugin';
import { parseNextToken, type PageCursor } from './sort';

const USER = ['USER'] as const;

/** The control API's `next`: a bare job id (it pages in id order only). */
export function checkNext(next: string | undefined): PageCursor | null {
  if (next === undefined || next === '') return null;
  if (!/^[0-9]{1,18}$/.test(next)) throw badRequest(`next: not a page token this server issued`);
  return { values: [], id: Number(next) };
}

/** The user's jobs API (contract §3). */
export async function jobsRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const jobs = app.services.jobs;

  const create = { body: JobsCreateRequest, response: replies(JobsCreateResponse) };
  app.post('/api/jobs', { schema: create, config: { roles: USER, shed: true } }, async (request) => {
    const { items } = request.body;
    return { responses: await jobs.create(principal(request).username, items) };
  });

  const browse = { querystring: JobsBrowseQuery, response: replies(JobsBrowseResponse) };
  app.get('/api/jobs/browse', { schema: browse, config: { roles: USER } }, async (request) => {
    const q = request.query;
    const sortBy = q.sortBy ?? 'createdAt';
    const sortDirection = q.sortDirection ?? 'descending';
    return jobs.browse(principal(request).username, null, {
      itemsPerPage: q.itemsPerPage ?? DEFAULT_ITEMS_PER_PAGE,
      after: parseNextToken(q.next, sortBy, sortDirection),
      includeUpdates: q.includeUpdates ?? false,
      includeParameters: q.includeParameters ?? true,
      filterState: q.filterState ?? null,
      filterApplication: q.filterApplication || null,
      filterCreatedBy: q.filterCreatedBy || null,
      filterCreatedAfter: q.filterCreatedAfter ?? null,
      filterCreatedBefore: q.filterCreatedBefore ?? null,
      filterProvider: q.filterProvider || null,
      none: q.filterType === 'VMS_ONLY',
      include: q,
      filterQuery: q.filterQuery?.trim() || null,
      sortBy,
      sortDirection,
    });
  });

  const retrieve = { querystring: JobsRetrieveQuery, response: replies(Job) };
  app.get('/api/jobs/retrieve', { schema: retrieve, config: { roles: USER } }, async (request) => {
    const q = request.query;
    return jobs.retrieve(principal(request).username, q.id, q.includeUpdates ?? true, q);
  });

  // Extension: the jobs that connect to this one (reverse peers).
  const connected = { querystring: FindByStringId, response: replies(Type.Object({ items: Type.Array(ConnectedJob) })) };
  app.get('/api/jobs/browseConnected', { schema: connected, config: { roles: USER } }, async (request) => {
    const { id } = request.query;
    return jobs.browseConnected(principal(request).username, id);
  });

  const terminate = { body: JobsTerminateRequest, response: replies(BulkResponse(Unit)) };
  app.post('/api/jobs/terminate', { schema: terminate, config: { roles: USER } }, async (request) => {
    const { items } = request.body;
    return jobs.terminate(principal(request).username, items.map((i) => i.id));
  });

  const extend = { body: JobsExtendRequest, response: replies(BulkResponse(Unit)) };
  app.post('/api/jobs/extend', { schema: extend, config: { roles: USER } }, async (request) => {
    const { items } = request.body;
    return jobs.extend(principal(request).username, items);
  });
}
