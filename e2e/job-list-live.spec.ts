import { test, expect } from './pages/fixtures';
import { uniqueName } from './pages/jobdeck';

/*
 * The job list against the real server and real jobs: a filtered, sorted list gains jobs that start to match
 * (live, from jobs.listen, without a reload) in their natural name order, and loses the one that stops matching;
 * at phone size it is a list of cards no wider than the screen. Screenshots go to test-results/job-list/.
 */
const shots = 'test-results/job-list';

test('State = Running, sorted by name: jobs join live in natural order and leave when they stop', async ({ page, shell, creds, jobsApi }) => {
  const stem = uniqueName('nat');
  // acme-simulation with 1000 steps runs for minutes: long enough to be Running while the test looks.
  const simulation = (n: number) => ({
    application: { name: 'acme-simulation', version: '1.0.0' },
    name: `${stem}-${n}`,
    parameters: { steps: { type: 'integer', value: 1000 }, rate: { type: 'floating_point', value: 0.1 }, model: { type: 'text', value: 'linear' } },
  });
  await shell.signInWith(`/#token=${creds.user}`);
  await page.goto('/jobs?state=RUNNING&sort=name&dir=asc');
  const table = page.getByRole('table', { name: 'Jobs' }).or(page.getByText('No jobs match these filters'));
  await expect(table.first()).toBeVisible();
  await shell.markDocument();

  // Created while the list is open, queued for 2 s: none matches until it starts.
  const ids = [await jobsApi.create(simulation(102)), await jobsApi.create(simulation(2)), await jobsApi.create(simulation(12))];
  const ours = async () => (await page.locator('.job-link').allTextContents()).filter((name) => name.startsWith(stem));
  await expect.poll(ours, { timeout: 30_000 }).toEqual([`${stem}-2`, `${stem}-12`, `${stem}-102`]);
  await shell.expectSameDocument();

  await jobsApi.terminate(ids[1]!);
  await expect.poll(ours, { timeout: 30_000 }).toEqual([`${stem}-12`, `${stem}-102`]);
  await shell.expectSameDocument();

  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.screenshot({ path: `${shots}/running-by-name-1280-${theme}.png` });
  }
  for (const id of [ids[0]!, ids[2]!]) await jobsApi.terminate(id);
});

test('at 390×844 the job list is cards no wider than the screen, with touch-sized controls', async ({ page, shell, creds, jobsApi }) => {
  const stem = uniqueName('phone');
  const ids = [
    await jobsApi.create({ application: { name: 'acme-batch', version: '1.0.0' }, name: `${stem}-a-rather-long-job-name-for-a-phone`, parameters: { value: { type: 'text', value: 'x' } } }),
    await jobsApi.create({ application: { name: 'acme-simulation', version: '1.0.0' }, name: `${stem}-simulation`, parameters: { steps: { type: 'integer', value: 1000 }, rate: { type: 'floating_point', value: 0.1 }, model: { type: 'text', value: 'linear' } } }),
  ];
  await jobsApi.waitFor(ids[1]!, 'RUNNING');
  await page.setViewportSize({ width: 390, height: 844 });
  await shell.signInWith(`/#token=${creds.user}`);
  await page.goto('/jobs');
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: `${stem}-simulation` }) });
  await expect(row).toBeVisible();
  await expect(row.getByText(/left$/)).toBeVisible();
  await expect(row.getByText('on example')).toBeVisible();
  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    await page.screenshot({ path: `${shots}/list-390-${theme}.png` });
    // The list page's own content (the shell's top bar is measured by the shell's own journey).
    const width = await page.evaluate(() => {
      const list = document.querySelector('.job-list-page') as HTMLElement;
      return Math.max(list.scrollWidth, list.getBoundingClientRect().right);
    });
    expect(width, 'the job list is wider than the screen').toBeLessThanOrEqual(390);
  }
  // Every cell of the card is inside the screen, and the row's controls are at least 44 px tall.
  for (const cell of await row.getByRole('cell').all()) {
    const box = await cell.boundingBox();
    if (!box || box.width === 0) continue;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390.5);
  }
  const checkbox = row.getByRole('checkbox');
  const target = await checkbox.locator('..').boundingBox();
  expect(target!.height).toBeGreaterThanOrEqual(44);
  expect(target!.width).toBeGreaterThanOrEqual(44);

  // Select it and terminate it from the list, confirming.
  await checkbox.check();
  await page.getByRole('button', { name: 'Terminate 1 job' }).click();
  const dialog = page.getByRole('dialog', { name: 'Terminate 1 job?' });
  await expect(dialog.getByText(`${stem}-simulation`)).toBeVisible();
  await page.screenshot({ path: `${shots}/terminate-390-dark.png` });
  await dialog.getByRole('button', { name: 'Terminate 1 job' }).click();
  await jobsApi.waitFor(ids[1]!, 'SUCCESS');
  await expect(row.getByText('Ended')).toBeVisible();
});
