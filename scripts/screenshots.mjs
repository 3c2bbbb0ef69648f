// Screenshots of the dashboard for the README and for review, in the light and the dark theme.
//
//   npx vite build --logLevel warn && node scripts/build-server.mjs   # (or: npm run build)
//   node scripts/screenshots.mjs [outDir]                              # default docs/screenshots
//
// Starts the bundled server (dist/server/main.js) on a spare port with a temporary data directory, fills it with
// realistic content over the REST API (a database, a web app connected to it, a running batch job, a terminated
// job), then saves <page>[-phone]-<light|dark>.png at 1280×860 and at 390×844 (touch) for the applications, launch
// (a "Connect to job" row with the job picker open), job list (newest first, and sorted by name), job detail, job
// output, tray, notifications, phone menu and not-found pages. Any page wider than its viewport fails the run.
// REVIEW_DIR=<dir> also writes each page's ARIA snapshot (<name>.aria.yml) and its first 25 Tab stops (<name>.tab.txt).
// CHROMIUM_PATH overrides the browser (default /usr/bin/chromium).
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

/** The page as a screen reader meets it, and its first Tab stops, written next to each other for review. */
async function review(page, base) {
  fs.writeFileSync(`${base}.aria.yml`, await page.locator('body').ariaSnapshot());
  const stops = [];
  await page.evaluate(() => (document.activeElement instanceof HTMLElement ? document.activeElement.blur() : undefined));
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    stops.push(
      await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return '(body)';
        const style = getComputedStyle(el);
        const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0 ? 'ring' : style.boxShadow !== 'none' ? 'shadow' : 'NO RING';
        const name = el.getAttribute('aria-label') ?? (el.textContent ?? '').trim().slice(0, 60);
        return `${el.tagName.toLowerCase()}${el.getAttribute('role') ? `[role=${el.getAttribute('role')}]` : ''} "${name}" ${ring}`;
      }),
    );
  }
  fs.writeFileSync(`${base}.tab.txt`, `${stops.map((s, i) => `${i + 1}. ${s}`).join('\n')}\n`);
  await page.keyboard.press('Escape');
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
  await until('the server to answer', async () => (await fetch(`${base}/api/health`)).ok, 120_000);
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

  // Review material (REVIEW_DIR): per page, size and theme, the screen-reader view (Playwright's ARIA snapshot) and
  // the first Tab stops with the focused element's role, name and whether a focus ring shows.
  const reviewDir = process.env.REVIEW_DIR ? path.resolve(process.env.REVIEW_DIR) : null;
  if (reviewDir) fs.mkdirSync(reviewDir, { recursive: true });

  const sizes = [
    { suffix: '', viewport: VIEWPORT, phone: false },
    { suffix: '-phone', viewport: { width: 390, height: 844 }, phone: true },
  ];
  for (const { suffix, viewport, phone } of sizes) {
    for (const scheme of ['light', 'dark']) {
      const context = await browser.newContext({ viewport, colorScheme: scheme, deviceScaleFactor: 1, hasTouch: phone, isMobile: phone });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors = [];
      page.on('pageerror', (error) => errors.push(error.message));
      const shot = async (name, options = {}) => {
        const file = path.join(outDir, `${name}${suffix}-${scheme}.png`);
        await page.screenshot({ path: file, animations: 'disabled', caret: 'hide', ...options });
        saved.push(path.relative(root, file));
        const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
        if (scrollWidth > innerWidth) errors.push(`${name}${suffix}: the page is ${scrollWidth} px wide in a ${innerWidth} px viewport`);
        if (reviewDir) await review(page, path.join(reviewDir, `${name}${suffix}-${scheme}`));
      };
      const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();

      // Applications (signed in with the link the server prints).
      await page.goto(`${base}/#token=${token}`);
      await page.getByRole('link', { name: 'Launch Acme Web App 1.0.0' }).waitFor();
      await shot('applications');

      // Launch: a web app with a "Connect to job" row and the job picker open.
      await page.getByRole('link', { name: 'Launch Acme Web App 1.0.0' }).click();
      await page.getByLabel('Job name').fill('shop-frontend-canary');
      // The app declares the database it expects, so its connection row is there already.
      const connection = page.getByRole('group', { name: /^Connection 1/ });
      if ((await connection.count()) === 0) await page.getByRole('button', { name: '+ Connect to job' }).click();
      const picker = connection.getByRole('combobox', { name: 'Job', exact: true });
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
      await table.getByRole('row').filter({ hasText: 'staging-db' }).getByText('Terminated').waitFor();
      await shot('jobs');

      if (!phone) {
        // The same list sorted by name, from its column header (the sort goes into the URL). Phone cards have no headers.
        await table.getByRole('columnheader', { name: /^Job/ }).getByRole('button').click();
        await table.locator('[role="columnheader"][aria-sort="ascending"]', { hasText: 'Job' }).waitFor();
        await page.waitForURL(/sort=name&dir=asc/);
        // The old rows stay (dimmed, aria-busy) until the sorted page arrives.
        await page.locator('[role="table"][aria-label="Jobs"]:not([aria-busy])').waitFor();
        await table.getByRole('row').nth(1).getByRole('link', { name: 'nightly-report' }).waitFor();
        await shot('jobs-sorted');
      }

      // Job detail: the web app, connected to the database as "database".
      await table.getByRole('link', { name: 'shop-frontend' }).click();
      await page.getByRole('region', { name: 'Connected jobs' }).getByRole('link', { name: /orders-db/ }).waitFor();
      await page.getByRole('region', { name: 'State' }).getByText('The job is running.', { exact: false }).waitFor();
      await shot('job-detail', phone ? { fullPage: true } : {});

      // Job output: the batch job's printed lines, read from disk after it ended.
      await nav('Jobs');
      await page.getByRole('table', { name: 'Jobs' }).getByRole('link', { name: 'nightly-report' }).click();
      const log = page.getByRole('log', { name: /^Output of job/ });
      await log.getByText(/^Result: processed/).waitFor();
      await page.getByRole('region', { name: 'Output' }).evaluate((el) => el.scrollIntoView({ block: 'center' }));
      await shot('job-output');

      // The task tray and the notification panel, opened from the top bar.
      const bar = page.locator('header.topbar');
      await bar.getByRole('button', { name: /^Tasks/ }).click();
      await page.getByRole('dialog', { name: /tasks/i }).waitFor();
      await shot('tray');
      await page.keyboard.press('Escape');
      await bar.getByRole('button', { name: /^Notifications/ }).click();
      await page.getByRole('dialog', { name: /notifications/i }).waitFor();
      await shot('notifications');
      await page.keyboard.press('Escape');
      if (phone) {
        await bar.getByRole('button', { name: 'Menu' }).click();
        await page.getByRole('menuitem', { name: 'Sign out' }).waitFor();
        await shot('menu');
        await page.keyboard.press('Escape');
      }

      // A page that does not exist.
      await page.goto(`${base}/no/such/page`);
      await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
      await shot('not-found');

      if (errors.length) throw new Error(`Problems at ${viewport.width}×${viewport.height} in the ${scheme} theme:\n${errors.join('\n')}`);
      await context.close();
    }
  }
  console.log(`Saved ${saved.length} screenshots:\n${saved.map((f) => `  ${f}`).join('\n')}`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
