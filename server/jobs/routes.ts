import type { FastifyInstance } from 'fastify';
import { JobsBrowseQuery, JobsCreateRequest, JobsExtendRequest, JobsRetrieveQuery, JobsTerminateRequest } from '../../contract/jobs';
import { FindByStringId, DEFAULT_ITEMS_PER_PAGE } from '../../contract/common';
import { parse, parseQuery } from '../http/parse';
import { badRequest } from '../http/errors';
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
export async function jobsRoutes(app: FastifyInstance) {
  const jobs = app.services.jobs;

  app.post('/api/jobs', { config: { roles: USER, shed: true } }, async (request) => {
    const { items } = parse(JobsCreateRequest, request.body);
    return { responses: await jobs.create(principal(request).username, items) };
  });

  app.get('/api/jobs/browse', { config: { roles: USER } }, async (request) => {
    const q = parseQuery(JobsBrowseQuery, request.query);
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

  app.get('/api/jobs/retrieve', { config: { roles: USER } }, async (request) => {
    const q = parseQuery(JobsRetrieveQuery, request.query);
    return jobs.retrieve(principal(request).username, q.id, q.includeUpdates ?? true, q);
  });

  // Extension: the jobs that connect to this one (reverse peers).
  app.get('/api/jobs/browseConnected', { config: { roles: USER } }, async (request) => {
    const { id } = parseQuery(FindByStringId, request.query);
    return jobs.browseConnected(principal(request).username, id);
  });

  app.post('/api/jobs/terminate', { config: { roles: USER } }, async (request) => {
    const { items } = parse(JobsTerminateRequest, request.body);
    return jobs.terminate(principal(request).username, items.map((i) => i.id));
  });

  app.post('/api/jobs/extend', { config: { roles: USER } }, async (request) => {
    const { items } = parse(JobsExtendRequest, request.body);
    return jobs.extend(principal(request).username, items);
  });
}
