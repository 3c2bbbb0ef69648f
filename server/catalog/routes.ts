import type { FastifyInstance } from 'fastify';
import { AppsBrowseQuery, AppsRetrieveQuery, ProductsBrowseQuery, ProductsControlRegisterRequest } from '../../contract/catalog';
import { parse, parseQuery } from '../http/parse';
import { badRequest, notFound } from '../http/errors';
import { principal } from '../auth/plugin';
import { RegisteredProducts } from './registered';

// Contract §1: catalog reads are for people using the dashboard.
const USER_ROLES = ['USER'] as const;
const PROVIDER = ['PROVIDER'] as const;

/** The catalog is small and read-only at run time, so it is served whole as one page. */
export async function catalogRoutes(app: FastifyInstance) {
  const { catalog, db } = app.services;
  const registered = new RegisteredProducts(db, catalog);
  const unlisten = await registered.start();
  app.addHook('onClose', async () => unlisten());

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

  // A provider's own products (the slurm provider: its cluster's partitions). A provider's principal name is its id.
  app.post('/api/products/control/register', { config: { roles: PROVIDER } }, async (request) => {
    const { items } = parse(ProductsControlRegisterRequest, request.body);
    const provider = principal(request).username;
    items.forEach((item, i) => {
      if (item.provider !== provider) throw badRequest(`items[${i}].provider: you are provider '${provider}', not '${item.provider}'`);
      const twin = items.findIndex((other) => other.id === item.id && other.category === item.category);
      if (twin !== i) throw badRequest(`items[${i}].id: product '${item.id}' in category '${item.category}' is given twice`);
    });
    await registered.register(provider, items);
    return {};
  });
}
