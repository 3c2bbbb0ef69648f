import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Job, JobsControlBrowseQuery, JobsControlBrowseResponse, JobsControlRetrieveQuery, JobsControlUpdateRequest } from '../../contract/jobs';
import { DEFAULT_ITEMS_PER_PAGE, Unit } from '../../contract/common';
import { replies } from '../http/replies';
import { principal } from '../auth/plugin';
import { checkNext } from './routes';

const PROVIDER = ['PROVIDER'] as const;

/** Provider → core (contract §4). A provider's principal name is its provider id. */
export async function controlRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const jobs = app.services.jobs;

  const update = { body: JobsControlUpdateRequest, response: replies(Unit) };
  app.post('/api/jobs/control/update', { schema: update, config: { roles: PROVIDER } }, async (request) => {
    const { items } = request.body;
    await jobs.controlUpdate(principal(request).username, items);
    return {};
  });

  const browse = { querystring: JobsControlBrowseQuery, response: replies(JobsControlBrowseResponse) };
  app.get('/api/jobs/control/browse', { schema: browse, config: { roles: PROVIDER } }, async (request) => {
    const q = request.query;
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

  const retrieve = { querystring: JobsControlRetrieveQuery, response: replies(Job) };
  app.get('/api/jobs/control/retrieve', { schema: retrieve, config: { roles: PROVIDER } }, async (request) => {
    const q = request.query;
    return jobs.retrieveForProvider(principal(request).username, q.id, q.includeUpdates ?? true, q);
  });
}
