import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  Application,
  AppsBrowseQuery,
  AppsBrowseResponse,
  AppsRetrieveQuery,
  ProductsBrowseQuery,
  ProductsBrowseResponse,
  ProductsControlRegisterRequest,
} from '../../contract/catalog';
import { Unit } from '../../contract/common';
import { badRequest, notFound } from '../http/errors';
import { replies } from '../http/replies';
import { principal } from '../auth/plugin';
import { RegisteredProducts } from './registered';

// Contract §1: catalog reads are for people using the dashboard.
const USER_ROLES = ['USER'] as const;
const PROVIDER = ['PROVIDER'] as const;

/** The catalog is small and read-only at run time, so it is served whole as one page. */
export async function catalogRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { catalog, db } = app.services;
  const registered = new RegisteredProducts(db, catalog);
  const unlisten = await registered.start();
  app.addHook('onClose', async () => unlisten());

  const browseApps = { querystring: AppsBrowseQuery, response: replies(AppsBrowseResponse) };
  app.get('/api/hpc/apps/browse', { schema: browseApps, config: { roles: USER_ROLES } }, async () => {
    const items = catalog.applications.map(({ name, version, title, description }) => ({ name, version, title, description }));
    return { items, itemsPerPage: Math.max(items.length, 50), next: null };
  });

  const retrieveApp = { querystring: AppsRetrieveQuery, response: replies(Application) };
  app.get('/api/hpc/apps/retrieve', { schema: retrieveApp, config: { roles: USER_ROLES } }, async (request) => {
    const { name, version } = request.query;
    const application = catalog.findApplication(name, version);
    if (!application) throw notFound(`name: no application '${name}' version '${version}'`);
    return application;
  });

  const browseProducts = { querystring: ProductsBrowseQuery, response: replies(ProductsBrowseResponse) };
  app.get('/api/products/browse', { schema: browseProducts, config: { roles: USER_ROLES } }, async (request) => {
    const { filterProvider } = request.query;
    const items = catalog.products.filter((p) => !filterProvider || p.provider === filterProvider);
    return { items, itemsPerPage: Math.max(items.length, 50), next: null };
  });

  // A provider's own products (the slurm provider: its cluster's partitions). A provider's principal name is its id.
  const register = { body: ProductsControlRegisterRequest, response: replies(Unit) };
  app.post('/api/products/control/register', { schema: register, config: { roles: PROVIDER } }, async (request) => {
    const { items } = request.body;
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
