/**
 * A chatty job's output (issue 13), as `npm run bench job-output` or `npx tsx bench/job-output.bench.ts`.
 *
 * The bundled server (dist/server/main.js, built first) runs on a temp data directory with a catalog of one extra
 * application, `flood`: `sleep 3; seq -f <a 60-byte line> 1 <n>`, a real program that writes about 50 MB to stdout as fast as it
 * can and exits. Headless Chromium opens the job's page before the job starts and follows it to the end.
 *
 * Measured:
 * - the server's RSS, sampled from /proc every 50 ms while the job runs and the page follows it (and VmHWM, its peak),
 *   against the bound stated (RSS_GROWTH_BOUND_MB over its RSS before);
 * - when the page shows the job's last line, against when the job wrote it (the mtime of stdout.log once it stops
 *   growing; one machine, one clock): `lastLineShownAfterMs`;
 * - long tasks (> 50 ms) in the page while it follows, by PerformanceObserver('longtask');
 * - the download (GET /api/jobs/output with the user's token) against the file on disk: size and sha256.
 *
 * Options: --lines 850000 (×~61 bytes ≈ 50 MB), --profile <file> (a CPU profile of the page while it follows). Prints one JSON document as its last stdout line.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBundles, launchChromium, startBundledServer } from './page-bench';
import { option } from './cli-options';

const LINES = Number(option('lines', '850000'));
/** Where to write a CPU profile of the page while it follows (for finding what a long task was), or '' for none. */
const PROFILE = option('profile', '');
const t0 = performance.now();
const log = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;
/**
 * The bound stated for the server: its RSS while the job floods and the page follows stays within this much of what
 * it was before. What a follower holds is bounded by the tail's limits (server/jobs/output-tail.ts: 256 kB read per
 * stream per look, and nothing more read while the socket still buffers 256 kB), a couple of MB however much the job
 * prints; the rest is headroom for the garbage collector.
 */
const RSS_GROWTH_BOUND_MB = 32;
const round1 = (n: number) => Math.round(n * 10) / 10;

function catalogWithFlood(file: string) {
  const base = fs.readFileSync('server/catalog/default-catalog.yaml', 'utf8');
  const flood = `
  - name: flood
    version: 1.0.0
    title: Flood
    description: Prints about 50 MB as fast as it can (bench/job-output.bench.ts).
    allowPeers: false
    parameters: []
    run:
      command: /bin/sh
      # A fixed command line with no parameter in it; the pause lets the page open on the job before it prints.
      args: ["-c", "sleep 3; exec seq -f 'line %09.0f of a job that prints as fast as it can, padded' 1 ${LINES}"]
`;
  // The extra application goes at the end of the applications list, before the products.
  const at = base.indexOf('\nproducts:');
  fs.writeFileSync(file, `${base.slice(0, at)}\n${flood}${base.slice(at)}`);
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function main() {
  buildBundles(log);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-bench-output-'));
  fs.chmodSync(dataDir, 0o711);
  const catalog = path.join(dataDir, 'catalog.yaml');
  catalogWithFlood(catalog);
  const server = await startBundledServer(dataDir, { JOBDECK_CATALOG: catalog, JOBDECK_EXAMPLE_KEEP_JOBS: 'off', JOBDECK_SHED_LAG_MS: '0' });
  const pid = server.process.pid!;
  const { user: token } = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as { user: string };
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${server.base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw new Error(`${method} ${url} -> ${response.status}: ${await response.text()}`);
    return response;
  };
  const browser = await launchChromium();
  try {
    const rssBefore = status(pid, 'VmRSS');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript(() => {
      const w = window as unknown as { __longTasks: number[] };
      w.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) w.__longTasks.push(entry.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(`${server.base}/#token=${token}`);
    await page.getByRole('heading', { name: 'Applications', level: 1 }).waitFor();

    // Created with a queue delay of 0: the page opens on it as it starts.
    const created = (await (await call('POST', '/api/jobs', {
      items: [{ product: { id: 'example-compute', category: 'example-compute', provider: 'example' }, application: { name: 'flood', version: '1.0.0' }, replicas: 1, allowDuplicateJob: true, name: 'flood', parameters: null, resources: null, timeAllocation: null }],
    })).json()) as { responses: { id: string }[] };
    const id = created.responses[0]!.id;
    await page.evaluate((to) => {
      history.pushState(null, '', to);
      dispatchEvent(new PopStateEvent('popstate'));
    }, `/jobs/${id}`);
    const logBox = page.getByRole('log', { name: `Output of job ${id}` });
    await logBox.waitFor();
    await page.evaluate(() => ((window as unknown as { __longTasks: number[] }).__longTasks = []));
    const cdp = PROFILE ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const lastLine = `line ${String(LINES).padStart(9, '0')} of a job that prints as fast as it can, padded`;
    // The page notes when its log first holds the last line.
    await page.evaluate((text) => {
      const w = window as unknown as { __lastShownAt: number | null };
      w.__lastShownAt = null;
      // An anonymous function: tsx would wrap a named one in a helper that does not exist in the page.
      new MutationObserver(() => {
        if (w.__lastShownAt === null && document.querySelector('[role="log"]')?.textContent?.includes(text)) w.__lastShownAt = Date.now();
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    }, lastLine);

    const file = path.join(dataDir, 'runs', id, 'stdout.log');
    const rss: number[] = [];
    let size = -1;
    let stableSince = 0;
    const deadline = Date.now() + 5 * 60_000;
    // Until the file stops growing and the page shows its last line (or five minutes).
    for (;;) {
      rss.push(status(pid, 'VmRSS'));
      const now = fs.existsSync(file) ? fs.statSync(file).size : 0;
      if (now !== size) {
        size = now;
        stableSince = Date.now();
      }
      const shown = await page.evaluate(() => (window as unknown as { __lastShownAt: number | null }).__lastShownAt);
      if ((shown !== null && Date.now() - stableSince > 1_000) || Date.now() > deadline) break;
      await sleep(50);
    }
    const writtenAt = fs.statSync(file).mtimeMs;
    const shownAt = await page.evaluate(() => (window as unknown as { __lastShownAt: number | null }).__lastShownAt);
    const longTasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
    const peak = status(pid, 'VmHWM');
    if (cdp) fs.writeFileSync(PROFILE, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    const skippedNotices = await logBox.getByText(/^\[Jobdeck: .* skipped to keep up/).count();
    log(`job ${id}: ${round1(size / MB)} MB written; last line shown ${shownAt === null ? 'never' : `${Math.round(shownAt - writtenAt)} ms`} after it was written`);

    const download = Buffer.from(await (await call('GET', `/api/jobs/output?id=${id}&stream=stdout`)).arrayBuffer());
    const onDisk = fs.readFileSync(file);
    const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    const sorted = [...rss].sort((a, b) => a - b);
    const result = {
      benchmark: 'job output (issue 13)',
      job: `seq -f <61-byte line> 1 ${LINES}`,
      writtenMB: round1(size / MB),
      lastLineShownAfterMs: shownAt === null ? null : Math.round(shownAt - writtenAt),
      page: {
        longTasksOver50ms: longTasks.filter((d) => d > 50).length,
        longestTaskMs: longTasks.length ? Math.round(Math.max(...longTasks)) : 0,
        skippedNoticesInView: skippedNotices,
      },
      serverRssMB: {
        before: round1(rssBefore / MB),
        p50: round1(sorted[Math.floor(sorted.length / 2)]! / MB),
        max: round1(sorted.at(-1)! / MB),
        peakVmHWM: round1(peak / MB),
        samples: rss.length,
        growthMax: round1((sorted.at(-1)! - rssBefore) / MB),
        growthBound: RSS_GROWTH_BOUND_MB,
        withinBound: sorted.at(-1)! - rssBefore <= RSS_GROWTH_BOUND_MB * MB,
      },
      download: { bytes: download.length, fileBytes: onDisk.length, identical: sha(download) === sha(onDisk) },
      loadAverage1: round1(os.loadavg()[0]!),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await browser.close();
    server.cleanup();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
