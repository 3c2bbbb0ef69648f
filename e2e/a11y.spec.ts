import AxeBuilder from '@axe-core/playwright';
import type { Page, TestInfo } from '@playwright/test';
import { test, expect, type JobsApi } from './pages/fixtures';
import { JobDetailPage, JobListPage, uniqueName, databaseSpec } from './pages/jobdeck';

/*
 * axe-core on the launch, list and detail pages, in the light and the dark
 * theme, against the real server with real content. Every finding is printed;
 * a serious or critical one fails the test.
 */

type Scheme = 'light' | 'dark';
type Results = Awaited<ReturnType<AxeBuilder['analyze']>>;

async function audit(page: Page, testInfo: TestInfo, what: string): Promise<void> {
  const results: Results = await new AxeBuilder({ page }).analyze();
  const lines = results.violations.map((v) => {
    const nodes = v.nodes.map((n) => `      ${n.target.join(' ')}${n.failureSummary ? `: ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`);
    return [`  ${v.impact ?? 'unknown'} ${v.id} (${v.nodes.length}): ${v.help}`, ...nodes].join('\n');
  });
  console.log(
    `axe ${what}: ${results.passes.length} rules passed, ${results.violations.length} violated, ` +
      `${results.incomplete.length} to review by hand (${results.incomplete.map((r) => `${r.id}×${r.nodes.length}`).join(', ') || 'none'})` +
      (lines.length ? `\n${lines.join('\n')}` : ''),
  );
  await testInfo.attach(`axe-${what.replace(/\W+/g, '-')}.json`, {
    body: JSON.stringify({ violations: results.violations, incomplete: results.incomplete }, null, 2),
    contentType: 'application/json',
  });
  const blocking = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(blocking.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), `serious or critical axe violations on ${what}`).toEqual([]);
}

/** A running database and a web app connected to it as "database": the content the pages show. */
async function scene(jobsApi: JobsApi): Promise<{ dbId: string; dbName: string; webId: string }> {
  const dbName = uniqueName('a11y-db');
  const dbId = await jobsApi.create(databaseSpec(dbName));
  await jobsApi.waitFor(dbId, 'RUNNING');
  const webId = await jobsApi.create({
    application: { name: 'acme-web-app', version: '1.0.0' },
    name: uniqueName('a11y-web'),
    resources: [{ type: 'peer', hostname: 'database', jobId: dbId }],
  });
  await jobsApi.waitFor(webId, 'RUNNING');
  return { dbId, dbName, webId };
}

async function open(page: Page, scheme: Scheme, token: string, path: string): Promise<void> {
  await page.emulateMedia({ colorScheme: scheme });
  await page.goto(`${path}#token=${token}`);
  expect(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)).toBe(scheme === 'dark');
}

for (const scheme of ['light', 'dark'] as const) {
  test.describe(`accessibility, ${scheme} theme`, () => {
    test(`launch page (${scheme}): a connection row with the picker open, then inline errors`, async ({ page, creds, apps, jobsApi }, testInfo) => {
      const { dbName } = await scene(jobsApi);
      await open(page, scheme, creds.user, '/applications');
      const launch = await apps.launch('Acme Database');
      await launch.connectButton().click();
      const connection = launch.connection(1);
      await expect(connection.job).toBeFocused();
      await page.keyboard.press('ArrowDown');
      await expect(connection.listbox.getByRole('option', { name: new RegExp(`^${dbName}`) })).toBeVisible();
      await audit(page, testInfo, `launch with picker open (${scheme})`);

      await page.keyboard.press('Escape');
      await expect(connection.listbox).toBeHidden();
      await launch.launchButton().click();
      await expect(page.getByRole('alert')).toContainText(/fields? needs? your attention/);
      await audit(page, testInfo, `launch with errors (${scheme})`);
    });

    test(`job list (${scheme})`, async ({ page, creds, jobsApi }, testInfo) => {
      const { dbName } = await scene(jobsApi);
      await open(page, scheme, creds.user, '/jobs');
      const list = new JobListPage(page);
      await expect(list.rows(dbName)).toHaveCount(1);
      await audit(page, testInfo, `job list (${scheme})`);
    });

    test(`job detail (${scheme}): connected jobs, then the terminate dialog`, async ({ page, creds, jobsApi }, testInfo) => {
      const { dbId, webId } = await scene(jobsApi);
      await open(page, scheme, creds.user, `/jobs/${webId}`);
      const detail = await JobDetailPage.arrived(page);
      await detail.expectState('RUNNING');
      await expect(detail.forwardPeer('database', dbId).item).toContainText('Running');
      await audit(page, testInfo, `job detail (${scheme})`);

      await page.getByRole('button', { name: 'Terminate', exact: true }).click();
      await expect(page.getByRole('dialog', { name: 'Terminate this job?' })).toBeVisible();
      await audit(page, testInfo, `terminate dialog (${scheme})`);
    });
  });
}
