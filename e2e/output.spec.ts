import fs from 'node:fs';
import { printedSignInLink } from './fixtures';
import { test, expect } from './pages/fixtures';
import { JobDetailPage, uniqueName } from './pages/jobdeck';

/*
 * "See what a job does": a job's output in the browser, from the real program through the real server. Seed 000's
 * acme-batch job is launched from its form; its printed lines show in the job page's log, and the download is the
 * file the job wrote, byte for byte; the log follows its end, and stays put when the reader scrolls up. A web app
 * (which runs until stopped) shows its lines while it runs.
 */

test.describe('job output', () => {
  test("seed 000: acme-batch's printed lines show in the log and download byte for byte", async ({ page, shell, apps }) => {
    await shell.signInWith(printedSignInLink());
    const launch = await apps.launch('Acme Batch');
    const name = uniqueName('seed-000');
    await launch.jobName().fill(name);
    await launch.param('Value').fill('Hello, World!');
    // Debug mode prints three lines a step: more than the log shows at once.
    await page.getByLabel('Debug mode').selectOption('Yes');
    const job = await launch.launchAndOpenJob();
    await job.expectState('SUCCESS');
    const log = job.output();
    await log.scrollIntoViewIfNeeded();
    // It followed the end: the last line is in view.
    await expect(log.getByText(/^Result: processed "Hello, World!"/)).toBeInViewport();
    // Scrolled up to read, it stays there and offers the way back.
    await log.evaluate((el) => el.scrollTo({ top: 0 }));
    await expect(log.getByText(/^Processing "Hello, World!" in 10 steps/)).toBeInViewport();
    await page.getByRole('button', { name: 'Jump to latest' }).click();
    await expect(log.getByText(/^Result: processed "Hello, World!"/)).toBeInViewport();
    await expect(page.getByRole('button', { name: 'Jump to latest' })).toHaveCount(0);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download stdout' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`job-${job.id}-stdout.log`);
    const saved = fs.readFileSync((await download.path())!);
    const written = fs.readFileSync(`test-results/e2e-data/runs/${job.id}/stdout.log`);
    expect(saved.equals(written)).toBe(true);
  });

  test('a running web app shows its lines while it runs', async ({ page, shell, jobsApi }) => {
    await shell.signInWith(printedSignInLink());
    const id = await jobsApi.create({ application: { name: 'acme-web-app', version: '1.0.0' }, name: uniqueName('output-web') });
    await page.goto(`/jobs/${id}`);
    const job = await JobDetailPage.arrived(page);
    await job.expectState('RUNNING');
    await expect(job.output().getByText(/^Listening on /)).toBeVisible();
    await job.expectState('RUNNING');
    await jobsApi.terminate(id);
  });
});
