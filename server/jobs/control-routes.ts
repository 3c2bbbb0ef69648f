import type { FastifyInstance } from 'fastify';
import { JobsControlBrowseQuery, JobsControlRetrieveQuery, JobsControlUpdateRequest } from '../../contract/jobs';
import { DEFAULT_ITEMS_PER_PAGE } from '../../contract/common';
import { parse, parseQuery } from '../http/parse';
import { principal } from '../auth/plugin';
import { checkNext } from './routes';

const PROVIDER = ['PROVIDER'] as const;

/** Provider → core (contract §4). A provider's principal name is its provider id. */
export async function controlRoutes(app: FastifyInstance) {
  const jobs = app.services.jobs;

  app.post('/api/jobs/control/update', { config: { roles: PROVIDER } }, async (request) => {
    const { items } = parse(JobsControlUpdateRequest, request.body);
    await jobs.controlUpdate(principal(request).username, items);
    return {};
  });

  app.get('/api/jobs/control/browse', { config: { roles: PROVIDER } }, async (request) => {
    const q = parseQuery(JobsControlBrowseQuery, request.query);
    return jobs.browse(null, principal(request).username, {
      itemsPerPage: q.itemsPerPage ?? DEFAULT_ITEMS_PER_PAGE,
      after: checkNext(q.next),
      includeUpdates: q.includeUpdates ?? false,
      includeParameters: true,
      filterState: q.filterState ?? null,
      filterApplication: null,
      include: q,
      sortBy: 'createdAt',
      sortDirection: 'ascending',
    });
  });

  app.get('/api/jobs/control/retrieve', { config: { roles: PROVIDER } }, async (request) => {
    const q = parseQuery(JobsControlRetrieveQuery, request.query);
    return jobs.retrieveForProvider(principal(request).username, q.id, q.includeUpdates ?? true, q);
  });
}
