/**
 * postStatus → tasks.listen delivery, end to end, against a real listening server on loopback (issue 4).
 *
 *   npx tsx bench/tasks-delivery.ts [--rate 2000] [--seconds 10] [--warmup 3] [--tasks 100] [--listeners 50]
 *                                   [--concurrency 64] [--rounds 6] [--round-seconds 5]
 *                                   [--postgres <url>] [--stores pglite,postgres] [--only jobdeck]
 *                                   [--external <base URL> <data dir>] [--max-sockets 256]
 *                                   [--server-env KEY=VALUE,…]
 *
 * Each listener is its own user and owns tasks/listeners of the tasks (so every update has one listener).
 * Jobdeck (`tsx server/main.ts`, on PGlite in a temp dir and/or a fresh PostgreSQL database of --postgres, as
 * --stores says; --postgres alone means PostgreSQL only) and a bare http + ws relay (bench/ws-bare-relay.ts), the
 * ceiling, all run at once on this machine and are measured in turn:
 *   - fixed rate: updates are offered open-loop at --rate per second, round-robin over the tasks, for
 *     --seconds (after --warmup seconds unmeasured); latency is from starting the POST to the frame arriving at the
 *     listener;
 *   - saturation: --concurrency posters send back to back; the delivered rate is the most the pipeline does on this
 *     machine. It runs in --rounds rounds of --round-seconds per system, the systems taking turns within a round
 *     and the order reversed every other round, so that the machine's changing load falls on all of them alike.
 *     Our rate over all rounds as a ratio of the relay's is the ratio; `roundRatios` shows each round's.
 * With --only jobdeck, Jobdeck alone: a fixed-rate phase and one saturation phase of --seconds.
 * "lost" counts updates acknowledged with 200 that never reached their listener (waiting up to 10 s). "shed"
 * counts 503 answers (load shedding, server/http/load-shed.ts): refused, not lost, and not errors. --max-sockets
 * caps the driver's connections (so the requests it keeps in flight); --server-env sets the server's environment
 * (e.g. JOBDECK_SHED_LAG_MS=0,JOBDECK_SHED_TASK_QUEUE=0 turns shedding off). The server's peak RSS is sampled, and
 * its CPU time per update measured (both servers'; `cpuRatioOfBare` compares them, which a busy machine disturbs
 * less than the rates).
 * Prints one JSON document as its last line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { freshDatabase, startServer } from '../server/live/server-process';
import { args, option } from './cli-options';

const RATE = Number(option('rate', '2000'));
const SECONDS = Number(option('seconds', '10'));
const TASKS = Number(option('tasks', '100'));
const LISTENERS = Number(option('listeners', '50'));
const CONCURRENCY = Number(option('concurrency', '64'));
const POSTGRES = option('postgres', '');
const WARMUP_SECONDS = Number(option('warmup', '3'));

const agent = new http.Agent({ keepAlive: true, maxSockets: Number(option('max-sockets', '256')) });
const SERVER_ENV = Object.fromEntries(
  option('server-env', '')
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

function httpPost(port: number, url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: url, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function json(base: string, method: string, url: string, token: string, body?: unknown) {
  const call = () =>
    fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  let response = await call();
  // Set-up calls of a server that sheds load (a just-started one may run late): wait as told, a few times.
  for (let attempt = 0; response.status === 503 && attempt < 10; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 1000 * Number(response.headers.get('retry-after') ?? 1)));
    response = await call();
  }
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<Record<string, unknown>>;
}

/** What the driver needs from a system under test. */
interface Target {
  name: string;
  /** Sends update n for task t; resolves with the HTTP status. */
  post(task: number, n: number): Promise<number>;
  /** Called by the listeners with the n of each update they receive. */
  onDelivery: (n: number) => void;
  close(): Promise<void>;
  /** The server's resident memory now (MB), when it is a local process. */
  rssMB?: () => number | null;
  /** The server's CPU time so far (ms, user + system), when it is a local process. */
  cpuMs?: () => number | null;
}

function rssOf(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** utime + stime of a process, in ms (clock ticks of 10 ms, as Linux reports them to /proc). */
function cpuOf(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

function percentile(sorted: number[], p: number) {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

interface PhaseResult {
  seconds: number;
  posted: number;
  acknowledged: number;
  errors: number;
  /** Answered 503 (load shedding). */
  shed: number;
  delivered: number;
  lost: number;
  deliveredPerSecond: number;
  latencyMs: { p50: number | null; p99: number | null; max: number | null };
  /** Time to the HTTP answer, 200 or 503. */
  answerMs: { p50: number | null; p99: number | null };
  serverRssPeakMB: number | null;
  /**
   * The server's CPU time per delivered update (µs) over the phase: what one update costs the server whatever share
   * of the machine it got, so it varies less with the machine's load than the rates do.
   */
  serverCpuUsPerUpdate: number | null;
}

async function phase(target: Target, mode: 'fixed' | 'saturation', nextN: { value: number }, seconds = SECONDS): Promise<PhaseResult> {
  const sentAt = new Map<number, number>();
  const acked = new Set<number>();
  const latencies: number[] = [];
  let delivered = 0;
  let errors = 0;
  let shed = 0;
  const answers: number[] = [];
  let rssPeak: number | null = null;
  const sampler = setInterval(() => {
    const rss = target.rssMB?.() ?? null;
    if (rss !== null) rssPeak = Math.max(rssPeak ?? 0, rss);
  }, 200);
  let posted = 0;
  let deliveredInWindow = 0;
  let windowOpen = true;
  target.onDelivery = (n) => {
    const t0 = sentAt.get(n);
    if (t0 === undefined) return;
    latencies.push(performance.now() - t0);
    sentAt.delete(n);
    delivered += 1;
    if (windowOpen) deliveredInWindow += 1;
  };
  const send = async () => {
    const n = nextN.value++;
    const task = n % TASKS;
    posted += 1;
    sentAt.set(n, performance.now());
    try {
      const t0 = performance.now();
      const status = await target.post(task, n);
      answers.push(performance.now() - t0);
      if (status === 200) acked.add(n);
      else if (status === 503) {
        shed += 1;
        sentAt.delete(n);
      } else errors += 1;
    } catch {
      errors += 1;
    }
  };

  const cpuAtStart = target.cpuMs?.() ?? null;
  const start = performance.now();
  const end = start + seconds * 1000;
  const inflight = new Set<Promise<void>>();
  if (mode === 'fixed') {
    let sent = 0;
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - start) / 1000) * RATE);
      while (sent < due) {
        const p = send();
        inflight.add(p);
        void p.then(() => inflight.delete(p));
        sent += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } else {
    const worker = async () => {
      while (performance.now() < end) await send();
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  const elapsed = (performance.now() - start) / 1000;
  windowOpen = false;
  await Promise.all(inflight);
  // Stragglers: wait until every acknowledged update has arrived, or 10 s.
  const drainUntil = performance.now() + 10_000;
  while (performance.now() < drainUntil && [...acked].some((n) => sentAt.has(n))) await new Promise((resolve) => setTimeout(resolve, 20));
  const lost = [...acked].filter((n) => sentAt.has(n)).length;
  const cpuAtEnd = target.cpuMs?.() ?? null;
  clearInterval(sampler);
  latencies.sort((a, b) => a - b);
  answers.sort((a, b) => a - b);
  return {
    seconds: Math.round(elapsed * 100) / 100,
    posted,
    acknowledged: acked.size,
    errors,
    shed,
    answerMs: { p50: percentile(answers, 50), p99: percentile(answers, 99) },
    serverRssPeakMB: rssPeak,
    serverCpuUsPerUpdate: cpuAtStart !== null && cpuAtEnd !== null && delivered > 0 ? Math.round(((cpuAtEnd - cpuAtStart) * 1000) / delivered) : null,
    delivered,
    lost,
    deliveredPerSecond: Math.round(deliveredInWindow / elapsed),
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
  };
}

function onFrames(ws: WebSocket, deliver: (n: number) => void) {
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { type: string; payload?: { messageToAppend?: string } };
    if (frame.type === 'message' && frame.payload?.messageToAppend) deliver(Number(frame.payload.messageToAppend));
  });
}

const open = (url: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

async function jobdeck(postgres: string): Promise<Target & { storage: string }> {
  const env: Record<string, string> = {};
  let drop: (() => Promise<void>) | null = null;
  if (postgres) {
    const db = await freshDatabase(postgres, 'jobdeck_bench');
    env.DATABASE_URL = db.url;
    drop = db.drop;
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-bench-'));
  // --external <base URL> <data dir>: a server started by hand (say, under `node --cpu-prof --import tsx`).
  const external = args.indexOf('--external');
  const server =
    external >= 0
      ? { base: args[external + 1]!, credentials: JSON.parse(fs.readFileSync(path.join(args[external + 2]!, 'credentials.json'), 'utf8')), stop: async () => 0 }
      : await startServer({ ...env, LOG_LEVEL: 'error', ...SERVER_ENV }, dataDir);
  const { base, credentials } = server;
  const port = Number(new URL(base).port);
  const users = await Promise.all(
    Array.from({ length: LISTENERS }, async (_, i) => {
      const { token } = (await json(base, 'POST', '/api/admin/users', credentials.admin, { username: `bench-${i}` })) as { token: string };
      return { name: `bench-${i}`, token };
    }),
  );
  const tasks: string[] = [];
  for (let i = 0; i < TASKS; i++) {
    const task = await json(base, 'PUT', '/api/tasks', credentials.ucloud, { title: `Bench ${i}`, owner: users[i % LISTENERS]!.name, initialStatus: null });
    tasks.push(task.jobId as string);
  }
  const target: Target & { storage: string } = {
    name: 'jobdeck',
    storage: postgres ? 'PostgreSQL' : 'PGlite',
    onDelivery: () => {},
    rssMB: () => rssOf('child' in server ? server.child.pid : undefined),
    cpuMs: () => cpuOf('child' in server ? server.child.pid : undefined),
    post: async (task, n) => {
      const body = `{"update":{"jobId":"${tasks[task]}","newTitle":null,"speeds":[],"progress":null,"complete":false,"messageToAppend":"${n}","newStatus":null}}`;
      return (await httpPost(port, '/api/tasks/postStatus', body, { authorization: `Bearer ${credentials.ucloud}` })).status;
    },
    close: async () => {
      for (const ws of sockets) ws.terminate();
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      await drop?.();
    },
  };
  const sockets = await Promise.all(
    users.map(async (user) => {
      const ws = await open(`${base.replace('http', 'ws')}/api/tasks`);
      onFrames(ws, (n) => target.onDelivery(n));
      ws.send(JSON.stringify({ call: 'tasks.listen', streamId: '0', payload: {}, bearer: user.token }));
      // Frames are handled in order: once this 404 arrives, tasks.listen is live.
      await new Promise<void>((resolve) => {
        const onMessage = (data: WebSocket.RawData) => {
          if (String(data).includes('"streamId":"sync"')) {
            ws.off('message', onMessage);
            resolve();
          }
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ call: 'jobs.follow', streamId: 'sync', payload: { id: 'none' }, bearer: user.token }));
      });
      return ws;
    }),
  );
  return target;
}

async function bare(): Promise<Target> {
  // `--import tsx` rather than tsx's CLI, which would run the relay in a child of its own (whose CPU time is not the relay's).
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/ws-bare-relay.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`bare relay exited with ${code}`)));
  });
  const owners = Array.from({ length: LISTENERS }, (_, i) => `bench-${i}`);
  const target: Target = {
    name: 'bare',
    onDelivery: () => {},
    cpuMs: () => cpuOf(child.pid),
    post: async (task, n) => {
      const body = `{"owner":"${owners[task % LISTENERS]}","update":{"jobId":"task-${task}","newTitle":null,"speeds":[],"progress":null,"complete":false,"messageToAppend":"${n}","newStatus":null,"seq":${n}}}`;
      return (await httpPost(port, '/', body)).status;
    },
    close: async () => {
      for (const ws of sockets) ws.terminate();
      child.kill('SIGTERM');
    },
  };
  const sockets = await Promise.all(
    owners.map(async (owner) => {
      const ws = await open(`ws://127.0.0.1:${port}/`);
      await new Promise<void>((resolve) => {
        ws.once('message', () => resolve());
        ws.send(JSON.stringify({ owner }));
      });
      onFrames(ws, (n) => target.onDelivery(n));
      return ws;
    }),
  );
  return target;
}

async function measure(target: Target) {
  const n = { value: 1 };
  // Unmeasured warm-up at the fixed rate, so JIT, connection pools and the database are settled first.
  await phase(target, 'fixed', n, WARMUP_SECONDS);
  const fixed = await phase(target, 'fixed', n);
  const saturation = await phase(target, 'saturation', n);
  return { fixedRate: fixed, saturation };
}

const ONLY = option('only', '');
const ROUNDS = Number(option('rounds', '6'));
const ROUND_SECONDS = Number(option('round-seconds', '5'));
const STORES = option('stores', POSTGRES ? 'postgres' : 'pglite').split(',');

const ratioOf = (a: number | null, b: number | null) => (a !== null && b ? Math.round((a / b) * 1000) / 1000 : null);
const sum = (results: PhaseResult[], key: 'seconds' | 'posted' | 'acknowledged' | 'errors' | 'shed' | 'delivered' | 'lost') => results.reduce((total, r) => total + r[key], 0);
const median = (values: number[]) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted[Math.floor(sorted.length / 2)]!;
};

/**
 * The saturation rounds of one system as one result: counts and rates over all of them, the server's CPU per update
 * over all updates, the median of the rounds' p50s and the worst round's p99 and max.
 */
function combine(rounds: PhaseResult[]): PhaseResult & { rounds: number[] } {
  const seconds = sum(rounds, 'seconds');
  const inWindow = rounds.reduce((total, r) => total + r.deliveredPerSecond * r.seconds, 0);
  const cpu = rounds.every((r) => r.serverCpuUsPerUpdate !== null) ? rounds.reduce((total, r) => total + r.serverCpuUsPerUpdate! * r.delivered, 0) : null;
  const worst = (pick: (r: PhaseResult) => number | null) => Math.max(...rounds.map((r) => pick(r) ?? -Infinity));
  return {
    seconds: Math.round(seconds * 100) / 100,
    posted: sum(rounds, 'posted'),
    acknowledged: sum(rounds, 'acknowledged'),
    errors: sum(rounds, 'errors'),
    shed: sum(rounds, 'shed'),
    answerMs: { p50: median(rounds.map((r) => r.answerMs.p50 ?? NaN)), p99: worst((r) => r.answerMs.p99) },
    serverRssPeakMB: rounds.some((r) => r.serverRssPeakMB !== null) ? worst((r) => r.serverRssPeakMB) : null,
    serverCpuUsPerUpdate: cpu !== null && sum(rounds, 'delivered') > 0 ? Math.round(cpu / sum(rounds, 'delivered')) : null,
    delivered: sum(rounds, 'delivered'),
    lost: sum(rounds, 'lost'),
    deliveredPerSecond: Math.round(inWindow / seconds),
    latencyMs: { p50: median(rounds.map((r) => r.latencyMs.p50 ?? NaN)), p99: worst((r) => r.latencyMs.p99), max: worst((r) => r.latencyMs.max) },
    rounds: rounds.map((r) => r.deliveredPerSecond),
  };
}

async function main() {
  if (ONLY === 'jobdeck') {
    const ours = await jobdeck(POSTGRES);
    console.log(JSON.stringify(await measure(ours)));
    await ours.close();
    agent.destroy();
    return;
  }
  // Every system runs from the start; an idle one costs the others next to nothing. Each gets its warm-up and its
  // fixed-rate phase in turn, then the saturation phase runs in ROUNDS rounds, the systems taking turns within each
  // round and the order reversed every other round (ABC CBA …), so a change in the machine's load during the run
  // falls on all of them alike.
  const stores = STORES.map((store) => {
    if (store !== 'pglite' && store !== 'postgres') throw new Error(`--stores: '${store}' is neither pglite nor postgres`);
    if (store === 'postgres' && !POSTGRES) throw new Error('--stores postgres needs --postgres <url>');
    return store === 'postgres' ? POSTGRES : '';
  });
  const ours = [];
  for (const store of stores) ours.push(await jobdeck(store));
  const ceiling = await bare();
  const systems = [...ours, ceiling];
  const counters = systems.map(() => ({ value: 1 }));
  const fixed: PhaseResult[] = [];
  for (const [i, system] of systems.entries()) {
    await phase(system, 'fixed', counters[i]!, WARMUP_SECONDS);
    fixed.push(await phase(system, 'fixed', counters[i]!));
  }
  const rounds: PhaseResult[][] = systems.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    const order = [...systems.keys()];
    if (round % 2 === 1) order.reverse();
    for (const i of order) rounds[i]!.push(await phase(systems[i]!, 'saturation', counters[i]!, ROUND_SECONDS));
  }
  for (const system of systems) await system.close();
  agent.destroy();

  const bareResult = { fixedRate: fixed[systems.length - 1]!, saturation: combine(rounds[systems.length - 1]!) };
  const results = ours.map((system, i) => {
    const oursResult = { fixedRate: fixed[i]!, saturation: combine(rounds[i]!) };
    const ratio = ratioOf(oursResult.saturation.deliveredPerSecond, bareResult.saturation.deliveredPerSecond)!;
    return {
      scenario: {
        offeredRate: RATE, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, tasks: TASKS, listeners: LISTENERS, saturationConcurrency: CONCURRENCY,
        saturationRounds: ROUNDS, roundSeconds: ROUND_SECONDS, storage: system.storage,
      },
      loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`,
      jobdeck: oursResult,
      bare: bareResult,
      ratioOfBare: ratio,
      // Each round's ratio (Jobdeck's rate over the relay's in that round): how much one round's figure says.
      roundRatios: rounds[i]!.map((r, k) => ratioOf(r.deliveredPerSecond, rounds[systems.length - 1]![k]!.deliveredPerSecond)),
      ratioOfBareAtFixedRate: ratioOf(oursResult.fixedRate.deliveredPerSecond, bareResult.fixedRate.deliveredPerSecond),
      // The bare relay's CPU per update over ours, at saturation: the same comparison, less sensitive to the machine's load.
      cpuRatioOfBare: ratioOf(bareResult.saturation.serverCpuUsPerUpdate, oursResult.saturation.serverCpuUsPerUpdate),
      targets: {
        ratioAtLeast: 0.5,
        p99AtMostMs: 50,
        lost: 0,
        met: {
          ratio: ratio >= 0.5,
          p99: (oursResult.fixedRate.latencyMs.p99 ?? Infinity) <= 50,
          lost: oursResult.fixedRate.lost === 0 && oursResult.saturation.lost === 0,
        },
      },
    };
  });
  // One JSON document: the first store's result, the second's (if any) as `otherStore`, as bench/results.json keeps them.
  console.log(JSON.stringify(results.length > 1 ? { ...results[0]!, otherStore: results[1]! } : results[0]!));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
