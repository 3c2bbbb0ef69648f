/**
 * Proxy overhead of job interfaces (issue 13): what proxy.bench.ts (`npm run bench proxy`, GET /health) and
 * proxy-page.bench.ts (`npm run bench proxy-page`, GET /) run, each with its own default `--path`.
 *
 * The server runs in this process as in production: buildApp on a fresh in-memory PGlite and a temp data directory,
 * listening on 127.0.0.1, the core and the built-in provider over loopback HTTP, the local backend (as root the job
 * has its own network namespace and firewall). One real acme-web-app job runs; its interface is opened as the
 * dashboard does (jobs.openInteractiveSession, then the grant URL for the cookie).
 *
 * The load comes from autocannon in a second process (its API, in a child `node` process per run), `--connections`
 * keep-alive connections for `--seconds` s after `--warmup` s (3) of uncounted load, GET /health (a fixed 3-byte answer, so what is
 * measured is the HTTP path and not the app's work):
 * - direct: http://<job address>:8080/health, straight to the job;
 * - proxy: http://127.0.0.1:<port>/health with `Host: job-<id>.localhost:<port>` and the interface cookie, as a
 *   browser sends it: through Jobdeck's dispatch, the session check and @fastify/http-proxy.
 * Runs alternate (direct, proxy, direct, proxy…, `--rounds` each) so that the shared machine's load falls on both
 * alike. Per side: median of the runs' requests/s and of their p99 latency; ratio = proxy / direct requests/s.
 * Every answer must be a 200 (non2xx and errors are reported).
 *
 * Before the first round, --first-warmup s (15) of uncounted load through the proxy warm its code (the JIT).
 *
 * --path / (proxy-page's default) measures the app's real page instead: with --database on (the default for /) a
 * real acme-database job runs too and the web app is connected to it as `database`, so each request counts a visit in
 * that database (a write and a round trip over the job network), as a user's reload does.
 *
 * Options: --rounds 3 --seconds 5 --connections 10 --warmup 3 --first-warmup 15 --path (the bench's own default;
 * given, it wins) --database off (on for /). Prints one JSON document as its last stdout line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../server/app';
import { cloneDb, openDb } from '../server/db/index';
import type { AppParts } from '../server/context';
import type { ProviderJobView } from '../server/provider/example-provider';
import type { JobsOpenInteractiveSessionResponse } from '../contract/jobs';
import { option } from './cli-options';

const run = promisify(execFile);

export interface ProxyBenchOptions {
  rounds: number;
  seconds: number;
  connections: number;
  /** Seconds of uncounted load before each run: the first proxied requests after start-up cost several times more (JIT). */
  warmup: number;
  /** Seconds of proxied load once, before the first round (see main). */
  firstWarmup: number;
  /** The app's path both sides request. */
  path: string;
  /** Whether the web app is connected to a real database job (its page then counts each visit there). */
  withDatabase: boolean;
}

/** The command line's options, over the bench's own default path. */
export function proxyBenchOptions(defaults: { path: string }): ProxyBenchOptions {
  const appPath = option('path', defaults.path);
  return {
    rounds: Number(option('rounds', '3')),
    seconds: Number(option('seconds', '5')),
    connections: Number(option('connections', '10')),
    warmup: Number(option('warmup', '3')),
    firstWarmup: Number(option('first-warmup', '15')),
    path: appPath,
    withDatabase: option('database', appPath === '/' ? 'on' : 'off') !== 'off',
  };
}

const log = (message: string) => process.stderr.write(`[proxy] ${message}\n`);

interface Cannon {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  non2xx: number;
  errors: number;
  jobdeckCpuUsPerRequest?: number;
}

/** One autocannon run in a child process (so the load generator does not share this event loop). */
async function cannon(url: string, headers: Record<string, string>, seconds: number, connections: number): Promise<Cannon> {
  const script = `
    const autocannon = require(${JSON.stringify(path.resolve('node_modules/autocannon'))});
    const opts = JSON.parse(process.argv[1]);
    autocannon(opts, (err, r) => {
      if (err) { console.error(err); process.exit(1); }
      console.log(JSON.stringify({ requestsPerSecond: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99,
        total: r.requests.total, non2xx: r.non2xx, errors: r.errors + r.timeouts }));
    });`;
  const opts = { url, headers, connections, duration: seconds, pipelining: 1, timeout: 10 };
  const { stdout } = await run(process.execPath, ['-e', script, JSON.stringify(opts)], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Cannon;
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    request.on('error', reject);
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(o: ProxyBenchOptions) {
  const loadAverageAtStart = os.loadavg()[0];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-proxy-bench-'));
  const db = await cloneDb(await openDb({}));
  const parts: AppParts = {};
  const app = await buildApp({
    db,
    parts,
    loopback: 'http',
    logger: { level: 'warn', stream: process.stderr },
    config: {
      dataDir,
      publicDir: null,
      exampleBackend: 'local',
      exampleQueueDelayMs: 0,
      exampleKeepJobs: false,
      exampleImagePull: false,
      verifyIntervalMs: 0,
      shedLagMs: 0,
    },
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const { user, admin } = app.services.credentials;
  const api = async (method: string, url: string, token: string, body?: unknown) => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<unknown>;
  };

  let id = '';
  let databaseId = '';
  try {
    // The provider opens its local backend (the job network) once listening; a job created before runs nowhere.
    const ready = Date.now() + 60_000;
    while (!parts.example?.local) {
      if (Date.now() > ready) throw new Error('the example provider did not start its local backend');
      await new Promise((r) => setTimeout(r, 10));
    }
    const product = { id: 'example-compute', category: 'example-compute', provider: 'example' };
    let resources: unknown[] = [];
    if (o.withDatabase) {
      const database = (await api('POST', '/api/jobs', user, {
        items: [{
          application: { name: 'acme-database', version: '1.0.0' }, product, replicas: 1, allowDuplicateJob: true,
          parameters: { dataStore: { type: 'file', path: '/bench/proxy-db', readOnly: false } },
        }],
      })) as { responses: { id: string }[] };
      databaseId = database.responses[0]!.id;
      // Only a running job can be connected to.
      const until = Date.now() + 60_000;
      while (((await api('GET', `/api/jobs/retrieve?id=${databaseId}`, user)) as { status: { state: string } }).status.state !== 'RUNNING') {
        if (Date.now() > until) throw new Error(`database job ${databaseId} did not start`);
        await new Promise((r) => setTimeout(r, 100));
      }
      resources = [{ type: 'peer', hostname: 'database', jobId: databaseId }];
    }
    const created = (await api('POST', '/api/jobs', user, {
      items: [{ application: { name: 'acme-web-app', version: '1.0.0' }, product, replicas: 1, allowDuplicateJob: true, resources }],
    })) as { responses: { id: string }[] };
    id = created.responses[0]!.id;
    const deadline = Date.now() + 60_000;
    let view: ProviderJobView | null = null;
    let target = '';
    while (Date.now() < deadline) {
      // 404 until the core's create call has reached the provider.
      view = ((await api('GET', `/ucloud/example/jobs/retrieve?id=${id}`, admin).catch(() => null)) as ProviderJobView | null) ?? view;
      const row = await db.query<{ address: string | null }>(`SELECT address FROM example_jobs WHERE job_id = $1`, [id]);
      if (view?.state === 'RUNNING' && row[0]?.address) {
        target = `http://${row[0].address}:8080`;
        if ((await get(`${target}/health`).catch(() => null))?.body === 'ok\n') {
          if (!o.withDatabase) break;
          // The app retries its database in the background; measure once it is connected.
          const visits = await get(`${target}/api/visits`).catch(() => null);
          if (visits && (JSON.parse(visits.body) as { connected?: boolean }).connected) break;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!target) throw new Error(`job ${id} did not start: ${JSON.stringify(view)}`);
    log(`job ${id} answers at ${target} (isolation ${view!.isolation})`);

    const session = (await api('POST', '/api/jobs/interactiveSession', user, { items: [{ id, rank: 0, sessionType: 'WEB' }] })) as JobsOpenInteractiveSessionResponse;
    const grant = new URL(session.responses[0]!.session.redirectClientTo);
    const hostHeader = `${grant.hostname}:${port}`;
    const exchange = await get(`http://127.0.0.1:${port}${grant.pathname}${grant.search}`, { host: hostHeader });
    const cookie = String(exchange.headers['set-cookie']?.[0] ?? '').split(';', 1)[0]!;
    if (exchange.status !== 303 || !cookie) throw new Error(`grant exchange: ${exchange.status}`);
    const proxyHeaders = { host: hostHeader, cookie };
    const check = await get(`http://127.0.0.1:${port}${o.path}`, proxyHeaders);
    if (check.status !== 200 || (o.path === '/health' && check.body !== 'ok\n') || (o.withDatabase && !check.body.includes('Connected to the database'))) {
      throw new Error(`through the proxy: ${check.status} ${check.body.slice(0, 200)}`);
    }

    // The proxy's first thousands of requests cost several times what later ones do (the JIT; on a loaded machine its
    // compiler threads wait their turn): one longer warm-up through the proxy before the first round, so that every
    // round measures a warm server, as a running Jobdeck is.
    const warm = await cannon(`http://127.0.0.1:${port}${o.path}`, proxyHeaders, o.firstWarmup, o.connections);
    log(`warm-up through the proxy: ${Math.round(warm.requestsPerSecond)} req/s over ${o.firstWarmup} s`);
    const runs: Record<'direct' | 'proxy', Cannon[]> = { direct: [], proxy: [] };
    for (let round = 0; round < o.rounds; round++) {
      for (const side of ['direct', 'proxy'] as const) {
        const url = side === 'direct' ? `${target}${o.path}` : `http://127.0.0.1:${port}${o.path}`;
        const headers = side === 'direct' ? {} : proxyHeaders;
        await cannon(url, headers, o.warmup, o.connections);
        const cpu = process.cpuUsage();
        const result = await cannon(url, headers, o.seconds, o.connections);
        const used = process.cpuUsage(cpu);
        // What this (Jobdeck's) process spent per request: load-independent, unlike the rates on a shared machine.
        const jobdeckCpuUsPerRequest = Math.round((used.user + used.system) / Math.max(1, result.total));
        runs[side].push({ ...result, jobdeckCpuUsPerRequest });
        log(`round ${round + 1} ${side}: ${Math.round(result.requestsPerSecond)} req/s, p99 ${result.p99Ms} ms, Jobdeck CPU ${jobdeckCpuUsPerRequest} µs/request, non2xx ${result.non2xx}, errors ${result.errors}, load ${os.loadavg()[0]!.toFixed(1)}`);
      }
    }
    const summary = (side: 'direct' | 'proxy') => ({
      requestsPerSecond: Math.round(median(runs[side].map((r) => r.requestsPerSecond))),
      p99Ms: median(runs[side].map((r) => r.p99Ms)),
      p50Ms: median(runs[side].map((r) => r.p50Ms)),
      runsRequestsPerSecond: runs[side].map((r) => Math.round(r.requestsPerSecond)),
      runsP99Ms: runs[side].map((r) => r.p99Ms),
      jobdeckCpuUsPerRequest: median(runs[side].map((r) => r.jobdeckCpuUsPerRequest ?? 0)),
      non2xx: runs[side].reduce((n, r) => n + r.non2xx, 0),
      errors: runs[side].reduce((n, r) => n + r.errors, 0),
    });
    const direct = summary('direct');
    const proxy = summary('proxy');
    const result = {
      benchmark: 'proxy',
      path: `GET ${o.path} of a real acme-web-app job${o.withDatabase ? ', connected to a real acme-database job' : ''}`,
      isolation: view!.isolation,
      connections: o.connections,
      secondsPerRun: o.seconds,
      rounds: o.rounds,
      direct,
      proxy,
      ratio: Math.round((proxy.requestsPerSecond / direct.requestsPerSecond) * 100) / 100,
      p99Ratio: Math.round((proxy.p99Ms / direct.p99Ms) * 100) / 100,
      loadAverage: os.loadavg()[0],
      loadAverageAtStart,
    };
    console.log(JSON.stringify(result));
  } finally {
    for (const job of [id, databaseId].filter(Boolean)) await api('POST', '/api/jobs/terminate', user, { items: [{ id: job }] }).catch(() => {});
    await app.close();
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs one proxy bench to its end, then exits (1 on a failure). */
export function runProxyBench(defaults: { path: string }): void {
  main(proxyBenchOptions(defaults)).then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
