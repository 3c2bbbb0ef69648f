/**
 * Set-based job seeding for the benchmarks: one INSERT … SELECT over generate_series for the jobs, and one for the
 * built-in provider's record of the RUNNING ones (so the verify sweep finds them known). 10 000 jobs take well
 * under a second on PGlite. Shared by verify.bench.ts, limits-data.ts and job-list.bench.ts.
 *
 * The per-row choices are SQL expressions of `g`, the row's number in the series (from `from` to
 * `from + count - 1`), written by the benchmark itself (never user input).
 */
import type { Db } from '../server/db/index';

export interface SeedJobsOptions {
  from: number;
  count: number;
  /** The owner, as SQL of g; default 'user'. Owners must exist in `users`. */
  owner?: string;
  /** The state, as SQL of g; default 'RUNNING'. */
  state?: string;
  /** The job's name (specification.name), as SQL of g; default 'bench'. May be NULL. */
  name?: string;
  /** The application name, as SQL of g; default 'acme-web-app' (version 1.0.0, no parameters stored). */
  app?: string;
  /** created_at, as SQL of g and $2 (now, epoch ms); default now. */
  createdAt?: string;
}

const BASE_SPEC = {
  application: { name: 'acme-web-app', version: '1.0.0' },
  product: { id: 'example-compute', category: 'example-compute', provider: 'example' },
  name: 'bench',
  replicas: 1,
  allowDuplicateJob: true,
  parameters: null,
  resources: null,
  timeAllocation: { hours: 8, minutes: 0, seconds: 0 },
  openedFile: null,
  restartOnExit: null,
  sshEnabled: null,
};

/** Inserts the jobs; returns the ids of the RUNNING ones (which the provider `example` then knows). */
export async function seedJobs(db: Db, options: SeedJobsOptions): Promise<number[]> {
  const { from, count, owner = `'user'`, state = `'RUNNING'`, name = `'bench'`, app = `'acme-web-app'`, createdAt = '$2::bigint' } = options;
  const now = Date.now();
  const rows = await db.query<{ id: number; state: string }>(
    `INSERT INTO jobs (owner, provider, app_name, app_version, name, specification, duplicate_key, state, time_allocation_ms,
                       started_at, expires_at, created_at, modified_at, provider_acked_at, provider_generated_id)
     SELECT s.owner, 'example', s.app, '1.0.0', s.name,
            jsonb_set(jsonb_set($1::jsonb, '{application,name}', to_jsonb(s.app)), '{name}', coalesce(to_jsonb(s.name), 'null'::jsonb)),
            'bench-' || s.g, s.state, 28800000,
            CASE WHEN s.state = 'IN_QUEUE' THEN NULL ELSE s.created END,
            CASE WHEN s.state = 'IN_QUEUE' THEN NULL ELSE s.created + 28800000 END,
            s.created, s.created, $2::bigint, NULL
     FROM (SELECT g, (${owner})::text AS owner, (${state})::text AS state, (${name})::text AS name, (${app})::text AS app,
                  (${createdAt})::bigint AS created
           FROM generate_series($3::int, $4::int) g) s
     RETURNING id, state`,
    [JSON.stringify(BASE_SPEC), now, from, from + count - 1],
  );
  const running = rows.filter((r) => r.state === 'RUNNING').map((r) => r.id);
  await db.query(
    `INSERT INTO example_jobs (job_id, owner, app_name, product_id, finishes, state, status, time_allocation_ms, received_at, started_at)
     SELECT j.id::text, j.owner, j.app_name, 'example-compute', false, 'RUNNING', 'bench', 28800000, $2, $2
     FROM jobs j WHERE j.id = ANY($1::bigint[])`,
    [running, now],
  );
  return running;
}
