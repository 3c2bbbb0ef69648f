import type { OutputFiles } from './jobs/output-tail';
import type { Db } from './db/index';
import type { Leadership } from './db/leader';
import type { Config } from './config';
import type { Catalog } from './catalog/catalog';
import type { EventBus } from './live/bus';
import type { Credentials } from './auth/bootstrap';
import type { JobsService } from './jobs/service';
import type { TasksService } from './tasks/service';
import type { LiveHub } from './live/hub';
import type { HttpProviderGateway } from './jobs/provider-gateway';
import type { Transport } from './provider/kit/transport';
import type { VerifyLoop } from './jobs/verify';
import type { ExampleProvider } from './provider/example-provider';
import type { SlurmProvider } from './provider/slurm/slurm-provider';
import type { InterfaceService } from './interfaces/service';

/** What every route plugin may use; built once in app.ts. */
export interface Services {
  db: Db;
  /** Whether this process runs the background loops (server/db/leader.ts). */
  leader: Leadership;
  config: Config;
  catalog: Catalog;
  bus: EventBus;
  credentials: Credentials;
  jobs: JobsService;
  tasks: TasksService;
  /** The WebSocket hub (server/live/). */
  live: LiveHub;
  /** How the core reaches each provider (server/jobs/providers-plugin.ts); set when the app is built. */
  providers?: { transportFor: (provider: string) => Transport };
  /** Per provider: where a job's output files are on this machine (jobs.follow's `log`, the output download). */
  outputs: Map<string, (jobId: string) => OutputFiles | null>;
}

/**
 * What the plugins build that no other plugin reads: buildApp fills it in for whoever built the app (tests, benches)
 * to reach these objects directly. Nothing in the app reads it, so it is not on `Services`.
 */
export interface AppParts {
  /** Core → provider calls (server/jobs/provider-gateway.ts). */
  gateway?: HttpProviderGateway;
  /** The verify loop (server/jobs/verify.ts). */
  verify?: VerifyLoop;
  /** The built-in provider, when enabled (server/provider/). */
  example?: ExampleProvider;
  /** The `slurm` provider, when JOBDECK_SLURM_URL is set (server/provider/slurm/). */
  slurm?: SlurmProvider;
  /** Job interfaces: grants, sessions and the proxy's view of jobs (server/interfaces/). */
  interfaces?: InterfaceService;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}
