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
  /** Core → provider base URLs by provider id (JOBDECK_PROVIDER_URLS="id=url,..."); others are reached on this server's own address. */
  providerUrls: Record<string, string>;
  /** Core → provider calls: time limit of one call, and the retry backoff's first delay and cap. */
  providerTimeoutMs: number;
  providerRetryMs: number;
  providerRetryMaxMs: number;
  /** The built-in provider `example` (server/provider/): off with JOBDECK_EXAMPLE_PROVIDER=off, and its simulated delays. */
  exampleProvider: boolean;
  /** 'local' runs jobs as real processes on this machine (the default); 'simulator' only plays their lifecycle (tests, benches). */
  exampleBackend: 'local' | 'simulator';
  /** SIGTERM → SIGKILL grace period when a real job is stopped. */
  exampleGraceMs: number;
  /** Real jobs keep running when the server stops (the default); off stops them with it. */
  exampleKeepJobs: boolean;
  /** 'off' runs real jobs without their own network namespace even as root. */
  exampleIsolation: 'auto' | 'off';
  exampleQueueDelayMs: number;
  exampleBatchRunMs: number;
  exampleTickMs: number;
  /** Report each job's image pull as a task of its user (JOBDECK_EXAMPLE_IMAGE_PULL=off disables it). */
  exampleImagePull: boolean;
  /** Completed tasks are deleted this long after completion (contract §6: 7 days). */
  taskRetentionMs: number;
  /** WebSocket hub (contract §7): ping interval, and the send buffer past which a slow client is dropped. */
  wsPingIntervalMs: number;
  wsMaxBufferedBytes: number;
  wsMaxStreamsPerSocket: number;
  /** A socket that has made no authorised call this long after opening is closed (1008). */
  wsIdleUnauthenticatedMs: number;
  /** Sockets one token may have open at once; a call on one more is refused with 429. */
  wsMaxSocketsPerToken: number;
  /** Sockets this process holds open in all; one more is closed at once with 1013 (try again later). */
  wsMaxSockets: number;
  /** How long a dashboard session lasts (POST /api/auth/sessions); it ends sooner at sign-out. */
  sessionTtlMs: number;
  /** On SIGTERM/SIGINT the server exits after at most this long, finished or not. */
  shutdownMs: number;
  /** Leader election among processes sharing a PostgreSQL (server/db/leader.ts): a follower's retry interval. */
  leaderRetryMs: number;
  /**
   * Load shedding (server/http/load-shed.ts): write paths answer 503 with Retry-After while the event loop runs
   * more than shedLagMs late, and postStatus/markAsComplete while more than shedTaskQueue updates wait to be
   * written. 0 turns either off.
   */
  shedLagMs: number;
  shedTaskQueue: number;
  shedRetryAfterS: number;
  /**
   * The wildcard domain of job interfaces (server/interfaces/): job 4150's is `job-4150.<domain>`. A bare domain
   * (`localhost`, the default) is on this server's own port; `https://jobs.example.org` on the scheme's.
   */
  interfaceDomain: string;
  /** The `slurm` provider (server/provider/slurm/): slurmrestd's address (`unix:/path` or `http://host:port`), or null: off. */
  slurmUrl: string | null;
  /** auth/jwt's token for an HTTP slurmrestd (SLURM_JWT). */
  slurmJwt: string | null;
  /** The jobs' work folders and output: a file system the compute nodes share. */
  slurmWorkDir: string;
  /** How often the cluster is asked for its jobs (one call for all of them). */
  slurmPollMs: number;
  /** How long the start-up probe (may this account raise a time limit?) waits for its job to run. */
  slurmProbeWaitMs: number;
  /** How often the cluster's partitions are read again, so one added or removed becomes a product or stops being one. */
  slurmProductsMs: number;
}

function providerUrlsFromEnv(raw: string | undefined): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const entry of (raw ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^([^=\s]+)=(https?:\/\/\S+)$/.exec(entry);
    if (!match) throw new Error(`JOBDECK_PROVIDER_URLS: '${entry}' is not of the form <provider>=<http(s) URL>`);
    urls[match[1]!] = match[2]!;
  }
  return urls;
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

function choiceFromEnv<T extends string>(env: NodeJS.ProcessEnv, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${choices.join(', ')}, got '${raw}'`);
  return raw as T;
}

/** JOBDECK_SESSION_HOURS: 12 by default, 1 to 720 (30 days). */
function sessionHoursFromEnv(env: NodeJS.ProcessEnv): number {
  const hours = intFromEnv(env, 'JOBDECK_SESSION_HOURS', 12);
  if (hours < 1 || hours > 720) throw new Error(`JOBDECK_SESSION_HOURS must be between 1 and 720, got '${hours}'`);
  return hours * 3600_000;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.JOBDECK_DATA_DIR ?? './data');
  const exampleBackend = choiceFromEnv(env, 'JOBDECK_EXAMPLE_BACKEND', ['local', 'simulator'] as const, 'local');
  return {
    port: intFromEnv(env, 'PORT', 8080),
    host: env.HOST ?? '127.0.0.1',
    dataDir,
    databaseUrl: env.DATABASE_URL ? env.DATABASE_URL : null,
    verifyIntervalMs: intFromEnv(env, 'JOBDECK_VERIFY_INTERVAL_MS', 60_000),
    publicDir: env.JOBDECK_PUBLIC_DIR ?? path.resolve('dist/public'),
    catalogFile: env.JOBDECK_CATALOG ?? null,
    // Request logs (info) would bury the sign-in link for someone running `npm start`; LOG_LEVEL=info turns them on.
    logLevel: env.LOG_LEVEL ?? 'warn',
    providerUrls: providerUrlsFromEnv(env.JOBDECK_PROVIDER_URLS),
    providerTimeoutMs: intFromEnv(env, 'JOBDECK_PROVIDER_TIMEOUT_MS', 10_000),
    providerRetryMs: intFromEnv(env, 'JOBDECK_PROVIDER_RETRY_MS', 1_000),
    providerRetryMaxMs: intFromEnv(env, 'JOBDECK_PROVIDER_RETRY_MAX_MS', 60_000),
    exampleProvider: env.JOBDECK_EXAMPLE_PROVIDER !== 'off',
    exampleBackend,
    exampleGraceMs: intFromEnv(env, 'JOBDECK_EXAMPLE_GRACE_MS', 5_000),
    exampleKeepJobs: env.JOBDECK_EXAMPLE_KEEP_JOBS !== 'off',
    exampleIsolation: choiceFromEnv(env, 'JOBDECK_EXAMPLE_ISOLATION', ['auto', 'off'] as const, 'auto'),
    // A real job starts as soon as it is received; the simulator pretends to queue for a while.
    exampleQueueDelayMs: intFromEnv(env, 'JOBDECK_EXAMPLE_QUEUE_MS', exampleBackend === 'local' ? 0 : 3_000),
    exampleBatchRunMs: intFromEnv(env, 'JOBDECK_EXAMPLE_BATCH_MS', 30_000),
    exampleTickMs: intFromEnv(env, 'JOBDECK_EXAMPLE_TICK_MS', 250),
    exampleImagePull: env.JOBDECK_EXAMPLE_IMAGE_PULL !== 'off',
    taskRetentionMs: intFromEnv(env, 'JOBDECK_TASK_RETENTION_MS', 7 * 24 * 3600 * 1000),
    wsPingIntervalMs: intFromEnv(env, 'JOBDECK_WS_PING_MS', 30_000),
    wsMaxBufferedBytes: intFromEnv(env, 'JOBDECK_WS_MAX_BUFFERED_BYTES', 4 * 1024 * 1024),
    wsMaxStreamsPerSocket: intFromEnv(env, 'JOBDECK_WS_MAX_STREAMS', 64),
    wsIdleUnauthenticatedMs: intFromEnv(env, 'JOBDECK_WS_IDLE_UNAUTHENTICATED_MS', 5_000),
    wsMaxSocketsPerToken: intFromEnv(env, 'JOBDECK_WS_MAX_SOCKETS_PER_TOKEN', 16),
    wsMaxSockets: intFromEnv(env, 'JOBDECK_WS_MAX_SOCKETS', 10_000),
    sessionTtlMs: sessionHoursFromEnv(env),
    shutdownMs: intFromEnv(env, 'JOBDECK_SHUTDOWN_MS', 15_000),
    leaderRetryMs: Math.max(100, intFromEnv(env, 'JOBDECK_LEADER_RETRY_MS', 2_000)),
    shedLagMs: intFromEnv(env, 'JOBDECK_SHED_LAG_MS', 1_000),
    shedTaskQueue: intFromEnv(env, 'JOBDECK_SHED_TASK_QUEUE', 2_000),
    shedRetryAfterS: Math.max(1, intFromEnv(env, 'JOBDECK_SHED_RETRY_AFTER_S', 1)),
    interfaceDomain: env.JOBDECK_INTERFACE_DOMAIN || 'localhost',
    slurmUrl: env.JOBDECK_SLURM_URL || null,
    slurmJwt: env.SLURM_JWT || null,
    // Beside the data dir, not in it: the jobs' account must write here and must not read the data dir.
    slurmWorkDir: path.resolve(env.JOBDECK_SLURM_WORK_DIR || `${dataDir}-slurm`),
    slurmPollMs: intFromEnv(env, 'JOBDECK_SLURM_POLL_MS', 5_000),
    slurmProbeWaitMs: intFromEnv(env, 'JOBDECK_SLURM_PROBE_WAIT_MS', 20_000),
    slurmProductsMs: intFromEnv(env, 'JOBDECK_SLURM_PRODUCTS_MS', 60_000),
  };
}
