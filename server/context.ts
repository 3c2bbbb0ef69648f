import type { Db } from './db/index';
import type { Config } from './config';
import type { Catalog } from './catalog/catalog';
import type { EventBus } from './live/bus';
import type { Credentials } from './auth/bootstrap';
import type { JobsService } from './jobs/service';

/** What every route plugin may use; built once in app.ts. */
export interface Services {
  db: Db;
  config: Config;
  catalog: Catalog;
  bus: EventBus;
  credentials: Credentials;
  jobs: JobsService;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}
