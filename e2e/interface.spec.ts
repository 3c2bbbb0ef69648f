import fs from 'node:fs';
import { test, expect } from './pages/fixtures';
import { JobDetailPage, uniqueName, databaseSpec } from './pages/jobdeck';

/*
 * "Open interface", in real Chromium against the real server: seed 001's web app, connected to its
 * database job, opened from its job page through Jobdeck's proxy on the job's own origin (job-<id>.localhost).
 * Screenshots go to test-results/screenshots/ (the good ones are committed in docs/screenshots/).
 */

const SHOTS = 'test-results/screenshots';
/** The dashboard's localStorage key for the bearer token (src/api/session.ts). */
const TOKEN_KEY = 'jobdeck.token';

test.describe('Open interface', () => {
  test('journey C: the connected web app opens on its own origin, counts each reload, and is closed to anyone else', async ({
    page,
    browser,
    context,
    shell,
    creds,
    jobsApi,
  }) => {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.setViewportSize({ width: 1280, height: 860 });
    const dbName = uniqueName('iface-db');
    const webName = uniqueName('iface-web');

    // The scene, as seed 001 sets it: a database job, then a web app connected to it as `database`.
    const dbId = await jobsApi.create(databaseSpec(dbName));
    await jobsApi.waitFor(dbId, 'RUNNING');
    const webId = await jobsApi.create({
      application: { name: 'acme-web-app', version: '1.0.0' },
      name: webName,
      resources: [{ type: 'peer', hostname: 'database', jobId: dbId }],
    });

    await shell.signInWith(`/#token=${creds.user}`);
    await page.goto(`/jobs/${webId}`);
    const web = new JobDetailPage(page, webId);
    await expect(web.heading()).toContainText(webName);
    await web.expectState('RUNNING');
    const open = page.getByRole('button', { name: 'Open interface' });
    await expect(open).toBeVisible();
    // RUNNING means its process has started; under load its server can take a while more to listen (until then the
    // interface says "may still be starting", seen once in a loaded run). Its log says when it does.
    await expect(web.output().getByText(/^Listening on /)).toBeAttached({ timeout: 60_000 });
    // The dashboard's storage holds its session (checked below to be out of the interface's reach), not the access token.
    const dashboardToken = await page.evaluate((key) => localStorage.getItem(key), TOKEN_KEY);
    expect(dashboardToken).toBeTruthy();
    expect(dashboardToken).not.toBe(creds.user);
    await page.screenshot({ path: `${SHOTS}/interface-job-page.png`, animations: 'disabled', caret: 'hide' });

    // Open interface: a new tab on the job's own origin, through the single-use grant, which leaves the address bar.
    const session = page.waitForResponse((r) => r.url().endsWith('/api/jobs/interactiveSession'));
    const popupOpened = context.waitForEvent('page');
    await open.click();
    const grantUrl = ((await (await session).json()) as { responses: { session: { redirectClientTo: string } }[] }).responses[0]!.session
      .redirectClientTo;
    const port = new URL(page.url()).port;
    const origin = `http://job-${webId}.localhost:${port}`;
    expect(grantUrl.startsWith(`${origin}/_jobdeck/grant?g=`)).toBe(true);
    const app = await popupOpened;
    await app.setViewportSize({ width: 1280, height: 860 });
    await expect(app).toHaveURL(`${origin}/`);
    await expect(app.getByRole('heading', { name: 'Acme web app' })).toBeVisible();
    await expect(page.getByText('The interface opened in a new tab')).toBeVisible();

    // It reaches its database (the web app retries on each view while the connection is still being made)…
    await expect
      .poll(
        async () => {
          const text = await app.locator('main').innerText();
          if (!text.includes('Connected to the database')) await app.reload();
          return text;
        },
        { timeout: 30_000, intervals: [500] },
      )
      .toContain('Connected to the database at database:5432');
    // …and counts up by one on each reload.
    const visits = async () => Number(/Visits: (\d+)/.exec(await app.locator('.visits').innerText())?.[1]);
    const first = await visits();
    expect(first).toBeGreaterThan(0);
    for (const expected of [first + 1, first + 2, first + 3]) {
      await app.reload();
      await expect(app.locator('.visits')).toHaveText(`Visits: ${expected}`);
    }
    await app.screenshot({ path: `${SHOTS}/interface-web-app.png`, animations: 'disabled', caret: 'hide' });

    // A script on the interface's origin sees neither the dashboard's storage nor Jobdeck's cookie.
    const seen = await app.evaluate(() => ({ keys: Object.keys(localStorage), cookie: document.cookie }));
    expect(seen.keys).not.toContain(TOKEN_KEY);
    expect(JSON.stringify(seen)).not.toContain(creds.user);
    expect(JSON.stringify(seen)).not.toContain(dashboardToken!);
    expect(seen.cookie).not.toContain('jobdeck_interface');

    // The same interface URL in a fresh browser context: a page that says how to get in, never the app; and the
    // grant, already used, opens nothing either.
    const stranger = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      const other = await stranger.newPage();
      const answer = await other.goto(`${origin}/`);
      expect(answer?.status()).toBe(401);
      await expect(other.getByRole('heading', { name: 'Open this interface from Jobdeck' })).toBeVisible();
      await expect(other.getByText('Acme web app')).toHaveCount(0);
      await other.screenshot({ path: `${SHOTS}/interface-fresh-context.png`, animations: 'disabled', caret: 'hide' });
      const reused = await other.goto(grantUrl);
      expect(reused?.status()).toBe(401);
      await expect(other.getByRole('heading', { name: 'This link has already been used or has expired' })).toBeVisible();
      await expect(other.getByText('Acme web app')).toHaveCount(0);
    } finally {
      await stranger.close();
    }

    // When the job ends, the interface says so, and the button goes from the job page.
    await jobsApi.terminate(webId);
    await web.expectState('TERMINATED');
    await expect(open).toHaveCount(0);
    const ended = await app.reload();
    expect(ended?.status()).toBe(410);
    await expect(app.getByRole('heading', { name: 'This job has ended' })).toBeVisible();
    await app.screenshot({ path: `${SHOTS}/interface-ended.png`, animations: 'disabled', caret: 'hide' });
    await jobsApi.terminate(dbId);
  });
});
