import { printedSignInLink } from './fixtures';
import { test, expect } from './pages/fixtures';
import { JobDetailPage, uniqueName, databaseSpec } from './pages/jobdeck';

/*
 * The main journeys in real Chromium against the real bundled server (started
 * by playwright.config.ts on a fresh data directory): real REST, real sockets,
 * the built-in `example` provider. No mocks, and no reloads: after the sign-in
 * link, every page change is the app's own navigation and every state change
 * arrives live.
 */

test.describe('seed 001 in the browser: connecting two jobs', () => {
  test('journey A: database, keyboard-connected web app, links both ways, and the web app sees its peer go', async ({
    page,
    context,
    shell,
    apps,
    jobsApi,
  }) => {
    // The seed's path is fixed; a database left running on it (an earlier attempt's) would turn
    // this launch into a duplicate, so the scene starts without one.
    for (const job of await jobsApi.active()) {
      if (job.specification.parameters?.dataStore?.path === '/123/acme-database') await jobsApi.terminate(job.id);
    }
    const dbName = uniqueName('seed-db');
    const webName = uniqueName('seed-web');

    // 1. The link the server printed signs in.
    await shell.signInWith(printedSignInLink());
    await shell.markDocument();

    // 2. Launch acme-database from the Applications page, then watch it start.
    let launch = await apps.launch('Acme Database');
    await launch.jobName().fill(dbName);
    await launch.param('Data store').fill('/123/acme-database');
    const db = await launch.launchAndOpenJob();
    await expect(db.heading()).toContainText(dbName);
    await db.expectState('IN_QUEUE');
    await db.expectState('RUNNING');
    await expect(db.announcer()).toHaveText(/^Job state changed to Running\./);
    await expect(db.parameters()).toContainText('/123/acme-database');

    // 3. Launch acme-web-app and connect it to the database with the keyboard only.
    await shell.navigate('Applications');
    launch = await apps.launch('Acme Web App');
    await launch.jobName().fill(webName);
    // From the job name, Tab walks the form in reading order to the connection the app expects (the
    // catalog's expectedPeers prefill it under the hostname "database").
    await page.keyboard.press('Tab');
    await expect(launch.machineType()).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(launch.hours()).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(launch.minutes()).toBeFocused();
    await page.keyboard.press('Tab');

    // The expected row's job combobox; typing searches the running jobs.
    const connection = launch.connection(1);
    await expect(connection.job).toBeFocused();
    await page.keyboard.type(dbName);
    await expect(connection.job).toHaveAttribute('aria-expanded', 'true');
    const option = connection.listbox.getByRole('option', { name: new RegExp(`^${dbName}`) });
    await expect(connection.listbox.getByRole('option')).toHaveCount(1);
    await expect(option).toContainText(`#${db.id}`);
    await page.keyboard.press('ArrowDown');
    await expect(connection.job).toHaveAttribute('aria-activedescendant', (await option.getAttribute('id'))!);
    await page.keyboard.press('Enter');
    await expect(connection.listbox).toBeHidden();
    await expect(connection.job).toHaveValue(`${dbName} (#${db.id})`);

    // Tab reaches the hostname, already the one the app expects; picking the job does not replace it.
    await page.keyboard.press('Tab');
    await expect(connection.hostname).toBeFocused();
    await expect(connection.hostname).toHaveValue('database');
    await expect(connection.hostname).not.toHaveAttribute('aria-invalid', 'true');

    // Enter in the hostname field submits the form.
    const before = page.url();
    await page.keyboard.press('Enter');
    const web = await JobDetailPage.arrived(page, before);
    expect(web.id).not.toBe(db.id);
    await expect(web.heading()).toContainText(webName);

    // 4. "database" and a link to the database job under the web app's connected jobs…
    const forward = web.forwardPeer('database', db.id);
    await expect(forward.item).toBeVisible();
    await expect(forward.link).toHaveAccessibleName(`${dbName} #${db.id}`);
    await expect(forward.item).toContainText('Running');
    await web.expectState('RUNNING');

    // …and the reverse link on the database job's page, reached through that link.
    await forward.link.click();
    const dbAgain = await JobDetailPage.arrived(page);
    expect(dbAgain.id).toBe(db.id);
    const reverse = dbAgain.reversePeer(web.id, 'database');
    await expect(reverse.item).toBeVisible();
    await expect(reverse.link).toHaveAccessibleName(`${webName} #${web.id}`);

    // A second tab keeps the web app's page open while the database is terminated.
    const watcher = await context.newPage();
    await watcher.goto(`/jobs/${web.id}`);
    const watched = new JobDetailPage(watcher, web.id);
    await expect(watched.forwardPeer('database', db.id).item).toContainText('Running');
    await expect(watched.connected()).not.toContainText('No longer running');

    // 5. Terminate the database through the confirmation dialog.
    await dbAgain.terminate();
    await dbAgain.expectState('TERMINATED');

    // The open web app page reports, live, that its peer is gone…
    await expect(watched.forwardPeer('database', db.id).item).toContainText('No longer running');
    await watched.expectState('RUNNING');

    // …and so does the web app's page reached through the reverse link in the first tab.
    await reverse.link.click();
    const webAgain = await JobDetailPage.arrived(page);
    expect(webAgain.id).toBe(web.id);
    const gone = webAgain.forwardPeer('database', db.id).item;
    await expect(gone).toContainText('No longer running');
    await expect(gone).toContainText('Terminated');

    await shell.expectSameDocument();
    await jobsApi.terminate(web.id);
  });
});

test.describe('run again and duplicates', () => {
  test('journey B: Run again opens the form pre-filled with the parameters and peers, and launches', async ({
    page,
    shell,
    apps,
    creds,
    jobsApi,
  }) => {
    const dbName = uniqueName('rerun-db');
    const webName = uniqueName('rerun-web');
    // The scene: a running database to connect to.
    const dbId = await jobsApi.create(databaseSpec(dbName));
    await jobsApi.waitFor(dbId, 'RUNNING');

    await shell.signInWith(`/#token=${creds.user}`);
    await shell.markDocument();

    // A web app with a time allocation and a connection, launched and then terminated.
    let launch = await apps.launch('Acme Web App');
    await launch.jobName().fill(webName);
    await launch.hours().fill('2');
    await launch.minutes().fill('30');
    // The connection the app expects ("database", from the catalog) is already there: pick its job.
    const connection = launch.connection(1);
    await expect(connection.hostname).toHaveValue('database');
    await connection.job.fill(dbName);
    await connection.listbox.getByRole('option', { name: new RegExp(`^${dbName}`) }).click();
    const source = await launch.launchAndOpenJob();
    await source.expectState('RUNNING');
    await source.terminate();
    await source.expectState('TERMINATED');

    // Run again: the same form, pre-filled from the source job.
    launch = await source.runAgain();
    await expect(launch.prefilledNotice()).toHaveText(`Pre-filled from job #${source.id} (${webName}). Review the values, then launch.`);
    await expect(launch.jobName()).toHaveValue(webName);
    await expect(launch.machineType()).toHaveValue(/example-compute$/);
    await expect(launch.hours()).toHaveValue('2');
    await expect(launch.minutes()).toHaveValue('30');
    const prefilled = launch.connection(1);
    await expect(prefilled.job).toHaveValue(`${dbName} (#${dbId})`);
    await expect(prefilled.hostname).toHaveValue('database');
    await expect(launch.connection(2).row).toHaveCount(0);

    // The source has finished, so this is no duplicate: it launches straight away.
    const again = await launch.launchAndOpenJob();
    expect(again.id).not.toBe(source.id);
    await expect(again.heading()).toContainText(webName);
    await expect(again.parameters()).toContainText('2 h 30 min');
    await expect(again.forwardPeer('database', dbId).item).toBeVisible();
    await again.expectState('RUNNING');
    await expect(page.getByRole('dialog')).toHaveCount(0);

    await shell.expectSameDocument();
    await jobsApi.terminate(again.id);
    await jobsApi.terminate(dbId);
  });

  test('journey B: an identical launch asks "Start another?"; cancel keeps the form, confirming creates a second job', async ({
    page,
    shell,
    apps,
    jobList,
    creds,
    jobsApi,
  }) => {
    const name = uniqueName('dup-db');
    const path = `/e2e/${name}`;

    await shell.signInWith(`/#token=${creds.user}`);
    await shell.markDocument();

    let launch = await apps.launch('Acme Database');
    await launch.jobName().fill(name);
    await launch.param('Data store').fill(path);
    const first = await launch.launchAndOpenJob();

    // The same application, machine type and parameters while the first is still active.
    await shell.navigate('Applications');
    launch = await apps.launch('Acme Database');
    await launch.jobName().fill(name);
    await launch.param('Data store').fill(path);
    const formUrl = page.url();
    await launch.launchButton().click();

    const dialog = launch.duplicateDialog();
    await expect(dialog).toBeVisible();
    // It names and links the running duplicate.
    await expect(dialog).toContainText(`${name} (#${first.id}) is already running with the same application, machine type and parameters. Start another one anyway?`);
    await expect(dialog.getByRole('link', { name: new RegExp(`${name}`) })).toHaveAttribute('href', `/jobs/${first.id}`);
    // The safe choice has focus; cancelling leaves the filled-in form as it was.
    await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    expect(page.url()).toBe(formUrl);
    await expect(launch.param('Data store')).toHaveValue(path);

    // Asked again and confirmed: a second job starts, and the page goes to it.
    await launch.launchButton().click();
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Start another' }).click();
    const second = await JobDetailPage.arrived(page, formUrl);
    expect(second.id).not.toBe(first.id);
    await expect(second.parameters()).toContainText(path);
    await second.expectState('RUNNING');

    // The job list shows both.
    await shell.navigate('Jobs');
    await expect(jobList.heading()).toBeVisible();
    await expect(jobList.rows(name)).toHaveCount(2);
    await expect(jobList.rows(new RegExp(`#${first.id}(?!\\d)`))).toContainText(name);
    await expect(jobList.rows(new RegExp(`#${second.id}(?!\\d)`))).toContainText(name);

    await shell.expectSameDocument();
    await jobsApi.terminate(first.id);
    await jobsApi.terminate(second.id);
  });
});
