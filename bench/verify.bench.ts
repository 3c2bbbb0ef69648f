/**
 * Verify sweep over 10 000 active jobs (contract §5), as `npm run bench` or `npx tsx bench/verify.bench.ts`.
 *
 * The server runs as in production: the core and the built-in provider talk over real loopback HTTP. The
 * provider knows every job, so a sweep is pure verify traffic: 10 pages read from the database, 10 requests
 * of up to 1000 full Job objects, 10 lookups at the provider. Memory is sampled during the sweep; since jobs
 * are paged, the peak should not grow with the number of jobs. It is measured at 1 000 and at 10 000.
 *
 * Storage: embedded PGlite by default; set JOBDECK_TEST_DATABASE_URL to measure a real PostgreSQL (a fresh
 * schema is used and dropped). Prints one JSON document as its last line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import crypto from 'node:crypto';
import { buildApp } from '../server/app';
import { openDb, dropSchema, type Db } from '../server/db/index';
import type { AppParts } from '../server/context';
import { seedJobs } from './seed-jobs';

v8.setFlagsFromString('--expose-gc');
const gc = (globalThis as { gc?: () => void }).gc ?? (vm.runInNewContext('gc') as () => void);

const MB = 1024 * 1024;
const round = (n: number) => Math.round(n * 10) / 10;
const log = (line: string) => process.stderr.write(`${line}\n`);

function memory() {
  const m = process.memoryUsage();
  return { heapUsedMB: round(m.heapUsed / MB), rssMB: round(m.rss / MB) };
}

async function insertJobs(db: Db, from: number, count: number) {
  await seedJobs(db, { from, count });
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-bench-'));
  const url = process.env.JOBDECK_TEST_DATABASE_URL || null;
  const schema = url ? `bench_${crypto.randomBytes(4).toString('hex')}` : null;
  const db = await openDb(url ? { databaseUrl: url, schema } : {});
  const parts: AppParts = {};
  const app = await buildApp({
    db,
    parts,
    loopback: 'http',
    // The sweep is started by hand; the simulator has nothing due (no queued jobs, no expiry within 8 h).
    config: { dataDir, publicDir: null, verifyIntervalMs: 0, exampleTickMs: 60_000 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const verify = parts.verify!;

  const sweepOnce = async (jobs: number) => {
    const started = performance.now();
    const report = await verify.sweep();
    const ms = performance.now() - started;
    const sent = report.providers.reduce((n, p) => n + p.jobs, 0);
    if (sent !== jobs || report.providers.some((p) => p.error)) throw new Error(`sweep sent ${sent} of ${jobs}: ${JSON.stringify(report)}`);
    return { ms, requests: report.providers[0]!.requests };
  };

  const measure = async (label: string, jobs: number, runs: number) => {
    await sweepOnce(jobs); // warm-up: JIT, compiled validators, connection reuse
    const sweeps: number[] = [];
    for (let i = 0; i < runs; i++) {
      const { ms, requests } = await sweepOnce(jobs);
      sweeps.push(ms);
      log(`${label}: sweep ${i + 1} sent ${jobs} jobs in ${requests} requests, ${Math.round(ms)} ms`);
    }
    // A separate sweep for memory. Every 20 ms: the heap as it is (garbage included), then a full GC and the
    // heap again, i.e. what the sweep really holds at that moment.
    gc();
    const before = memory();
    let raw = { heapUsedMB: 0, rssMB: 0 };
    let live = { heapUsedMB: 0, rssMB: 0 };
    const peak = (a: typeof raw, b: typeof raw) => ({ heapUsedMB: Math.max(a.heapUsedMB, b.heapUsedMB), rssMB: Math.max(a.rssMB, b.rssMB) });
    const sampler = setInterval(() => {
      raw = peak(raw, memory());
      gc();
      live = peak(live, memory());
    }, 20);
    await sweepOnce(jobs);
    clearInterval(sampler);
    gc();
    const after = memory();
    const sorted = [...sweeps].sort((a, b) => a - b);
    const median = sorted[Math.floor(runs / 2)]!;
    return {
      activeJobs: jobs,
      sweeps: runs,
      sweepMsMedian: Math.round(median),
      sweepMsMin: Math.round(sorted[0]!),
      jobsPerSecond: Math.round(jobs / (median / 1000)),
      memory: {
        before,
        duringPeakLive: live,
        duringPeakWithGarbage: raw,
        after,
        liveHeapOverBeforeMB: round(live.heapUsedMB - before.heapUsedMB),
      },
    };
  };

  await insertJobs(db, 1, 1_000);
  const small = await measure('1 000 jobs', 1_000, 3);
  await insertJobs(db, 1_001, 9_000);
  const large = await measure('10 000 jobs', 10_000, 3);

  // What holding every active job at once would take: the JSON of all 10 000 as one verify body.
  const all = await db.query<Record<string, unknown>>(`SELECT * FROM jobs`);
  const allJobsJsonMB = round(Buffer.byteLength(JSON.stringify(all)) / MB);

  await app.close();
  await db.close();
  if (url && schema) await dropSchema(url, schema);
  fs.rmSync(dataDir, { recursive: true, force: true });

  const result = {
    benchmark: 'verify sweep',
    storage: db.kind,
    transport: 'loopback HTTP',
    pageSize: 1000,
    ...large,
    smallRun: small,
    // Flat memory: what a 10 000-job sweep holds at its peak is about what a 1 000-job sweep holds.
    liveHeapGrowthFrom1kTo10kMB: round(large.memory.liveHeapOverBeforeMB - small.memory.liveHeapOverBeforeMB),
    allJobsAtOnceJsonMB: allJobsJsonMB,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
