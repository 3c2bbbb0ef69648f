import type { Page, Route } from '@playwright/test';
import { printedSignInLink } from './fixtures';
import { test, expect } from './pages/fixtures';
import { JobDetailPage, uniqueName } from './pages/jobdeck';

/*
 * The job page against the real server with real jobs: titles and focus on route changes,
 * pending extensions, the live region after Terminate, a finished job's times, and an outage.
 */

const simulation = (name: string) => ({
  application: { name: 'acme-simulation', version: '1.0.0' },
  name,
  parameters: { steps: { type: 'integer', value: 1000 }, rate: { type: 'floating_point', value: 0.01 }, model: { type: 'text', value: 'linear' } },
});

test('titles and focus follow the route, also after launching; a finished job shows how long it ran', async ({ page, shell, apps }) => {
  await shell.signInWith(printedSignInLink());
  await expect(page).toHaveTitle('Applications – Jobdeck');
  await shell.navigate('Jobs');
  await expect(page).toHaveTitle('Jobs – Jobdeck');
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeFocused();

  await shell.navigate('Applications');
  const launch = await apps.launch('Acme Batch');
  await expect(page).toHaveTitle('Launch acme-batch 1.0.0 – Jobdeck');
  const name = uniqueName('titled');
  await launch.jobName().fill(name);
  await launch.param('Value').fill('Hello, World!');
  const job = await launch.launchAndOpenJob();
  // After launching, focus is on the new job's heading (not on <body>), and the tab names the job and its state.
  await expect(job.heading()).toBeFocused();
  await expect(page).toHaveTitle(new RegExp(`^\\[(In queue|Running)\\] ${name} – Jobdeck$`));
  await expect(page.locator('link[rel="icon"]')).toHaveAttribute('href', /^data:image\/svg\+xml,/);

  // acme-batch finishes by itself: the state card says how long it ran and when it ended.
  await job.expectState('SUCCESS', 90_000);
  await expect(page).toHaveTitle(`[Success] ${name} – Jobdeck`);
  const state = job.stateRegion();
  await expect(state).toContainText(/ran · ended/);
  await expect(state).not.toContainText('expires');
  await expect(state.locator('.countdown__value')).toHaveText(/^\d+ (s|min)/);
});

test('three quick +24 h show +72 h pending, then applied; Terminate is announced with its own line', async ({ page, creds, jobsApi }) => {
  const name = uniqueName('extend');
  const id = await jobsApi.create({ ...simulation(name), timeAllocation: { hours: 1, minutes: 0, seconds: 0 } });
  await jobsApi.waitFor(id, 'RUNNING');
  await page.goto(`/jobs/${id}#token=${creds.user}`);
  const job = new JobDetailPage(page, id);
  await job.expectState('RUNNING');
  await expect(page).toHaveTitle(`[Running] ${name} – Jobdeck`);
  await expect(job.parameters()).toContainText('Time allocation1 h');

  // The real server applies an extension within milliseconds, faster than a person (or a screenshot) can see the
  // pending state: hold the three requests on the way, as a slow network would, then let them through.
  const held: Route[] = [];
  await page.route('**/api/jobs/extend', (route) => void held.push(route));
  const plus24 = page.getByRole('button', { name: 'Extend by 24 hours' });
  await plus24.click();
  await plus24.click();
  await plus24.click();
  await expect(page.getByRole('status').filter({ hasText: 'Extension pending' })).toHaveText(/Extension pending: \+72 h, for 73 h in total/);
  await expect.poll(() => held.length).toBe(3);
  for (const route of held) await route.continue();
  await expect(page.getByText('Extended by 72 h: the time allocation is now 73 h.')).toBeVisible();
  await expect(job.parameters()).toContainText('73 h (asked for 1 h, extended by 72 h)');
  expect((await jobsApi.retrieve(id)).status.state).toBe('RUNNING');

  await job.terminate();
  await job.expectState('TERMINATED');
  await expect(job.announcer()).toHaveText('Job state changed to Terminated. Terminated by user');
  await expect(page).toHaveTitle(`[Terminated] ${name} – Jobdeck`);
});

/**
 * Stops the page's clock (installed with page.clock.install) about where it is: from then on none of the page's
 * timers fire until the clock is resumed. pauseAt takes a time ahead of the page's, which runs on meanwhile.
 */
async function pauseClock(page: Page): Promise<void> {
  for (;;) {
    const now = await page.evaluate(() => Date.now());
    try {
      return await page.clock.pauseAt(now + 250);
    } catch (error) {
      if (!/to the past/.test(String(error))) throw error;
    }
  }
}

test('an outage: a message on navigation, the job kept and marked stale, a countdown and Retry now', async ({ page, context, creds, jobsApi }) => {
  // The page's timers run on a clock the test can stop, so that it can tell Retry now from the page's own next try.
  await page.clock.install();
  const name = uniqueName('outage');
  const id = await jobsApi.create(simulation(name));
  await jobsApi.waitFor(id, 'RUNNING');
  // From the list to the job, inside the app: both pages' code is then loaded, so the navigations below, made
  // offline, are the app's own (a page whose code has not arrived yet cannot open offline at all).
  await page.goto(`/jobs#token=${creds.user}`);
  await page.getByRole('table', { name: 'Jobs' }).getByRole('link', { name, exact: true }).click();
  const job = new JobDetailPage(page, id);
  await job.expectState('RUNNING');

  // The browser loses the server (Playwright's offline mode: a real network failure for every request the page makes;
  // the server itself is shared with the other journeys, so it keeps running).
  await context.setOffline(true);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs', exact: true }).click();
  await expect(page).toHaveURL(/\/jobs$/);
  const notice = page.getByText('Jobdeck’s server cannot be reached.', { exact: false });
  await expect(notice).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByText(/Trying again in \d+ s\./)).toBeVisible();

  await page.goBack();
  await expect(job.heading()).toBeVisible();
  await job.expectState('RUNNING');
  await expect(page.getByTestId('stale')).toContainText('it could not be refreshed, so it may be out of date');
  await expect(page.getByText('Could not load the job')).toHaveCount(0);

  // The network comes back but Jobdeck's server still does not answer: its HTTP calls are refused (a fault the real
  // server cannot produce on demand, so the browser is told to refuse them). Back online, the page reconnects at once
  // on its own (the `online` event), so without this the outage would end before Retry now could be pressed.
  // Once `back`, the server answers from the first probe (GET /api/health) on: another call in between (one a live
  // event starts, say) cannot end the outage, so only a probe can.
  let back = false;
  let up = false;
  let probes = 0;
  await page.route('**/api/**', (route) => {
    if (back && new URL(route.request().url()).pathname === '/api/health') {
      probes += 1;
      up = true;
    }
    return up ? route.continue() : route.abort('connectionrefused');
  });
  await context.setOffline(false);
  const retry = page.getByRole('button', { name: 'Retry now' });
  await expect(retry).toBeVisible();
  await expect(notice).toBeVisible();
  // The page's clock stops, so its own next try (at most 10 s away) cannot come; the countdown says no try is under
  // way. Then the server is back, and Retry now is what ends the outage.
  await pauseClock(page);
  await expect(page.getByText(/Trying again in \d+ s\./)).toBeVisible();
  back = true;
  await retry.click();
  await expect(notice).toBeHidden({ timeout: 8_000 });
  expect(probes).toBe(1);
  // The page catches up once its clock runs again (React Query hands answers to the page on timers).
  await page.clock.resume();
  await expect(page.getByTestId('stale')).toHaveCount(0, { timeout: 8_000 });
  await page.unroute('**/api/**');
  await jobsApi.terminate(id);
  await job.expectState('TERMINATED');
});
