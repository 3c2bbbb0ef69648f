/**
 * The task tray under load (issue 6), as `npm run bench -- tray` or `npx tsx bench/tray.bench.ts`.
 *
 * The bundled server runs on a fresh data directory; a real page in headless Chromium signs in and opens the
 * tray's popover; then this process posts 2 000 postStatus calls a second over 100 tasks for 10 s, as the
 * `ucloud` service, over keep-alive HTTP. Each message carries its number; a MutationObserver in the page
 * records when each one reaches the DOM, so latency is postStatus sent → line in the DOM, across the
 * server's group commit, the socket, the per-frame batch and React's render. Long tasks come from a
 * PerformanceObserver; the JS heap from CDP, after a forced GC, before and after the run.
 *
 * Targets: p99 ≤ 100 ms, no long task over 50 ms, heap growth under 20 MB. Prints one JSON line last.
 */
import { chromium, type CDPSession } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const TASKS = Number(process.env.TRAY_BENCH_TASKS ?? 100);
const RATE = Number(process.env.TRAY_BENCH_RATE ?? 2000);
const SECONDS = Number(process.env.TRAY_BENCH_SECONDS ?? 10);
const TICK_MS = 10;
const MAX_IN_FLIGHT = 512;

const MB = 1024 * 1024;
const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const now = () => performance.timeOrigin + performance.now();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// ---- build and start the real server ----------------------------------------------------------------

if (!process.env.TRAY_BENCH_NO_BUILD) {
  log('building the SPA and the server…');
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'error'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-server.mjs'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-tray-bench-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, ['dist/server/main.js'], {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', JOBDECK_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const cleanup = () => {
  server.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
};
process.on('exit', cleanup);

for (let i = 0; ; i++) {
  try {
    const res = await fetch(`${base}/api/health`);
    if (res.ok) break;
  } catch {
    // not listening yet
  }
  if (i > 300) throw new Error('the server did not start within 30 s');
  await new Promise((r) => setTimeout(r, 100));
}
const creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as { user: string; ucloud: string };

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function call(method: string, url: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      `${base}${url}`,
      {
        method,
        agent,
        headers: { authorization: `Bearer ${creds.ucloud}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

// ---- the page ---------------------------------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? (fs.existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined),
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const cdp: CDPSession = await context.newCDPSession(page);
await cdp.send('Performance.enable');

async function heapMB(): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await cdp.send('Performance.getMetrics');
  return (metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN) / MB;
}

// Socket arrival times too, to split the latency into delivery and rendering.
await page.addInitScript(() => {
  const w = window as unknown as { __socketArrivals: Map<number, number> };
  w.__socketArrivals = new Map();
  const Native = window.WebSocket;
  const marker = /"messageToAppend":"m:(\d+):/;
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', (event: MessageEvent) => {
        const m = typeof event.data === 'string' ? marker.exec(event.data) : null;
        if (m) w.__socketArrivals.set(Number(m[1]), performance.timeOrigin + performance.now());
      });
    }
  } as typeof WebSocket;
});
await page.goto(`${base}/#token=${creds.user}`);
await page.getByRole('heading', { name: 'Applications' }).waitFor();

// Every task gets a snapshot before the clock starts: the run measures the steady state, not first loads.
log(`creating ${TASKS} tasks…`);
const ids: string[] = [];
for (let i = 0; i < TASKS; i++) {
  const res = await call('PUT', '/api/tasks', { title: `Bench task ${i + 1}`, owner: 'user', initialStatus: 'Waiting' });
  ids.push((JSON.parse(res.text) as { jobId: string }).jobId);
}
await Promise.all(ids.map((jobId) => call('POST', '/api/tasks/postStatus', { update: { jobId, messageToAppend: 'ready' } })));
await page.getByRole('button', { name: `Tasks, ${TASKS} running` }).waitFor({ timeout: 30_000 });
await page.getByRole('button', { name: /^Tasks,/ }).click();
await page.getByRole('dialog', { name: 'Tasks' }).waitFor();

await page.evaluate(() => {
  const w = window as unknown as { __arrivals: Map<number, number>; __longTasks: { start: number; duration: number }[] };
  w.__arrivals = new Map();
  w.__longTasks = [];
  const marker = /^m:(\d+):/;
  new MutationObserver((records) => {
    const t = performance.timeOrigin + performance.now();
    for (const r of records) {
      for (const node of r.addedNodes) {
        const text = node.textContent;
        if (!text || text.length > 200) continue;
        const m = marker.exec(text);
        if (m && !w.__arrivals.has(Number(m[1]))) w.__arrivals.set(Number(m[1]), t);
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__longTasks.push({ start: performance.timeOrigin + e.startTime, duration: e.duration });
  }).observe({ type: 'longtask' });
});

async function mainThread(): Promise<Record<string, number>> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const pick = ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration', 'LayoutCount', 'RecalcStyleCount'];
  return Object.fromEntries(metrics.filter((m) => pick.includes(m.name)).map((m) => [m.name, m.value]));
}

// TRAY_BENCH_PROFILE=file.cpuprofile records the page's CPU profile over the run (open it in Chrome's DevTools).
const profileFile = process.env.TRAY_BENCH_PROFILE;
if (profileFile) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
}
// TRAY_BENCH_TRACE=file.json records a Chrome trace of the run (open it in DevTools' Performance panel).
const traceFile = process.env.TRAY_BENCH_TRACE;
if (traceFile) await browser.startTracing(page, { path: traceFile, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8'] });
const heapBefore = await heapMB();
const threadBefore = await mainThread();
log(`heap before: ${round(heapBefore)} MB; driving ${RATE} updates/s over ${TASKS} tasks for ${SECONDS} s…`);

// ---- the drive -------------------------------------------------------------------------------------

const total = RATE * SECONDS;
const sent = new Map<number, number>();
const progress = new Array<number>(TASKS).fill(0);
const perTask = Math.ceil(total / TASKS);
let next = 0;
let inFlight = 0;
let skippedTicks = 0;
let errors = 0;
const started = now();

function post(n: number) {
  const task = n % TASKS;
  const jobId = ids[task]!;
  const current = ++progress[task]!;
  const body = {
    update: {
      jobId,
      newStatus: `Step ${current} of ${perTask}`,
      progress: { title: 'Steps', current, maximum: perTask },
      speeds: [{ title: 'Throughput', speed: current, unit: 'items/s', asText: `${current} items/s` }],
      messageToAppend: `m:${n}: processed item ${current}`,
    },
  };
  inFlight++;
  sent.set(n, now());
  call('POST', '/api/tasks/postStatus', body)
    .then((res) => {
      if (res.status !== 200) errors++;
    })
    .catch(() => errors++)
    .finally(() => inFlight--);
}

await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    // Catch up to where the clock says we should be, bounded by the connection pool's queue.
    const due = Math.min(total, Math.floor(((now() - started) / 1000) * RATE));
    if (due > next && inFlight >= MAX_IN_FLIGHT) skippedTicks++;
    while (next < due && inFlight < MAX_IN_FLIGHT) post(next++);
    if (next >= total) {
      clearInterval(timer);
      resolve();
    }
  }, TICK_MS);
});
const driveSeconds = (now() - started) / 1000;
while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
log(`posted ${total} in ${round(driveSeconds, 2)} s (${errors} errors); waiting for the page…`);

// Wait until every line arrived, or 15 s.
const deadline = Date.now() + 15_000;
while (Date.now() < deadline) {
  const arrived = await page.evaluate(() => (window as unknown as { __arrivals: Map<number, number> }).__arrivals.size);
  if (arrived >= total) break;
  await new Promise((r) => setTimeout(r, 250));
}
const { arrivals, socketArrivals, longTasks } = await page.evaluate(() => {
  const w = window as unknown as {
    __arrivals: Map<number, number>;
    __socketArrivals: Map<number, number>;
    __longTasks: { start: number; duration: number }[];
  };
  return { arrivals: [...w.__arrivals.entries()], socketArrivals: [...w.__socketArrivals.entries()], longTasks: w.__longTasks };
});
const threadAfter = await mainThread();
if (traceFile) await browser.stopTracing();
if (profileFile) fs.writeFileSync(profileFile, JSON.stringify((await cdp.send('Profiler.stop')).profile));
const heapAfter = await heapMB();

// The final state equals the server's for a sample task (no lost or doubled line in the store).
const sample = await page
  .getByRole('list', { name: 'Running tasks' })
  .getByRole('listitem', { name: 'Bench task 1', exact: true })
  .locator('.message-log__line')
  .allTextContents();
const serverTask = JSON.parse(
  (
    await new Promise<string>((resolve, reject) => {
      http
        .get(`${base}/api/tasks/retrieve?id=${ids[0]}`, { headers: { authorization: `Bearer ${creds.user}` } }, (res) => {
          let t = '';
          res.on('data', (c) => (t += c));
          res.on('end', () => resolve(t));
        })
        .on('error', reject);
    })
  ),
) as { messages: string[] };
// The tray renders the newest 50 to 75 lines (TRAY_LOG_LINES in src/features/tasks/task-card.tsx).
const sampleMatchesServer = sample.length >= 50 && JSON.stringify(sample) === JSON.stringify(serverTask.messages.slice(-sample.length));

await browser.close();
agent.destroy();

const latencies = arrivals
  .map(([n, t]) => t - (sent.get(n) ?? NaN))
  .filter((v) => Number.isFinite(v))
  .sort((a, b) => a - b);
const socketAt = new Map(socketArrivals);
const delivery = socketArrivals
  .map(([n, t]) => t - (sent.get(n) ?? NaN))
  .filter((v) => Number.isFinite(v))
  .sort((a, b) => a - b);
const rendering = arrivals
  .map(([n, t]) => t - (socketAt.get(n) ?? NaN))
  .filter((v) => Number.isFinite(v))
  .sort((a, b) => a - b);
const during = longTasks.filter((t) => t.start >= started - 1000);
const result = {
  tasks: TASKS,
  targetRatePerSecond: RATE,
  achievedRatePerSecond: round(total / driveSeconds, 0),
  seconds: round(driveSeconds, 2),
  posted: total,
  postErrors: errors,
  // Ticks where the driver had MAX_IN_FLIGHT requests open and had to wait for the server.
  driverBackpressureTicks: skippedTicks,
  arrivedInDom: latencies.length,
  missingInDom: total - latencies.length,
  latencyMs: {
    p50: round(percentile(latencies, 50)),
    p90: round(percentile(latencies, 90)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies.at(-1) ?? NaN),
  },
  // The two legs: postStatus sent → frame received by the page's socket, and that frame → line in the DOM.
  deliveryMs: { p50: round(percentile(delivery, 50)), p99: round(percentile(delivery, 99)) },
  renderMs: { p50: round(percentile(rendering, 50)), p99: round(percentile(rendering, 99)) },
  longTasksOver50ms: during.filter((t) => t.duration > 50).length,
  longestTaskMs: round(Math.max(0, ...during.map((t) => t.duration))),
  // Where the page's main thread spent the run (CDP Performance metrics; durations in seconds).
  mainThread: Object.fromEntries(Object.keys(threadAfter).map((k) => [k, round(threadAfter[k]! - (threadBefore[k] ?? 0), 2)])),
  loadAverage: os.loadavg().map((l) => round(l, 2)),
  heapMB: { before: round(heapBefore), after: round(heapAfter), growth: round(heapAfter - heapBefore) },
  sampleTaskMatchesServer: sampleMatchesServer,
  targets: { p99Ms: 100, longTasksOver50ms: 0, heapGrowthMB: 20 },
  met: {
    p99: percentile(latencies, 99) <= 100,
    longTasks: during.filter((t) => t.duration > 50).length === 0,
    heap: heapAfter - heapBefore < 20,
  },
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}`,
};
if (process.env.TRAY_BENCH_LONGTASKS) fs.writeFileSync(process.env.TRAY_BENCH_LONGTASKS, JSON.stringify(during));
cleanup();
console.log(JSON.stringify(result));
process.exit(0);
