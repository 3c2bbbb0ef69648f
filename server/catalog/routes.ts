import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { parse } from '../http/parse';
import { notFound } from '../http/errors';

const Query = Type.Object(
  { itemsPerPage: Type.Optional(Type.String()), next: Type.Optional(Type.String()), filterProvider: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
const RetrieveQuery = Type.Object({ name: Type.String({ minLength: 1 }), version: Type.String({ minLength: 1 }) }, { additionalProperties: false });

// Contract §1: catalog reads are for people using the dashboard.
const USER_ROLES = ['USER'] as const;

/** The catalog is small and read-only at run time, so it is served whole as one page. */
export async function catalogRoutes(app: FastifyInstance) {
  const { catalog } = app.services;

  app.get('/api/hpc/apps/browse', { config: { roles: USER_ROLES } }, async (request) => {
    parse(Query, request.query);
    const items = catalog.applications.map(({ name, version, title, description }) => ({ name, version, title, description }));
    return { items, itemsPerPage: Math.max(items.length, 50), next: null };
  });

  app.get('/api/hpc/apps/retrieve', { config: { roles: USER_ROLES } }, async (request) => {
    const { name, version } = parse(RetrieveQuery, request.query);
    const application = catalog.findApplication(name, version);
    if (!application) throw notFound(`name: no application '${name}' version '${version}'`);
    return application;
  });

  app.get('/api/products/browse', { config: { roles: USER_ROLES } }, async (request) => {
    const { filterProvider } = parse(Query, request.query);
    const items = catalog.products.filter((p) => !filterProvider || p.provider === filterProvider);
    return { items, itemsPerPage: Math.max(items.length, 50), next: null };
  });
}
