import { test, expect } from './pages/fixtures';
import { uniqueName } from './pages/jobdeck';

/*
 * Sorting the job list by a column header, against the real server: the sort is the server's (keyset pages with
 * `sortBy`), it goes into the URL, and the header says so with aria-sort.
 */
test('the job list sorts by name from its column header, by mouse and by keyboard', async ({ page, shell, creds, jobsApi }) => {
  const stem = uniqueName('sort');
  const batch = (suffix: string) => ({
    application: { name: 'acme-batch', version: '1.0.0' },
    name: `${stem}-${suffix}`,
    parameters: { value: { type: 'text', value: suffix } },
  });
  // Created in an order that is neither the name order nor its reverse.
  const ids = [await jobsApi.create(batch('b')), await jobsApi.create(batch('c')), await jobsApi.create(batch('a'))];

  await shell.signInWith(`/#token=${creds.user}`);
  await shell.navigate('Jobs');
  // Only this test's jobs: the list is virtualised, and after the other journeys' jobs a by-name order could put
  // ours below the rendered rows.
  // After the route change has settled (focus moves to the page's heading), so the box keeps what is typed.
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeFocused();
  await page.getByRole('table', { name: 'Jobs' }).waitFor();
  await page.getByRole('searchbox', { name: 'Search' }).fill(stem);
  await expect(page).toHaveURL(new RegExp(`[?&]q=${stem}`));
  const table = page.getByRole('table', { name: 'Jobs' });
  const jobHeader = table.getByRole('columnheader', { name: /^Job/ });
  const ours = async () => (await table.locator('.job-link').allTextContents()).filter((name) => name.startsWith(stem));
  await expect.poll(ours).toEqual([`${stem}-a`, `${stem}-c`, `${stem}-b`]);

  await jobHeader.getByRole('button').click();
  await expect(page).toHaveURL(/[?&]sort=name&dir=asc/);
  await expect(jobHeader).toHaveAttribute('aria-sort', 'ascending');
  await expect(table.getByRole('columnheader', { name: /^Created/ })).not.toHaveAttribute('aria-sort');
  await expect.poll(ours).toEqual([`${stem}-a`, `${stem}-b`, `${stem}-c`]);

  await jobHeader.getByRole('button').focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/[?&]sort=name&dir=desc/);
  await expect(jobHeader).toHaveAttribute('aria-sort', 'descending');
  await expect.poll(ours).toEqual([`${stem}-c`, `${stem}-b`, `${stem}-a`]);

  for (const id of ids) await jobsApi.terminate(id);
});
