import path from 'node:path';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  /** Interval of the core's verify sweep (contract §5). */
  verifyIntervalMs: number;
  /** Where the SPA's built files live; null disables static serving (tests). */
  publicDir: string | null;
  catalogFile: string | null;
  logLevel: string;
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  }
  return value;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.JOBDECK_DATA_DIR ?? './data');
  return {
    port: intFromEnv(env, 'PORT', 8080),
    host: env.HOST ?? '127.0.0.1',
    dataDir,
    databaseUrl: env.DATABASE_URL ? env.DATABASE_URL : null,
    verifyIntervalMs: intFromEnv(env, 'JOBDECK_VERIFY_INTERVAL_MS', 60_000),
    publicDir: env.JOBDECK_PUBLIC_DIR ?? path.resolve('dist/public'),
    catalogFile: env.JOBDECK_CATALOG ?? null,
    logLevel: env.LOG_LEVEL ?? 'info',
  };
}
