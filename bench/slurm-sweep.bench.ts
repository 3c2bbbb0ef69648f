/**
 * The slurm provider's sweep with 10, 100 and 1 000 queued jobs, against a real one-node Slurm cluster
 * (scripts/slurm-dev.sh with the tests' state folder and ports; needs root and slurm-wlm slurmrestd munge), as
 * `npx tsx bench/slurm-sweep.bench.ts`. Prints one JSON document as its last line.
 *
 * The jobs are acme-batch on partition 'short' with a 2 h allocation, longer than that partition allows, so Slurm
 * keeps every one PENDING (PartitionTimeLimit): a queue that does not drain while it is measured. For each size it
 * times, median of 5: one poll (GET /jobs once, then every job's state applied in one transaction), slurmrestd's
 * GET /jobs alone, and one verify request of all the jobs (which lists the cluster once more). It also counts the
 * GET /jobs calls per poll: one, whatever the number of jobs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../server/app';
import { openDb } from '../server/db/index';
import type { AppParts } from '../server/context';
import { SlurmClient } from '../server/provider/slurm/client';
import { cluster, slurmPrerequisite, testClusterUrl } from '../server/provider/slurm/testing';

const SIZES = [10, 100, 1000];
const RUNS = 5;
const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number) => Math.round(n * 10) / 10;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function main() {
  const prerequisite = slurmPrerequisite();
  if (!prerequisite.available) {
    console.log(JSON.stringify({ bench: 'slurm-sweep', skipped: prerequisite.why }));
    return;
  }
  cluster('start');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-bench-slurm-'));
  const workDir = path.join(os.tmpdir(), `jobdeck-bench-slurm-work-${process.pid}`);
  const db = await openDb({});
  const parts: AppParts = {};
  const app = await buildApp({
    db,
    parts,
    config: {
      dataDir,
      publicDir: null,
      slurmUrl: testClusterUrl(),
      slurmWorkDir: workDir,
      // Polls only when the bench asks (and when a create kicks one): nothing runs between measurements.
      slurmPollMs: 3_600_000,
      verifyIntervalMs: 0,
      exampleBackend: 'simulator',
      exampleImagePull: false,
      shedLagMs: 0,
    },
  });
  await app.ready();
  const slurm = parts.slurm!;
  const client = new SlurmClient({ url: testClusterUrl() });
  const user = app.services.credentials.user;
  const inject = (method: 'GET' | 'POST', url: string, body?: unknown) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' }, ...(body ? { payload: JSON.stringify(body) } : {}) });

  const products = async () => (await inject('GET', '/api/products/browse?filterProvider=slurm')).json().items as unknown[];
  while ((await products()).length === 0) await slurm.poll();

  const spec = {
    application: { name: 'acme-batch', version: '1.0.0' },
    product: { id: 'short', category: 'short', provider: 'slurm' },
    name: null,
    replicas: 1,
    allowDuplicateJob: true,
    parameters: { value: { type: 'text', value: 'queued' } },
    resources: null,
    timeAllocation: { hours: 2, minutes: 0, seconds: 0 },
  };
  const ids: string[] = [];
  const results = [];
  const load = os.loadavg()[0] ?? 0;
  try {
    for (const size of SIZES) {
      const add = size - ids.length;
      const created = await inject('POST', '/api/jobs', { items: Array.from({ length: add }, () => spec) });
      ids.push(...(created.json().responses as { id: string }[]).map((r) => r.id));
      const submitStart = performance.now();
      // Submitting is one POST /job/submit per job (slurmrestd has no bulk submit).
      for (;;) {
        await parts.gateway!.settled();
        await slurm.poll();
        const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM slurm_jobs WHERE slurm_id IS NOT NULL AND state = 'IN_QUEUE'`);
        if ((row?.n ?? 0) >= size) break;
      }
      const submitMs = performance.now() - submitStart;
      await slurm.settled();
      const listed = (await client.jobs()).filter((j) => j.job_state === 'PENDING').length;

      const polls: number[] = [];
      const lists: number[] = [];
      const verifies: number[] = [];
      const before = slurm.listings;
      for (let i = 0; i < RUNS; i++) {
        polls.push(await timed(() => slurm.poll()));
        lists.push(await timed(() => client.jobs()));
      }
      const listingsPerPoll = (slurm.listings - before) / RUNS;
      const jobs = await Promise.all(ids.map(async (id) => (await inject('GET', `/api/jobs/retrieve?id=${id}`)).json()));
      for (let i = 0; i < RUNS; i++) verifies.push(await timed(() => slurm.verify(jobs)));
      const stillQueued = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM slurm_jobs WHERE state = 'IN_QUEUE'`))[0]!.n;
      const result = {
        queuedJobs: size,
        pendingOnCluster: listed,
        stillQueuedAfterVerify: stillQueued,
        submitMs: ms(submitMs),
        pollMs: ms(median(polls)),
        pollMsRange: [ms(Math.min(...polls)), ms(Math.max(...polls))],
        getJobsMs: ms(median(lists)),
        verifyMs: ms(median(verifies)),
        listingsPerPoll,
      };
      log(JSON.stringify(result));
      results.push(result);
    }
  } finally {
    // Every job terminated through Jobdeck (cancelled on the cluster), then the cluster stopped.
    for (let i = 0; i < ids.length; i += 1000) await inject('POST', '/api/jobs/terminate', { items: ids.slice(i, i + 1000).map((id) => ({ id })) });
    await parts.gateway!.settled();
    await slurm.poll();
    await slurm.settled();
    await app.close();
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(workDir, { recursive: true, force: true });
    cluster('stop');
  }
  console.log(JSON.stringify({ bench: 'slurm-sweep', cpus: os.cpus().length, loadAverage1m: Math.round(load * 10) / 10, results }));
}

await main();
