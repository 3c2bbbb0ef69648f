import type { BrowserContext, Page } from '@playwright/test';
import { test, expect } from './pages/fixtures';
import { JobDetailPage, JobListPage, STATE, uniqueName } from './pages/jobdeck';

/*
 * The jobs socket drops while a job changes state: the job list and the job page, open side by side, show the old
 * state while they cannot hear anything, and the new one once the socket is back, without a reload. The drop is done
 * as in the tasks journey: the browser goes offline and the page's open sockets are cut.
 */

/** Keeps a handle on every page's sockets, so the journey can cut them as a network drop would. */
async function trackSockets(context: BrowserContext) {
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    const open: WebSocket[] = [];
    (window as unknown as { __sockets: WebSocket[] }).__sockets = open;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        open.push(this);
      }
    } as typeof WebSocket;
  });
}

const cutSockets = (page: Page) => page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.forEach((s) => s.close()));
/**
 * What tells the user live updates are paused: the reconnecting banner, or, once a call has failed while offline (the
 * list polls while its socket is down), the outage notice that takes its place. Which one shows depends on timing.
 */
const paused = (page: Page) => page.getByText(/Reconnecting…|server cannot be reached/);
const markDocument = (page: Page) => page.evaluate(() => ((window as unknown as { __mark?: boolean }).__mark = true));
const sameDocument = (page: Page) => page.evaluate(() => (window as unknown as { __mark?: boolean }).__mark === true);

test('the job list and the job page catch up with a state change made while the jobs socket was down', async ({ page, context, creds, jobsApi }) => {
  await trackSockets(context);
  // Real jobs that keep running until they are stopped (1000 steps, 250 ms apart): one ends during the drop, the
  // other after it, to show that live updates flow again once the socket is back.
  const simulation = (name: string) => ({
    application: { name: 'acme-simulation', version: '1.0.0' },
    name,
    parameters: { steps: { type: 'integer', value: 1000 }, rate: { type: 'floating_point', value: 0.01 }, model: { type: 'text', value: 'linear' } },
  });
  const name = uniqueName('reconnect');
  const laterName = uniqueName('reconnect-later');
  const id = await jobsApi.create(simulation(name));
  const laterId = await jobsApi.create(simulation(laterName));
  await jobsApi.waitFor(id, 'RUNNING');
  await jobsApi.waitFor(laterId, 'RUNNING');

  await page.goto(`/jobs#token=${creds.user}`);
  const list = new JobListPage(page);
  const row = list.rows(name);
  const laterRow = list.rows(laterName);
  await expect(row).toContainText(STATE.RUNNING.label);
  await expect(laterRow).toContainText(STATE.RUNNING.label);

  const detailPage = await context.newPage();
  await detailPage.goto(`/jobs/${id}`);
  const detail = new JobDetailPage(detailPage, id);
  await expect(detail.heading()).toBeVisible();
  await detail.expectState('RUNNING');
  for (const p of [page, detailPage]) await markDocument(p);

  // Drop the connection: offline, and both pages' sockets cut.
  await context.setOffline(true);
  for (const p of [page, detailPage]) await cutSockets(p);
  for (const p of [page, detailPage]) await expect(paused(p)).toBeVisible();

  // The job ends while the pages cannot hear it (the test's own requests do not go through the browser).
  await jobsApi.terminate(id);
  await jobsApi.waitFor(id, 'SUCCESS');
  // Nothing reached the pages meanwhile: they still show it running.
  await expect(row).toContainText(STATE.RUNNING.label);
  await expect(detail.stateRegion()).toContainText(STATE.RUNNING.explanation);

  await context.setOffline(false);
  // The sockets come back, and both pages show the new state without a reload.
  for (const p of [page, detailPage]) await expect(paused(p)).toBeHidden();
  // A job the user terminated is SUCCESS on the wire; the list says what happened.
  await expect(row).toContainText(STATE.TERMINATED.label);
  await expect(row).not.toContainText(STATE.RUNNING.label);
  await detail.expectState('TERMINATED');
  await expect(detailPage.getByRole('list', { name: /job updates/i })).toContainText('Terminated by user');

  // Live again: a change after the reconnect reaches the list over the socket (it polls only while the socket is down).
  await jobsApi.terminate(laterId);
  await expect(laterRow).toContainText(STATE.TERMINATED.label);
  for (const p of [page, detailPage]) expect(await sameDocument(p), 'the page was reloaded').toBe(true);
});
