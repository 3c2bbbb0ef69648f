import type { Page } from '@playwright/test';
import { api } from './fixtures';
import { JobsApi, test, expect } from './pages/fixtures';
import { uniqueName, databaseSpec } from './pages/jobdeck';

/*
 * Rough edges against the real server: the list says Terminated for jobs terminated from
 * it (live, from jobs.listen), focus after that terminate, one toast for several finished jobs, the launch form's
 * warning for an expected peer left out, the connected-jobs graph, the task speed chart, and a page whose code
 * cannot be fetched offering Try again. Screenshots at 390×844 and 1280×860, light and dark, go to
 * test-results/rough-edges/.
 */
const SHOTS = 'test-results/rough-edges';

const simulation = (name: string) => ({
  application: { name: 'acme-simulation', version: '1.0.0' },
  name,
  parameters: { steps: { type: 'integer', value: 1000 }, rate: { type: 'floating_point', value: 0.01 }, model: { type: 'text', value: 'linear' } },
});

/** A user of this journey's own, so other journeys' jobs and notifications are not on its pages. */
async function signInFresh(page: Page, baseURL: string, adminToken: string): Promise<{ token: string; jobs: JobsApi; owner: string }> {
  const owner = `edges-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const { token } = (await api(baseURL, adminToken, 'POST', '/api/admin/users', { username: owner })) as { token: string };
  await page.goto(`/#token=${token}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Applications' })).toBeVisible();
  return { token, jobs: new JobsApi(baseURL, token), owner };
}

/** The page as it is now, at both sizes and in both schemes, each no wider than the screen; left at 1280×860, light. */
async function shoot(page: Page, name: string, ready?: () => Promise<void>): Promise<void> {
  for (const [w, h] of [
    [390, 844],
    [1280, 860],
  ] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize({ width: w, height: h });
      // The shell follows the width from matchMedia, a render later: wait for the page to fit (no page is wider
      // than the screen).
      await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(w);
      await ready?.();
      await page.screenshot({ path: `${SHOTS}/${name}-${w}-${scheme}.png`, fullPage: w === 390 });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 860 });
}

test('terminating selected jobs: the rows say Terminated live, focus is on the note, one toast counts them', async ({ page, creds, baseURL }) => {
  const { jobs } = await signInFresh(page, baseURL!, creds.admin);
  const stem = uniqueName('edge');
  const ids = [await jobs.create(simulation(`${stem}-1`)), await jobs.create(simulation(`${stem}-2`)), await jobs.create(simulation(`${stem}-3`))];
  for (const id of ids) await jobs.waitFor(id, 'RUNNING');
  await page.goto(`/jobs?q=${stem}`);
  const table = page.getByRole('table', { name: 'Jobs' });
  const row = (n: number) => table.getByRole('row').filter({ has: page.getByRole('link', { name: `${stem}-${n}`, exact: true }) });
  await expect(row(3)).toBeVisible();
  await page.getByRole('checkbox', { name: 'Select every active job shown' }).check();
  await page.getByRole('button', { name: 'Terminate 3 jobs' }).click();
  await page.getByRole('dialog', { name: 'Terminate 3 jobs?' }).getByRole('button', { name: 'Terminate 3 jobs' }).click();

  await expect(page.getByText('Asked to terminate 3 jobs.')).toBeFocused();
  for (const n of [1, 2, 3]) await expect(row(n).locator('.badge')).toHaveText('■Terminated', { timeout: 15_000 });
  await expect(row(1).locator('.badge')).toHaveAttribute('data-state', 'SUCCESS');
  const toasts = page.getByRole('status', { name: 'Recent notifications' });
  const group = toasts.getByRole('link', { name: '3 jobs finished' });
  await expect(group).toBeVisible();
  // One toast for the three jobs (the provider's output-collection tasks have toasts of their own).
  await expect(toasts.getByRole('link', { name: / finished$/ })).toHaveCount(1);
  await group.hover(); // holds the toast while the shots are taken
  await shoot(page, 'list-terminated');
});

/** Whether two boxes on the screen share any pixel. */
const overlap = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

test('launch form: a warning by Launch while the expected database is not connected, and toasts never cover Launch', async ({ page, creds, baseURL }) => {
  const { jobs } = await signInFresh(page, baseURL!, creds.admin);
  await page.goto('/applications/acme-web-app/1.0.0');
  const launch = page.getByRole('button', { name: 'Launch job' });
  await expect(launch).toBeVisible();
  await expect(page.getByRole('note').filter({ hasText: 'No job is connected as database (Database)' })).toBeVisible();
  await expect(launch).toHaveAccessibleDescription(/No job is connected as database \(Database\), which Acme Web App expects/);
  await shoot(page, 'launch-missing-peer', async () => {
    await page.getByRole('note').filter({ hasText: 'No job is connected as' }).scrollIntoViewIfNeeded();
  });

  // A job starts while the form is open, scrolled to its end (where the footer with Launch sits in flow) and at the
  // top (where it sticks to the bottom of the screen): its toast stays clear of Launch at both sizes.
  const id = await jobs.create(simulation(uniqueName('edge-toast')));
  const toast = page.getByRole('status', { name: 'Recent notifications' }).locator('.toast').first();
  await expect(toast).toBeVisible({ timeout: 20_000 });
  await toast.hover(); // holds it while the boxes are measured
  for (const [w, h] of [
    [1280, 860],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width: w, height: h });
    for (const to of ['end', 'start'] as const) {
      await page.evaluate((where) => window.scrollTo(0, where === 'end' ? document.documentElement.scrollHeight : 0), to);
      const [t, l] = [await toast.boundingBox(), await launch.boundingBox()];
      expect(t && l && !overlap(t, l), `at ${w}×${h}, scrolled to the ${to}: toast ${JSON.stringify(t)}, Launch ${JSON.stringify(l)}`).toBe(true);
      await page.screenshot({ path: `${SHOTS}/launch-toast-${w}-${to}.png` });
    }
  }
  await jobs.terminate(id);
});

test('job page: connected jobs as a graph of who reaches whom, named in words', async ({ page, creds, baseURL }) => {
  const { jobs } = await signInFresh(page, baseURL!, creds.admin);
  const dbName = uniqueName('edge-db');
  const dbId = await jobs.create(databaseSpec(dbName));
  await jobs.waitFor(dbId, 'RUNNING');
  const webName = uniqueName('edge-web');
  const webId = await jobs.create({
    application: { name: 'acme-web-app', version: '1.0.0' },
    name: webName,
    resources: [{ type: 'peer', hostname: 'database', jobId: dbId }],
  });
  await jobs.waitFor(webId, 'RUNNING');
  await page.goto(`/jobs/${webId}`);
  const graph = page.getByRole('region', { name: 'Connected jobs' }).getByRole('img', { name: /^Connections:/ });
  await expect(graph).toHaveAccessibleName(`Connections: ${webName} reaches ${dbName} (#${dbId}) as database.`);
  await shoot(page, 'connected-graph', () => graph.scrollIntoViewIfNeeded());

  await page.goto(`/jobs/${dbId}`);
  const back = page.getByRole('region', { name: 'Connected jobs' }).getByRole('img', { name: /^Connections:/ });
  await expect(back).toHaveAccessibleName(`Connections: ${webName} (#${webId}) reaches ${dbName} as database.`);
  for (const id of [webId, dbId]) await jobs.terminate(id);
});

test('task details: the recent speeds as a chart, with its readings in words', async ({ page, creds, baseURL }) => {
  const { owner } = await signInFresh(page, baseURL!, creds.admin);
  const ucloud = (method: string, url: string, body: unknown) => api(baseURL!, creds.ucloud, method, url, body);
  const task = (await ucloud('PUT', '/api/tasks', { title: 'Transferring results', owner, initialStatus: 'Copying' })) as { jobId: string };
  // Readings the tab sees arrive: the chart is of what came while it listened (the snapshot has only the last).
  await page.getByRole('button', { name: /^Tasks,/ }).click();
  const tray = page.getByRole('dialog', { name: 'Tasks' });
  await expect(tray.getByRole('listitem', { name: 'Transferring results' })).toBeVisible();
  const values = [12, 14, 13, 18, 22, 21, 25, 24, 19, 16, 17, 23, 28, 30, 27, 26];
  for (const [i, v] of values.entries()) {
    await ucloud('POST', '/api/tasks/postStatus', {
      update: {
        jobId: task.jobId,
        progress: { title: 'Files', current: i + 1, maximum: 40 },
        speeds: [
          { title: 'Transfer', speed: v, unit: 'MB/s', asText: `${v} MB/s` },
          { title: 'Files', speed: (i % 4) + 1, unit: 'files/s', asText: `${(i % 4) + 1} files/s` },
        ],
      },
    });
  }
  await expect(tray.getByRole('list', { name: 'Speeds' })).toContainText('Transfer 26 MB/s');
  await tray.getByRole('button', { name: 'Details of Transferring results' }).click();
  const dialog = page.getByRole('dialog', { name: 'Transferring results' });
  await expect(dialog.getByRole('img', { name: /^Transfer:/ })).toHaveAccessibleName(
    'Transfer: now 26 MB/s; over the last 16 readings lowest 12 MB/s, highest 30 MB/s.',
  );
  await expect(dialog.getByRole('img', { name: /^Files:/ })).toBeVisible();
  await shoot(page, 'task-speeds');
  await ucloud('POST', '/api/tasks/markAsComplete', { id: task.jobId });
});

test("a page whose code cannot be fetched offers Try again, and loads once the server answers", async ({ page, context, creds, baseURL }) => {
  await signInFresh(page, baseURL!, creds.admin);
  await context.setOffline(true);
  // The job list's code has not been fetched yet: going there in an outage cannot load it.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'This page could not be loaded' })).toBeVisible();
  const tryAgain = page.getByRole('button', { name: 'Try again' });
  await tryAgain.click();
  await expect(page.getByRole('status').filter({ hasText: 'Still no answer from the server' })).toBeVisible();
  // Turned narrow in the outage: the narrow menu's code cannot arrive either, and the shell stays, with Sign out.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: 'This page could not be loaded' })).toBeVisible();
  await shoot(page, 'chunk-error');
  await context.setOffline(false);
  // The outage notice's own probe may find the server first and reload the page, taking the button away: either
  // way the page must load (Try again's own reload is route-error.test.tsx's).
  await tryAgain.click({ timeout: 5_000 }).catch(() => undefined);
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeVisible({ timeout: 15_000 });
});
