/**
 * How many users and jobs one database holds while browse stays fast, and what a verify sweep over the
 * active ones costs (issue 7).
 *
 *   npx tsx bench/limits-data.ts [--steps 20000,100000,300000] [--users 10000] [--active 0.2] [--max-sweep-s 120]
 *   JOBDECK_TEST_DATABASE_URL=postgres://… npx tsx bench/limits-data.ts …   (a fresh schema, dropped after)
 *
 * The app runs in this process, listening on loopback; the core and the built-in provider talk over real HTTP
 * (as in production). Jobs are inserted set-based (one statement per table per step) straight into the
 * database: half of them belong to 'user' (the worst case for one user's browse), the rest are spread over
 * --users other users; an --active share is RUNNING and known to the provider, the rest finished. At each step:
 * browse (first page, 20 pages walked with `next`, a page from the middle of the user's history: keyset, so
 * it should not grow with depth), retrieve, the job count query a dashboard might add, and one verify sweep
 * over every active job, with the process's RSS and heap. Stops when a step's sweep exceeds --max-sweep-s.
 * Prints one JSON document as its last line.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../server/app';
import { dropSchema, openDb, type Db } from '../server/db/index';
import type { AppParts } from '../server/context';
import { seedJobs } from './seed-jobs';
import { option } from './cli-options';

const STEPS = option('steps', '20000,100000,300000').split(',').map(Number);
const USERS = Number(option('users', '10000'));
const ACTIVE = Number(option('active', '0.2'));
const MAX_SWEEP_S = Number(option('max-sweep-s', '120'));
const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (n: number) => Math.round(n * 10) / 10;
const MB = 1024 * 1024;

/** Inserts `count` jobs; every 1/ACTIVE-th is RUNNING (and known to the provider), the others SUCCESS. */
async function insertJobs(db: Db, from: number, count: number) {
  const every = Math.max(1, Math.round(1 / ACTIVE));
  const running = await seedJobs(db, {
    from,
    count,
    owner: `CASE WHEN g % 2 = 0 THEN 'user' ELSE 'lu' || (g % ${Math.trunc(USERS)}) END`,
    state: `CASE WHEN g % ${every} = 0 THEN 'RUNNING' ELSE 'SUCCESS' END`,
  });
  return running.length;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN);
};

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-limits-'));
  const url = process.env.JOBDECK_TEST_DATABASE_URL || null;
  const schema = url ? `limits_${crypto.randomBytes(4).toString('hex')}` : null;
  const db = await openDb(url ? { databaseUrl: url, schema } : {});
  const parts: AppParts = {};
  const app = await buildApp({ db, parts, loopback: 'http', config: { dataDir, publicDir: null, verifyIntervalMs: 0, exampleTickMs: 60_000 } });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const token = app.services.credentials.user;
  const verify = parts.verify!;

  const t0 = performance.now();
  await db.query(`INSERT INTO users (username, role, created_at) SELECT 'lu' || g, 'USER', 0 FROM generate_series(0, $1::int - 1) g ON CONFLICT DO NOTHING`, [USERS]);
  const usersInsertMs = Math.round(performance.now() - t0);

  const get = async (p: string) => {
    // A keep-alive connection that idled through a long insert may be closed as it is reused: retry once.
    const send = () => fetch(`${base}${p}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
    const s = performance.now();
    const response = await send().catch(send);
    const body = (await response.json()) as { items?: { id: string }[]; next?: string | null };
    if (!response.ok) throw new Error(`${p}: ${response.status} ${JSON.stringify(body)}`);
    return { ms: performance.now() - s, body };
  };

  const steps: Record<string, unknown>[] = [];
  let inserted = 0;
  let active = 0;
  let stoppedBecause: string | null = null;
  for (const total of STEPS) {
    const i0 = performance.now();
    // In chunks of 50 000, so one statement's memory stays bounded.
    while (inserted < total) {
      const n = Math.min(50_000, total - inserted);
      active += await insertJobs(db, inserted + 1, n);
      inserted += n;
    }
    if (db.kind === 'postgres') await db.query('ANALYZE');
    const insertSeconds = round((performance.now() - i0) / 1000);

    // Warm-up, then measure.
    await get('/api/jobs/browse?itemsPerPage=50');
    const first: number[] = [];
    for (let i = 0; i < 20; i++) first.push((await get('/api/jobs/browse?itemsPerPage=50')).ms);
    const walk: number[] = [];
    let next: string | null | undefined = null;
    for (let i = 0; i < 20; i++) {
      const page: { ms: number; body: { next?: string | null } } = await get(`/api/jobs/browse?itemsPerPage=50${next ? `&next=${next}` : ''}`);
      walk.push(page.ms);
      next = page.body.next;
    }
    // A page from the middle of the user's history: the keyset token is an id.
    const middle: number[] = [];
    for (let i = 0; i < 20; i++) middle.push((await get(`/api/jobs/browse?itemsPerPage=50&next=${Math.floor(inserted / 2)}`)).ms);
    const retrieve: number[] = [];
    for (let i = 0; i < 20; i++) retrieve.push((await get(`/api/jobs/retrieve?id=${2 * (1 + Math.floor(Math.random() * (inserted / 2 - 1)))}`)).ms);
    // Not an endpoint: what a "count all my jobs" would cost, for the record (browse never counts).
    const c0 = performance.now();
    await db.query(`SELECT count(*) FROM jobs WHERE owner = 'user'`);
    const countMs = round(performance.now() - c0);

    // One verify sweep over every active job.
    const s0 = performance.now();
    const report = await verify.sweep();
    const sweepMs = Math.round(performance.now() - s0);
    const sent = report.providers.reduce((n, p) => n + p.jobs, 0);
    const m = process.memoryUsage();
    const row = {
      jobs: inserted,
      jobsOfUser: Math.floor(inserted / 2),
      activeJobs: active,
      users: USERS + 5,
      insertSeconds,
      browseFirstPageMs: { p50: pct(first, 50), p99: pct(first, 99) },
      browseWalk20PagesMs: { p50: pct(walk, 50), max: pct(walk, 100) },
      browseMiddlePageMs: { p50: pct(middle, 50), p99: pct(middle, 99) },
      retrieveMs: { p50: pct(retrieve, 50), p99: pct(retrieve, 99) },
      countOfUsersJobsMs: countMs,
      verifySweep: { ms: sweepMs, jobsSent: sent, jobsPerSecond: Math.round(sent / (sweepMs / 1000)), errors: report.providers.filter((p) => p.error).length },
      process: { rssMB: round(m.rss / MB), heapUsedMB: round(m.heapUsed / MB) },
      loadAverage: round(os.loadavg()[0]!),
    };
    steps.push(row);
    log(JSON.stringify(row));
    if (sweepMs > MAX_SWEEP_S * 1000) {
      stoppedBecause = `the verify sweep over ${active} active jobs took ${sweepMs} ms`;
      break;
    }
  }

  await app.close();
  await db.close();
  if (url && schema) await dropSchema(url, schema);
  fs.rmSync(dataDir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      benchmark: 'limits: users and jobs in one database',
      storage: db.kind,
      activeShare: ACTIVE,
      usersInsertMs,
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      date: new Date().toISOString(),
      steps,
      stoppedBecause,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
