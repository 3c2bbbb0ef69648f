/**
 * How many WebSocket connections and live streams one server process holds, and what breaks first (issue 7).
 *
 *   npx tsx bench/limits-sockets.ts [--steps 1000,2000,5000,10000,15000,19000] [--streams 1] [--fd-limit N]
 *                                   [--postgres <url>] [--max-seconds 300]
 *
 * Starts `server/main.ts` (PGlite in a temp dir, or a fresh PostgreSQL database with --postgres) on loopback,
 * optionally under `ulimit -n N` (--fd-limit) to see what happens at the descriptor limit. Opens sockets in
 * steps; each socket sends --streams tasks.listen calls for user 'user' and a jobs.follow barrier (a 404), so
 * it is live once that answers. At every step it records the server's RSS and open descriptors
 * (/proc/<pid>), the latency of REST calls (GET /api/health, no database; GET /api/tasks, one query) as a
 * measure of event-loop lag, and the fan-out: one postStatus to a task of 'user' must reach every stream;
 * the time until the last stream has it. Stops at the first step that fails (a socket refused, a stream
 * missing its update, a request over 10 s) or at --max-seconds. The client runs on the same 2 cores, so its
 * own cost is in the figures. Loopback only. Prints one JSON document as its last line.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { freshDatabase } from '../server/live/server-process';
import { option } from './cli-options';

const STEPS = option('steps', '1000,2000,5000,10000,15000,19000').split(',').map(Number);
const STREAMS = Number(option('streams', '1'));
const FD_LIMIT = Number(option('fd-limit', '0'));
const POSTGRES = option('postgres', '');
const MAX_SECONDS = Number(option('max-seconds', '300'));
const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (n: number) => Math.round(n * 10) / 10;

async function start(env: Record<string, string>) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-limits-'));
  // One process (no tsx CLI wrapper), so /proc/<pid> is the server itself.
  const node = `"${process.execPath}" --import tsx server/main.ts`;
  const child = spawn('sh', ['-c', FD_LIMIT ? `ulimit -n ${FD_LIMIT} && exec ${node}` : `exec ${node}`], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', JOBDECK_DATA_DIR: dataDir, LOG_LEVEL: 'error', JOBDECK_EXAMPLE_PROVIDER: 'off', DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /Jobdeck is running at (\S+)/.exec(out);
      if (match) {
        clearInterval(timer);
        resolve(match[1]!);
      }
    }, 50);
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
  const credentials = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as Record<string, string>;
  return { child, base, dataDir, credentials, output: () => out };
}

function proc(pid: number) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { rssMB: round(rssKb / 1024), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return { rssMB: 0, fds: 0 };
  }
}

async function timed(url: string, token: string) {
  const t0 = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  await response.text();
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return performance.now() - t0;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN);
};

interface Socket {
  ws: WebSocket;
  got: number;
}

async function main() {
  const deadline = Date.now() + MAX_SECONDS * 1000;
  let drop: (() => Promise<void>) | null = null;
  const env: Record<string, string> = {};
  if (POSTGRES) {
    const db = await freshDatabase(POSTGRES, 'jobdeck_limits');
    env.DATABASE_URL = db.url;
    drop = db.drop;
  }
  const server = await start(env);
  const pid = server.child.pid!;
  const { ucloud, user } = server.credentials as { ucloud: string; user: string };
  const wsUrl = `${server.base.replace('http', 'ws')}/api/tasks`;
  const task = await (await fetch(`${server.base}/api/tasks`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ucloud}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'fan-out', owner: 'user', initialStatus: null }),
  })).json() as { jobId: string };

  const sockets: Socket[] = [];
  let marker = 0;
  let waitingFor = '';
  let receivedMarker = 0;
  const openOne = () =>
    new Promise<Socket>((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      const socket: Socket = { ws, got: 0 };
      const timer = setTimeout(() => reject(new Error('socket not live within 30 s')), 30_000);
      ws.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      ws.on('message', (data) => {
        const text = String(data);
        if (text.includes('"streamId":"sync"')) {
          clearTimeout(timer);
          resolve(socket);
        } else if (waitingFor && text.includes(waitingFor)) {
          socket.got += 1;
          receivedMarker += 1;
        }
      });
      ws.once('open', () => {
        for (let s = 0; s < STREAMS; s++) ws.send(JSON.stringify({ call: 'tasks.listen', streamId: `t${s}`, payload: {}, bearer: user }));
        ws.send(JSON.stringify({ call: 'jobs.follow', streamId: 'sync', payload: { id: 'none' }, bearer: user }));
      });
    });

  const steps: Record<string, unknown>[] = [];
  let brokeAt: Record<string, unknown> | null = null;
  const baseline = proc(pid);
  for (const target of STEPS) {
    if (Date.now() > deadline) break;
    const t0 = performance.now();
    let failure: string | null = null;
    // Open in parallel batches of 200.
    while (sockets.length < target && !failure) {
      const batch = Math.min(200, target - sockets.length);
      const opened = await Promise.allSettled(Array.from({ length: batch }, openOne));
      for (const r of opened) {
        if (r.status === 'fulfilled') sockets.push(r.value);
        else failure ??= (r.reason as Error).message || String(r.reason);
      }
      if (server.child.exitCode !== null) failure = `server exited: ${server.output().slice(-500)}`;
    }
    const openSeconds = round((performance.now() - t0) / 1000);
    if (failure) {
      const p = proc(pid);
      brokeAt = { sockets: sockets.length, trying: target, error: failure, server: p, serverAlive: server.child.exitCode === null };
      log(`broke at ${sockets.length} sockets: ${failure}`);
      // Does the server still answer REST with the sockets it has?
      try {
        brokeAt.healthMsAfter = round(await timed(`${server.base}/api/health`, user));
      } catch (e) {
        brokeAt.healthAfter = String((e as Error).message);
      }
      break;
    }
    const p = proc(pid);
    // Event-loop lag as REST latency: 30 health checks and 30 task list reads, one after the other.
    const health: number[] = [];
    const list: number[] = [];
    for (let i = 0; i < 30; i++) {
      health.push(await timed(`${server.base}/api/health`, user));
      list.push(await timed(`${server.base}/api/tasks?itemsPerPage=10&page=0`, user));
    }
    // Fan-out: one update to every stream, three times.
    const fanout: number[] = [];
    let missing = 0;
    for (let r = 0; r < 3; r++) {
      waitingFor = `m-${++marker}-`;
      receivedMarker = 0;
      const expected = sockets.length * STREAMS;
      const f0 = performance.now();
      const posted = await fetch(`${server.base}/api/tasks/postStatus`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ucloud}`, 'content-type': 'application/json' },
        body: JSON.stringify({ update: { jobId: task.jobId, messageToAppend: waitingFor } }),
      });
      await posted.text();
      const until = performance.now() + 30_000;
      while (receivedMarker < expected && performance.now() < until) await new Promise((resolve) => setTimeout(resolve, 2));
      fanout.push(performance.now() - f0);
      missing = Math.max(missing, expected - receivedMarker);
    }
    const row = {
      sockets: sockets.length,
      streams: sockets.length * STREAMS,
      openSeconds,
      server: p,
      rssPerSocketKB: round(((p.rssMB - baseline.rssMB) * 1024) / sockets.length),
      healthMs: { p50: pct(health, 50), p99: pct(health, 99) },
      tasksListMs: { p50: pct(list, 50), p99: pct(list, 99) },
      fanoutMs: { median: pct(fanout, 50), max: pct(fanout, 100) },
      missedUpdates: missing,
      loadAverage: round(os.loadavg()[0]!),
    };
    steps.push(row);
    log(JSON.stringify(row));
    if (missing > 0) {
      brokeAt = { sockets: sockets.length, error: `${missing} streams did not get the update within 30 s` };
      break;
    }
  }

  for (const s of sockets) s.ws.terminate();
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
  fs.rmSync(server.dataDir, { recursive: true, force: true });
  await drop?.();
  console.log(
    JSON.stringify({
      benchmark: 'limits: sockets per process',
      storage: POSTGRES ? 'postgres' : 'pglite',
      streamsPerSocket: STREAMS,
      serverFdLimit: FD_LIMIT || Number(fs.readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\d+)/)?.[1]),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      date: new Date().toISOString(),
      baseline,
      steps,
      brokeAt,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
