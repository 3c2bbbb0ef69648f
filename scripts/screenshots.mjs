// Screenshots of the dashboard for the README and for review, in the light and the dark theme.
//
//   npx vite build --logLevel warn && node scripts/build-server.mjs   # (or: npm run build)
//   node scripts/screenshots.mjs [outDir]                              # default docs/screenshots
//
// Starts the bundled server (dist/server/main.js) on a spare port with a temporary data directory, fills it with
// realistic content over the REST API (a database, a web app connected to it, a running batch job, a terminated
// job), then saves <page>-<light|dark>.png at 1280×860 for the applications, launch (a "Connect to job" row with
// the job picker open), job list (newest first, and sorted by name), job detail and job output pages. CHROMIUM_PATH overrides the browser (default /usr/bin/chromium).
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'docs/screenshots'));
const VIEWPORT = { width: 1280, height: 860 };
const PRODUCT = { id: 'example-compute', category: 'example-compute', provider: 'example' };

for (const built of ['dist/server/main.js', 'dist/public/index.html']) {
  if (!fs.existsSync(path.join(root, built))) {
    console.error(`${built} is missing: build first (npx vite build && node scripts/build-server.mjs).`);
    process.exit(1);
  }
}

function sparePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const port = await sparePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-screenshots-'));
let serverLog = '';
const server = spawn(process.execPath, ['dist/server/main.js'], {
  cwd: root,
  env: {
    ...process.env,
    PORT: String(port),
    JOBDECK_DATA_DIR: dataDir,
    DATABASE_URL: '',
    LOG_LEVEL: 'warn',
    // Jobs start quickly, and the batch job is still running when its picture is taken.
    JOBDECK_EXAMPLE_QUEUE_MS: '500',
    // Its jobs stop with the server (by default real jobs outlive it).
    JOBDECK_EXAMPLE_KEEP_JOBS: 'off',
    JOBDECK_EXAMPLE_BATCH_MS: String(60 * 60 * 1000),
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
server.stdout.on('data', (chunk) => (serverLog += chunk));
server.stderr.on('data', (chunk) => (serverLog += chunk));
let browser = null;

async function cleanUp() {
  await browser?.close().catch(() => {});
  if (server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}

async function until(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => null);
    if (value) return value;
    if (server.exitCode !== null) throw new Error(`The server exited (${server.exitCode}) while waiting for ${what}:\n${serverLog}`);
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

try {
  await until('the server to answer', async () => (await fetch(`${base}/api/health`)).ok);
  const { user: token } = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8'));

  const call = async (method, url, body) => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${url} -> ${response.status}: ${text}`);
    return text ? JSON.parse(text) : {};
  };
  const create = async (spec) => {
    const { responses } = await call('POST', '/api/jobs', { items: [{ product: PRODUCT, replicas: 1, allowDuplicateJob: false, ...spec }] });
    return responses[0].id;
  };
  const reach = (id, state) =>
    until(`job ${id} to be ${state}`, async () => (await call('GET', `/api/jobs/retrieve?id=${id}`)).status.state === state);
  const app = (name) => ({ name, version: '1.0.0' });
  const dir = (p) => ({ type: 'file', path: p, readOnly: false });

  // The content: oldest first, so the job list reads like a day's work.
  const staging = await create({ application: app('acme-database'), name: 'staging-db', parameters: { dataStore: dir('/home/shop/staging-db') } });
  await reach(staging, 'RUNNING');
  await call('POST', '/api/jobs/terminate', { items: [{ id: staging }] });
  await reach(staging, 'SUCCESS');

  const orders = await create({ application: app('acme-database'), name: 'orders-db', parameters: { dataStore: dir('/home/shop/orders-db') } });
  await reach(orders, 'RUNNING');
  await call('POST', '/api/jobs/extend', { items: [{ jobId: orders, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] });

  const report = await create({
    application: app('acme-batch'),
    name: 'nightly-report',
    parameters: { value: { type: 'text', value: 'orders from 2026-11-21' }, debug: { type: 'boolean', value: false } },
    timeAllocation: { hours: 2, minutes: 0, seconds: 0 },
  });
  const web = await create({
    application: app('acme-web-app'),
    name: 'shop-frontend',
    resources: [{ type: 'peer', hostname: 'database', jobId: orders }],
    timeAllocation: { hours: 4, minutes: 30, seconds: 0 },
  });
  await reach(report, 'RUNNING');
  await reach(web, 'RUNNING');

  const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].find((p) => p && fs.existsSync(p));
  browser = await chromium.launch({
    ...(executablePath ? { executablePath } : {}),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  fs.mkdirSync(outDir, { recursive: true });
  const saved = [];

  for (const scheme of ['light', 'dark']) {
    const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: scheme, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const shot = async (name) => {
      const file = path.join(outDir, `${name}-${scheme}.png`);
      await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
      saved.push(path.relative(root, file));
    };
    const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

    // Applications (signed in with the link the server prints).
    await page.goto(`${base}/#token=${token}`);
    await page.getByRole('link', { name: 'Launch Acme Web App 1.0.0' }).waitFor();
    await shot('applications');

    // Launch: a web app with a "Connect to job" row and the job picker open.
    await page.getByRole('link', { name: 'Launch Acme Web App 1.0.0' }).click();
    await page.getByLabel('Job name').fill('shop-frontend-canary');
    await page.getByRole('button', { name: '+ Connect to job' }).click();
    const picker = page.getByRole('group', { name: 'Connection 1' }).getByRole('combobox', { name: 'Job', exact: true });
    await picker.waitFor();
    // Scrolled down as far as the page goes, so the picker opens below the field, as it usually does.
    await page.getByRole('heading', { name: 'Connected jobs' }).evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await picker.press('ArrowDown');
    await page.getByRole('listbox', { name: 'Job: running jobs' }).getByRole('option', { name: /^orders-db/ }).waitFor();
    await shot('launch');
    await picker.press('Escape');

    // Job list.
    await nav('Jobs');
    const table = page.getByRole('table', { name: 'Jobs' });
    await table.getByRole('link', { name: 'nightly-report' }).waitFor();
    await table.getByRole('row').filter({ hasText: 'staging-db' }).getByText('Success').waitFor();
    await shot('jobs');

    // The same list sorted by name, from its column header (the sort goes into the URL).
    await table.getByRole('columnheader', { name: /^Job/ }).getByRole('button').click();
    await table.locator('[role="columnheader"][aria-sort="ascending"]', { hasText: 'Job' }).waitFor();
    await page.waitForURL(/sort=name&dir=asc/);
    // The old rows stay (dimmed, aria-busy) until the sorted page arrives.
    await page.locator('[role="table"][aria-label="Jobs"]:not([aria-busy])').waitFor();
    await table.getByRole('row').nth(1).getByRole('link', { name: 'nightly-report' }).waitFor();
    await shot('jobs-sorted');

    // Job detail: the web app, connected to the database as "database".
    await table.getByRole('link', { name: 'shop-frontend' }).click();
    await page.getByRole('region', { name: 'Connected jobs' }).getByRole('link', { name: /orders-db/ }).waitFor();
    await page.getByRole('region', { name: 'State' }).getByText('The job is running.', { exact: false }).waitFor();
    await shot('job-detail');

    // Job output: the batch job's printed lines, read from disk after it ended.
    await nav('Jobs');
    await page.getByRole('table', { name: 'Jobs' }).getByRole('link', { name: 'nightly-report' }).click();
    const log = page.getByRole('log', { name: /^Output of job/ });
    await log.getByText(/^Result: processed/).waitFor();
    await page.getByRole('region', { name: 'Output' }).evaluate((el) => el.scrollIntoView({ block: 'center' }));
    await shot('job-output');

    if (errors.length) throw new Error(`Page errors in the ${scheme} theme:\n${errors.join('\n')}`);
    await context.close();
  }
  console.log(`Saved ${saved.length} screenshots:\n${saved.map((f) => `  ${f}`).join('\n')}`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
