import type { FastifyInstance } from 'fastify';
import { AppsBrowseQuery, AppsRetrieveQuery, ProductsBrowseQuery } from '../../contract/catalog';
import { parseQuery } from '../http/parse';
import { notFound } from '../http/errors';

// Contract §1: catalog reads are for people using the dashboard.
const USER_ROLES = ['USER'] as const;

/** The catalog is small and read-only at run time, so it is served whole as one page. */
export async function catalogRoutes(app: FastifyInstance) {
  const { catalog } = app.services;

  app.get('/api/hpc/apps/browse', { config: { roles: USER_ROLES } }, async (request) => {
    parseQuery(AppsBrowseQuery, request.query);
    const items = catalog.applications.map(({ name, version, title, description }) => ({ name, version, title, description }));
    return { items, itemsPerPage: Math.max(items.length, 50), next: null };
  });

  app.get('/api/hpc/apps/retrieve', { config: { roles: USER_ROLES } }, async (request) => {
    const { name, version } = parseQuery(AppsRetrieveQuery, request.query);
    const application = catalog.findApplication(name, version);
    if (!application) throw notFound(`name: no application '${name}' version '${version}'`);
    return application;
  });

  app.get('/api/products/browse', { config: { roles: USER_ROLES } }, async (request) => {
    const { filterProvider } = parseQuery(ProductsBrowseQuery, request.query);
    const items = catalog.products.filter((p) => !filterProvider || p.provider === filterProvider);
    return { items, itemsPerPage: Math.max(items.length, 50), next: null };
  });
}
