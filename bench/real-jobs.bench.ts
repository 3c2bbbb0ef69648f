/**
 * Real jobs (issue 12, "Jobs really run"), as `npm run bench real-jobs` or `npx tsx bench/real-jobs.bench.ts`.
 * Must run as root on Linux for the isolated side (network namespaces, nftables, cgroups); elsewhere the
 * 'auto' side silently runs without isolation and the result says so (`isolationSeen`).
 *
 * The server runs in this process as in production: buildApp on a fresh in-memory PGlite and a temp data directory,
 * listening on 127.0.0.1 with the core and the built-in provider `example` talking over loopback HTTP, the local
 * backend (every job a real supervisor + program), the default tick (exampleTickMs 250 ms), queue delay 0,
 * exampleKeepJobs false (closing the app kills whatever still runs and removes what it held; the bench terminates its
 * jobs first, see Server.close), load shedding and the verify loop off (they are not what is measured). Jobs are acme-web-app (a long-running HTTP service; it starts without a
 * database and keeps retrying it in the background). Clients: fetch over HTTP for the REST calls, one WebSocket on
 * /api/jobs with `jobs.listen` for the job states. All traffic stays on loopback and in the provider's namespaces.
 *
 * Latency of one job = time the jobs.listen message with state RUNNING arrives − time the POST /api/jobs answer
 * (body read) arrived, both by performance.now() in this process. RUNNING means the provider has the job's process
 * (its supervisor wrote started.json), not that the web app listens yet; `runningToListeningMs` adds that.
 *
 * 1 + 2. A/B rounds, alternating (ABABAB by default): A = exampleIsolation 'auto' (a network namespace, veth and
 *    firewall per job, as root), B = 'off' (plain processes on 127.x loopback addresses). Each round builds a fresh
 *    server, starts one uncounted warm-up job, then: `jobs` jobs one at a time (the next is created as soon as the
 *    previous is RUNNING, so it overlaps that program's own start-up, ~1 s of CPU), all terminated; then `jobs` jobs in
 *    one bulk request, all terminated; then the server is closed.
 * 3. Fill: a fresh server (isolation 'auto'), one uncounted warm-up job, then batches of `batch` jobs in one request
 *    each, the next batch once the previous is all RUNNING, until a job fails to start, a batch does not start within 60 s, MemAvailable would fall
 *    below the floor with one more batch (estimated from the memory each job has taken so far), the cap, or the time
 *    limit. Then it waits (≤ 30 s) for the programs to print "Listening", counts live processes, samples memory,
 *    terminates every job in one bulk request, waits for them all to end, and closes the app.
 * Afterwards: `ip netns list`, the `jdv*` veths, `jdb*` bridges and jobdeck nft tables compared with before the run
 * (`leftovers`: what is new on the network indexes this run used; changes on other indexes are other runs on the
 * shared machine, under `otherRuns`), and this run's cgroups and processes.
 * Percentiles are nearest-rank: with 20 or 60 samples, p99 is the largest. Takes about 5 minutes on 2 busy cores.
 *
 * Options: --rounds 3 --jobs 20 --batch 20 --cap 300 --floor-gib 4 --fill-seconds 60. Prints one JSON document as
 * its last stdout line; progress goes to stderr.
 */
import fs from 'node:fs';
import { FINAL_JOB_STATES } from '../contract/constants';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app';
import { cloneDb, openDb, type Db } from '../server/db/index';
import type { Config } from '../server/config';
import type { AppParts } from '../server/context';
import type { JobSpecification, JobState } from '../contract/jobs';
import type { ProviderJobView } from '../server/provider/example-provider';
import { processStart } from '../server/provider/local/claim-files';
import { option } from './cli-options';

const run = promisify(execFile);
const ROUNDS = Number(option('rounds', '3'));
const JOBS = Number(option('jobs', '20'));
const BATCH = Number(option('batch', '20'));
const CAP = Number(option('cap', '300'));
const FLOOR_GIB = Number(option('floor-gib', '4'));
const FILL_SECONDS = Number(option('fill-seconds', '60'));
/** The whole bench stops (cleaning up what it can) past this: 12 min, plus the fill's own time limit beyond its default 60 s. */
const WATCHDOG_MS = (12 * 60 + Math.max(0, FILL_SECONDS - 60)) * 1000;
const WAIT_MS = 60_000;

const GiB = 1024 ** 3;
const MB = 1024 ** 2;
const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;
const t0 = performance.now();
const log = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FINAL: ReadonlySet<JobState> = new Set(FINAL_JOB_STATES);

const webApp = (): JobSpecification => ({
  product: { id: 'example-compute', category: 'example-compute', provider: 'example' },
  application: { name: 'acme-web-app', version: '1.0.0' },
  replicas: 1,
  allowDuplicateJob: true,
  name: null,
  parameters: null,
  resources: null,
  timeAllocation: null,
});

/** Nearest-rank percentiles (p99 of 20 or 60 samples is the largest). */
function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return { n: sorted.length, min: round1(sorted[0] ?? NaN), p50: round1(at(50)), p90: round1(at(90)), p99: round1(at(99)), max: round1(sorted.at(-1) ?? NaN) };
}

// ─── The machine ─────────────────────────────────────────────────────────────────────────────────────────────

function memAvailableBytes(): number {
  const line = fs.readFileSync('/proc/meminfo', 'utf8').split('\n').find((l) => l.startsWith('MemAvailable:'));
  return Number(line?.match(/(\d+)/)?.[1] ?? 0) * 1024;
}

/** Proportional set size of a process (its share of shared pages counted once overall), or 0 if it is gone. */
function pssBytes(pid: number): number {
  try {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(text.match(/^Pss:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Resident set size of a process, or 0 if it is gone. */
function rssBytes(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

const alive = (pid: number) => processStart(pid) !== null;

const loadSamples: { at: number; load1: number }[] = [];
const sampleLoad = () => loadSamples.push({ at: Date.now(), load1: os.loadavg()[0]! });

interface NetSnapshot {
  netns: string[];
  veths: string[];
  bridges: string[];
  nftTables: string[];
}

async function netSnapshot(): Promise<NetSnapshot> {
  const lines = async (cmd: string, args: string[]) => (await run(cmd, args).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
  const netns = (await lines('ip', ['netns', 'list'])).map((l) => l.split(' ')[0]!);
  const links = (await lines('ip', ['-o', 'link', 'show'])).map((l) => l.split(': ')[1]?.split('@')[0] ?? '');
  const tables = (await lines('nft', ['list', 'tables'])).map((l) => l.replace(/^table /, '')).filter((t) => /jobdeck/.test(t));
  return { netns: netns.sort(), veths: links.filter((l) => l.startsWith('jdv')).sort(), bridges: links.filter((l) => l.startsWith('jdb')).sort(), nftTables: tables.sort() };
}

/** What is in `after` and not in `before`, and the reverse; split into this run's network indexes and the rest. */
function compare(before: NetSnapshot, after: NetSnapshot, indexes: Set<number>) {
  const ofMine = (name: string) => {
    const m = name.match(/^jd[vb]?(\d+)/) ?? name.match(/jobdeck(\d+)$/);
    return m ? indexes.has(Number(m[1])) : false;
  };
  const out: Record<string, { added: string[]; removed: string[] }> = {};
  const mine: Record<string, string[]> = {};
  for (const key of Object.keys(before) as (keyof NetSnapshot)[]) {
    const b = new Set(before[key]);
    const a = new Set(after[key]);
    const added = [...a].filter((x) => !b.has(x));
    const removed = [...b].filter((x) => !a.has(x));
    mine[key] = added.filter(ofMine);
    out[key] = { added: added.filter((x) => !ofMine(x)), removed };
  }
  return { mine, others: out };
}

// ─── One server ──────────────────────────────────────────────────────────────────────────────────────────────

interface Seen {
  runningAt?: number;
  endedAt?: number;
  endState?: JobState;
  endStatus?: string | null;
}

class Server {
  readonly seen = new Map<string, Seen>();
  readonly created = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private ws: WebSocket | null = null;
  base = '';
  closed = false;
  networkIndex: number | null = null;
  instance: string | null = null;

  private constructor(
    readonly app: FastifyInstance,
    readonly parts: AppParts,
    readonly db: Db,
    readonly dataDir: string,
    readonly isolation: 'auto' | 'off',
  ) {}

  static async open(isolation: 'auto' | 'off'): Promise<Server> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-bench-real-'));
    // A fresh database per server: a copy of one migrated, empty template (migrating each time takes seconds here).
    template ??= openDb({});
    const db = await cloneDb(await template);
    const config: Partial<Config> = {
      dataDir,
      publicDir: null,
      exampleBackend: 'local',
      exampleIsolation: isolation,
      exampleKeepJobs: false,
      exampleQueueDelayMs: 0,
      verifyIntervalMs: 0,
      shedLagMs: 0,
    };
    const parts: AppParts = {};
    const app = await buildApp({ db, loopback: 'http', config, parts });
    log(`${isolation}: database open and app built`);
    const server = new Server(app, parts, db, dataDir, isolation);
    open.add(server);
    server.base = await app.listen({ port: 0, host: '127.0.0.1' });
    // The provider starts once listening (its backend opens the job network then).
    const deadline = Date.now() + WAIT_MS;
    while (!parts.example?.local) {
      if (Date.now() > deadline) throw new Error('the example provider did not start its local backend');
      await sleep(10);
    }
    server.networkIndex = parts.example.local.networkIndex;
    const [setting] = await db.query<{ value: string }>(`SELECT value FROM example_settings WHERE key = 'instance'`);
    server.instance = setting?.value ?? null;
    await server.listen();
    return server;
  }

  get token() {
    return this.app.services.credentials.user;
  }

  private async listen() {
    const ws = new WebSocket(`${this.base.replace(/^http/, 'ws')}/api/jobs`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    let synced: () => void = () => undefined;
    const sync = new Promise<void>((resolve) => (synced = resolve));
    ws.on('message', (data) => {
      const at = performance.now();
      const frame = JSON.parse(String(data)) as { type: string; streamId: string; status?: number; payload: { job?: { id: string; status: { state: JobState; status?: string | null } } } };
      if (frame.streamId === 'sync') return synced();
      const job = frame.payload?.job;
      if (frame.type !== 'message' || !job) return;
      const seen = this.seen.get(job.id) ?? {};
      if (job.status.state === 'RUNNING' && seen.runningAt === undefined) seen.runningAt = at;
      if (FINAL.has(job.status.state) && seen.endedAt === undefined) {
        seen.endedAt = at;
        seen.endState = job.status.state;
        seen.endStatus = job.status.status ?? null;
      }
      this.seen.set(job.id, seen);
      for (const wake of this.waiters) wake();
    });
    ws.send(JSON.stringify({ call: 'jobs.listen', streamId: 'jobs', payload: {}, bearer: this.token }));
    // The server handles a socket's frames in order: once this 404 is answered, jobs.listen is live.
    ws.send(JSON.stringify({ call: 'jobs.follow', streamId: 'sync', payload: { id: 'no-such-job' }, bearer: this.token }));
    await sync;
    this.ws = ws;
  }

  async call(method: 'GET' | 'POST', url: string, body?: unknown, token = this.token): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
  }

  /** POST /api/jobs with `count` web apps; the ids and when the answer arrived. */
  async create(count: number): Promise<{ ids: string[]; sentAt: number; answeredAt: number; status: number; why?: string }> {
    const sentAt = performance.now();
    const response = await this.call('POST', '/api/jobs', { items: Array.from({ length: count }, webApp) });
    const answeredAt = performance.now();
    if (response.status !== 200) return { ids: [], sentAt, answeredAt, status: response.status, why: JSON.stringify(response.body) };
    const ids = (response.body as { responses: { id: string }[] }).responses.map((r) => r.id);
    for (const id of ids) this.created.add(id);
    return { ids, sentAt, answeredAt, status: 200 };
  }

  async terminate(ids: string[]) {
    if (ids.length === 0) return;
    const response = await this.call('POST', '/api/jobs/terminate', { items: ids.map((id) => ({ id })) });
    if (response.status !== 200) throw new Error(`terminate answered ${response.status}: ${JSON.stringify(response.body)}`);
  }

  /** Waits until `done()` holds (re-checked on every job message), or `timeoutMs`; returns whether it held. */
  until(done: () => boolean, timeoutMs = WAIT_MS): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(true);
      };
      this.waiters.add(wake);
    });
  }

  /** All RUNNING, or any of them ended before RUNNING (failed to start). */
  startedOrFailed(ids: string[], timeoutMs = WAIT_MS) {
    return this.until(() => ids.some((id) => this.failedToStart(id)) || ids.every((id) => this.seen.get(id)?.runningAt !== undefined), timeoutMs);
  }

  failedToStart(id: string) {
    const s = this.seen.get(id);
    return s?.endedAt !== undefined && s.runningAt === undefined;
  }

  ended(ids: string[], timeoutMs = WAIT_MS) {
    return this.until(() => ids.every((id) => this.seen.get(id)?.endedAt !== undefined), timeoutMs);
  }

  async terminateAndWait(ids: string[]) {
    await this.terminate(ids);
    if (!(await this.ended(ids))) throw new Error(`${this.isolation}: terminated jobs did not end within ${WAIT_MS / 1000} s`);
  }

  async view(id: string): Promise<ProviderJobView> {
    const response = await this.call('GET', `/ucloud/example/jobs/retrieve?id=${id}`, undefined, this.app.services.credentials.admin);
    if (response.status !== 200) throw new Error(`provider retrieve answered ${response.status}`);
    return response.body as ProviderJobView;
  }

  runDir(id: string) {
    return this.parts.example!.local!.runDir(id);
  }

  /** When the job's program printed "Listening" (polled every 10 ms), or null after the timeout. */
  async listening(id: string, timeoutMs = 30_000): Promise<number | null> {
    const file = path.join(this.runDir(id), 'stdout.log');
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const text = await fsp.readFile(file, 'utf8').catch(() => '');
      if (/Listening on/.test(text)) return performance.now();
      await sleep(10);
    }
    return null;
  }

  /** The job's program and its supervisor, while they run. */
  pids(id: string): { pid: number; supervisorPid: number } | null {
    return this.parts.example?.local?.started(id) ?? null;
  }

  /** Jobs created here that have not ended (as far as jobs.listen has said). */
  active(): string[] {
    return [...this.created].filter((id) => this.seen.get(id)?.endedAt === undefined);
  }

  /** Supervisors of this server's jobs that still run (found by their run folder in /proc). */
  supervisors(): number[] {
    const runs = path.join(this.dataDir, 'runs') + path.sep;
    return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(runs);
      } catch {
        return false;
      }
    });
  }

  /**
   * Terminates every job still active and waits for them to end (the provider releases each), then closes the app.
   * Closing with jobs still running (exampleKeepJobs false kills them in the provider's preClose hook, one at a time)
   * overruns Fastify's 10 s close timeout with a few dozen jobs here; see the report. Should close fail anyway, this
   * waits for the provider's stop, which goes on in the background, and says so in `closeErrors`.
   */
  async close(): Promise<{ terminateMs: number; closeMs: number }> {
    if (this.closed) return { terminateMs: 0, closeMs: 0 };
    this.closed = true;
    const started = performance.now();
    const active = this.active();
    if (active.length > 0) {
      try {
        await this.terminate(active);
        if (!(await this.ended(active, 180_000))) closeErrors.push(`${this.isolation}: ${active.length} terminated jobs did not all end within 180 s`);
      } catch (error) {
        closeErrors.push(`${this.isolation}: terminate before close: ${(error as Error).message}`);
      }
    }
    const terminated = performance.now();
    this.ws?.close();
    try {
      await this.app.close();
    } catch (error) {
      closeErrors.push(`${this.isolation}: app.close() with ${this.active().length} jobs active: ${(error as Error).message}`);
      const deadline = Date.now() + 120_000;
      while (this.supervisors().length > 0 && Date.now() < deadline) await sleep(200);
      await sleep(2_000);
    }
    await this.db.close().catch(() => undefined);
    const left = this.supervisors();
    if (left.length > 0) closeErrors.push(`${this.isolation}: ${left.length} supervisors still ran after close: ${left.join(' ')}`);
    else fs.rmSync(this.dataDir, { recursive: true, force: true });
    open.delete(this);
    return { terminateMs: terminated - started, closeMs: performance.now() - terminated };
  }
}

const closeErrors: string[] = [];

let template: Promise<Db> | undefined;
const open = new Set<Server>();
const indexes = new Set<number>();
const instances = new Set<string>();

async function openServer(isolation: 'auto' | 'off') {
  const server = await Server.open(isolation);
  if (server.networkIndex !== null) indexes.add(server.networkIndex);
  if (server.instance) instances.add(server.instance);
  return server;
}

// ─── 1 + 2: A/B rounds ───────────────────────────────────────────────────────────────────────────────────────

interface RoundResult {
  isolation: 'auto' | 'off';
  isolationSeen: string;
  networkIndex: number | null;
  sequentialMs: number[];
  runningToListeningMs: number[];
  bulkMs: number[];
  bulkPostMs: number;
  /** From the bulk POST's answer to the last of its jobs RUNNING. */
  bulkAllRunningMs: number;
  load1: number;
}

async function abRound(isolation: 'auto' | 'off', n: number): Promise<RoundResult> {
  const server = await openServer(isolation);
  log(`${isolation}: server open (network index ${server.networkIndex})`);
  try {
    // Warm-up, not counted: the fresh database's first queries, the first launch of this backend.
    const warm = await server.create(1);
    if (!(await server.startedOrFailed(warm.ids)) || server.failedToStart(warm.ids[0]!)) throw new Error(`${isolation}: warm-up job did not start`);
    const isolationSeen = (await server.view(warm.ids[0]!)).isolation;
    await server.listening(warm.ids[0]!);
    await server.terminateAndWait(warm.ids);
    log(`${isolation}: warm-up done`);

    const sequentialMs: number[] = [];
    const listeningAt: Promise<number | null>[] = [];
    const sequentialIds: string[] = [];
    for (let i = 0; i < n; i++) {
      const created = await server.create(1);
      const id = created.ids[0];
      if (!id) throw new Error(`${isolation}: create answered ${created.status} ${created.why}`);
      sequentialIds.push(id);
      if (!(await server.startedOrFailed([id])) || server.failedToStart(id)) throw new Error(`${isolation}: job ${id} did not start: ${JSON.stringify(server.seen.get(id))}`);
      const runningAt = server.seen.get(id)!.runningAt!;
      sequentialMs.push(runningAt - created.answeredAt);
      // Not waited for: the next job is created as soon as this one is RUNNING, while its program still starts.
      listeningAt.push(server.listening(id, 30_000).then((at) => (at === null ? null : at - runningAt)));
    }
    const runningToListeningMs = (await Promise.all(listeningAt)).filter((ms): ms is number => ms !== null);
    log(`${isolation}: ${n} one at a time done`);
    await server.terminateAndWait(sequentialIds);
    log(`${isolation}: terminated`);

    const bulk = await server.create(n);
    if (bulk.ids.length !== n) throw new Error(`${isolation}: bulk create answered ${bulk.status} ${bulk.why}`);
    if (!(await server.startedOrFailed(bulk.ids)) || bulk.ids.some((id) => server.failedToStart(id))) {
      const failed = bulk.ids.filter((id) => server.failedToStart(id)).map((id) => ({ id, ...server.seen.get(id) }));
      const waiting = bulk.ids.filter((id) => server.seen.get(id)?.runningAt === undefined && !server.failedToStart(id));
      throw new Error(`${isolation}: bulk jobs did not all start within ${WAIT_MS / 1000} s: failed ${JSON.stringify(failed)}; not yet running: ${waiting.length} (${waiting.join(', ')})`);
    }
    const bulkMs = bulk.ids.map((id) => server.seen.get(id)!.runningAt! - bulk.answeredAt);
    log(`${isolation}: bulk running`);
    await server.terminateAndWait(bulk.ids);
    log(`${isolation}: bulk terminated`);
    sampleLoad();
    return {
      isolation,
      isolationSeen,
      networkIndex: server.networkIndex,
      sequentialMs,
      runningToListeningMs,
      bulkMs,
      bulkPostMs: bulk.answeredAt - bulk.sentAt,
      bulkAllRunningMs: Math.max(...bulkMs),
      load1: os.loadavg()[0]!,
    };
  } finally {
    const { closeMs } = await server.close();
    log(`${isolation}: closed in ${Math.round(closeMs)} ms`);
  }
}

// ─── 3: fill the machine ─────────────────────────────────────────────────────────────────────────────────────

async function fill() {
  const server = await openServer('auto');
  log(`fill: server open (network index ${server.networkIndex})`);
  const warm = await server.create(1);
  if (!(await server.startedOrFailed(warm.ids)) || server.failedToStart(warm.ids[0]!)) throw new Error('fill: warm-up job did not start');
  await server.listening(warm.ids[0]!);
  await server.terminateAndWait(warm.ids);
  const floor = FLOOR_GIB * GiB;
  const memBefore = memAvailableBytes();
  const ids: string[] = [];
  const batches: { jobs: number; seconds: number; memAvailableGiB: number; load1: number }[] = [];
  let stoppedBy: string;
  let firstSentAt: number | null = null;
  let lastRunningAt = 0;
  const started = performance.now();
  // Until jobs have been measured, assume a web app and its supervisor take 150 MB.
  let perJob = 150 * MB;
  try {
    for (;;) {
      const available = memAvailableBytes();
      // MemAvailable moves with everything else on a shared machine too; never assume less than 150 MB a job.
      if (ids.length > 0) perJob = Math.max(150 * MB, (memBefore - available) / ids.length);
      const size = Math.min(BATCH, CAP - ids.length);
      if (size <= 0) {
        stoppedBy = `cap of ${CAP} jobs`;
        break;
      }
      if (available - size * perJob < floor) {
        stoppedBy = `memory floor: ${round2(available / GiB)} GiB available, another ${size} jobs (~${Math.round(perJob / MB)} MB each) would pass the ${FLOOR_GIB} GiB floor`;
        break;
      }
      if ((performance.now() - started) / 1000 > FILL_SECONDS) {
        stoppedBy = `time limit of ${FILL_SECONDS} s`;
        break;
      }
      const created = await server.create(size);
      firstSentAt ??= created.sentAt;
      if (created.ids.length !== size) {
        stoppedBy = `create refused: ${created.status} ${created.why}`;
        break;
      }
      ids.push(...created.ids);
      const ok = await server.startedOrFailed(created.ids);
      const failed = created.ids.filter((id) => server.failedToStart(id));
      for (const id of created.ids) lastRunningAt = Math.max(lastRunningAt, server.seen.get(id)?.runningAt ?? 0);
      batches.push({ jobs: ids.length, seconds: round2((performance.now() - created.sentAt) / 1000), memAvailableGiB: round2(memAvailableBytes() / GiB), load1: round2(os.loadavg()[0]!) });
      sampleLoad();
      log(`fill: ${ids.length} jobs, batch in ${batches.at(-1)!.seconds} s, ${batches.at(-1)!.memAvailableGiB} GiB available, load ${batches.at(-1)!.load1}`);
      if (failed.length > 0) {
        stoppedBy = `a job failed to start: ${failed[0]} ${server.seen.get(failed[0]!)?.endStatus ?? ''}`;
        break;
      }
      if (!ok) {
        stoppedBy = `a batch did not start within ${WAIT_MS / 1000} s`;
        break;
      }
    }
    const runningIds = ids.filter((id) => server.seen.get(id)?.runningAt !== undefined && server.seen.get(id)?.endedAt === undefined);
    // Let the programs finish starting (memory grows until they listen), then look at them.
    const listening = (await Promise.all(runningIds.map((id) => server.listening(id, 30_000)))).filter((at) => at !== null).length;
    await sleep(1_000);
    const memAfter = memAvailableBytes();
    let pss = 0;
    let supervisorPss = 0;
    let rss = 0;
    let supervisorRss = 0;
    let aliveCount = 0;
    for (const id of runningIds) {
      const pids = server.pids(id);
      if (!pids || !alive(pids.pid)) continue;
      aliveCount++;
      pss += pssBytes(pids.pid);
      supervisorPss += pssBytes(pids.supervisorPid);
      rss += rssBytes(pids.pid);
      supervisorRss += rssBytes(pids.supervisorPid);
    }
    const isolationSeen = runningIds[0] ? (await server.view(runningIds[0])).isolation : 'none';
    const runningSeconds = firstSentAt === null ? 0 : (lastRunningAt - firstSentAt) / 1000;
    sampleLoad();
    const load1AtEnd = os.loadavg()[0]!;
    log(`fill: ${aliveCount} running, ${listening} listening; terminating all, then closing`);
    const { terminateMs, closeMs } = await server.close();
    log(`fill: terminated in ${Math.round(terminateMs)} ms, closed in ${Math.round(closeMs)} ms`);
    return {
      isolation: 'auto',
      isolationSeen,
      networkIndex: server.networkIndex,
      batchSize: BATCH,
      created: ids.length,
      reachedRunning: ids.filter((id) => server.seen.get(id)?.runningAt !== undefined).length,
      stoppedBy,
      jobsPerSecond: round2(runningSeconds > 0 ? ids.filter((id) => server.seen.get(id)?.runningAt !== undefined).length / runningSeconds : 0),
      secondsToLastRunning: round2(runningSeconds),
      runningAtEnd: aliveCount,
      listeningAtEnd: listening,
      memory: {
        floorGiB: FLOOR_GIB,
        availableBeforeGiB: round2(memBefore / GiB),
        availableAtEndGiB: round2(memAfter / GiB),
        /** MemAvailable's drop per running job: program, supervisor, and what the kernel holds for it. */
        perJobMB: aliveCount ? Math.round((memBefore - memAfter) / aliveCount / MB) : null,
        /** Proportional set size per job: the web app, and its supervisor. */
        appPssMB: aliveCount ? round1(pss / aliveCount / MB) : null,
        supervisorPssMB: aliveCount ? round1(supervisorPss / aliveCount / MB) : null,
        /** Resident set size per job (shared pages counted in each): the web app, and its supervisor. */
        appRssMB: aliveCount ? round1(rss / aliveCount / MB) : null,
        supervisorRssMB: aliveCount ? round1(supervisorRss / aliveCount / MB) : null,
      },
      load1AtEnd: round2(load1AtEnd),
      /** One bulk terminate of every job until all have ended (each process stopped, its namespace and cgroups released). */
      terminateAllSeconds: round2(terminateMs / 1000),
      /** Then closing the app (exampleKeepJobs false; nothing is left to kill by then). */
      closeSeconds: round2(closeMs / 1000),
      batches,
    };
  } finally {
    await server.close();
  }
}

// ─── main ────────────────────────────────────────────────────────────────────────────────────────────────────

async function main() {
  if (process.getuid?.() !== 0) log('not root: jobs run without network namespaces or cgroups on both sides');
  const watchdog = setTimeout(() => {
    log(`watchdog: the bench ran past ${WATCHDOG_MS / 60_000} min; cleaning up and giving up`);
    void Promise.allSettled([...open].map((s) => s.close())).finally(() => process.exit(1));
  }, WATCHDOG_MS);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void Promise.allSettled([...open].map((s) => s.close())).finally(() => process.exit(1));
    });
  }
  const began = Date.now();
  sampleLoad();
  const netBefore = await netSnapshot();

  const rounds: RoundResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const isolation of ['auto', 'off'] as const) {
      const result = await abRound(isolation, JOBS);
      rounds.push(result);
      log(
        `round ${r + 1} ${isolation} (${result.isolationSeen}): one at a time p50 ${stats(result.sequentialMs).p50} ms, ` +
          `bulk p50 ${stats(result.bulkMs).p50} ms, last ${Math.round(result.bulkAllRunningMs)} ms; load ${round2(result.load1)}`,
      );
    }
  }
  const side = (isolation: 'auto' | 'off') => {
    const mine = rounds.filter((r) => r.isolation === isolation);
    return {
      isolationSeen: [...new Set(mine.map((r) => r.isolationSeen))].join(', '),
      oneAtATimeMs: stats(mine.flatMap((r) => r.sequentialMs)),
      bulkMs: stats(mine.flatMap((r) => r.bulkMs)),
      bulkPostMs: stats(mine.map((r) => r.bulkPostMs)),
      runningToListeningMs: stats(mine.flatMap((r) => r.runningToListeningMs)),
      perRound: mine.map((r) => ({
        oneAtATimeP50: stats(r.sequentialMs).p50,
        oneAtATimeP99: stats(r.sequentialMs).p99,
        bulkP50: stats(r.bulkMs).p50,
        bulkP99: stats(r.bulkMs).p99,
        load1: round2(r.load1),
      })),
    };
  };
  const isolated = side('auto');
  const plain = side('off');
  const ratio = (a: number, b: number) => round2(a / b);

  const fillResult = await fill();

  // Give the kernel a moment to finish deleting namespaces of the last close, then compare with before.
  await sleep(500);
  const netAfter = await netSnapshot();
  // An index this run used and released may have been claimed since by another run on the shared machine: what is on
  // it now is theirs (its claim file names a live process other than this one).
  const takenSince: number[] = [];
  for (const index of indexes) {
    try {
      const owner = JSON.parse(fs.readFileSync(`/run/jobdeck/net/${index}`, 'utf8')) as { pid: number };
      if (owner.pid !== process.pid && alive(owner.pid)) takenSince.push(index);
    } catch {
      // no claim: nobody uses it now
    }
  }
  const diff = compare(netBefore, netAfter, new Set([...indexes].filter((i) => !takenSince.includes(i))));
  const leftoverCgroups: string[] = [];
  for (const controller of ['memory', 'cpu', 'pids']) {
    const found = await run('find', [path.join('/sys/fs/cgroup', controller), '-maxdepth', '4', '-type', 'd', '-name', 'jobdeck-*']).catch(() => ({ stdout: '' }));
    for (const dir of found.stdout.split('\n').filter(Boolean)) if ([...instances].some((i) => dir.endsWith(`jobdeck-${i}`))) leftoverCgroups.push(dir);
  }
  const leftoverProcesses = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('jobdeck-bench-real-');
      } catch {
        return false;
      }
    }).length;
  sampleLoad();
  const loads = loadSamples.map((s) => s.load1);

  const result = {
    benchmark: 'real jobs (issue 12)',
    app: 'acme-web-app',
    measuredBy: 'jobs.listen WebSocket: RUNNING message arrival − POST /api/jobs answer, performance.now() in-process',
    config: { exampleTickMs: 250, exampleQueueDelayMs: 0, exampleKeepJobs: false, loopback: 'http', storage: 'pglite (in memory, fresh per server)' },
    rounds: ROUNDS,
    jobsPerRound: JOBS,
    order: rounds.map((r) => (r.isolation === 'auto' ? 'A' : 'B')).join(''),
    // 1: the default as root (isolation 'auto'), all rounds pooled.
    createToRunningMs: { oneAtATime: isolated.oneAtATimeMs, bulk: isolated.bulkMs },
    // 2: A/B, alternating rounds in this one run.
    isolation: {
      auto: isolated,
      off: plain,
      ratio: {
        oneAtATimeP50: ratio(isolated.oneAtATimeMs.p50, plain.oneAtATimeMs.p50),
        oneAtATimeP99: ratio(isolated.oneAtATimeMs.p99, plain.oneAtATimeMs.p99),
        bulkP50: ratio(isolated.bulkMs.p50, plain.bulkMs.p50),
        bulkP99: ratio(isolated.bulkMs.p99, plain.bulkMs.p99),
      },
    },
    // 3
    fill: fillResult,
    loadAverage: { min: round2(Math.min(...loads)), mean: round2(loads.reduce((a, b) => a + b, 0) / loads.length), max: round2(Math.max(...loads)), samples: loads.length },
    leftovers: {
      netns: diff.mine.netns,
      veths: diff.mine.veths,
      bridges: diff.mine.bridges,
      nftTables: diff.mine.nftTables,
      cgroups: leftoverCgroups,
      processes: leftoverProcesses,
      /** Network indexes this run used; changes on other indexes are other runs on the shared machine. */
      networkIndexes: [...indexes].sort((a, b) => a - b),
      /** Of those, claimed by another run since this one released it (its names then count under otherRuns). */
      networkIndexesTakenSince: takenSince,
      closeErrors,
      otherRuns: diff.others,
    },
    benchSeconds: Math.round((Date.now() - began) / 1000),
  };
  clearTimeout(watchdog);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch(async (error) => {
  console.error(error);
  await Promise.allSettled([...open].map((s) => s.close()));
  process.exit(1);
});
