import type { Page } from '@playwright/test';
import { test, expect, api } from './fixtures';

/*
 * Seed 002 in the browser: the real server, the `ucloud` service posting over
 * REST, and the signed-in user's dashboard receiving it over tasks.listen.
 */

interface Task {
  jobId: string;
  title: string | null;
  status: string | null;
  complete: boolean;
  progress: { title: string; current: number; maximum: number } | null;
  speeds: { title: string; speed: number; unit: string; asText: string }[] | null;
  messages: string[] | null;
}

const SHOTS = 'test-results/screenshots';

/**
 * Signs in as a user of this attempt's own, so that no other journey's tasks (in this file, another spec, or a
 * first attempt before a retry) are in its tray: the tray's counts and cards are then this journey's alone.
 */
async function signInFresh(page: Page, baseURL: string, adminToken: string): Promise<{ owner: string; token: string }> {
  const username = `tasks-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const { token } = (await api(baseURL, adminToken, 'POST', '/api/admin/users', { username })) as { token: string };
  await page.goto(`/#token=${token}`);
  await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();
  return { owner: username, token };
}

const trayButton = (page: Page) => page.getByRole('button', { name: /^Tasks,/ });
const bell = (page: Page) => page.getByRole('button', { name: /^Notifications,/ });

async function openTray(page: Page) {
  await trayButton(page).click();
  const popover = page.getByRole('dialog', { name: 'Tasks' });
  await expect(popover).toBeVisible();
  return popover;
}

test.describe('live tasks', () => {
  test('seed 002: counting to 3 reaches the tray and the notification panel, and a reload rebuilds it', async ({ page, creds, baseURL }) => {
    const { owner } = await signInFresh(page, baseURL!, creds.admin);
    await expect(trayButton(page)).toHaveAccessibleName('Tasks, none running');
    await expect(bell(page)).toHaveAccessibleName('Notifications, none unread');

    // The seed's calls, as the `ucloud` service, for the signed-in user.
    const ucloud = (method: string, url: string, body: unknown) => api(baseURL!, creds.ucloud, method, url, body);
    const task = (await ucloud('PUT', '/api/tasks', { title: 'We are counting to 3', owner, initialStatus: null })) as Task;
    const count = (n: number) =>
      ucloud('POST', '/api/tasks/postStatus', {
        update: { jobId: task.jobId, newTitle: null, speeds: [], progress: null, complete: false, messageToAppend: `Count is now ${n}`, newStatus: null },
      });

    await count(1);
    await expect(trayButton(page)).toHaveAccessibleName('Tasks, 1 running');

    const popover = await openTray(page);
    const card = popover.getByRole('list', { name: 'Running tasks' }).getByRole('listitem', { name: 'We are counting to 3' });
    const lines = card.getByRole('log', { name: 'Messages of We are counting to 3' }).locator('.message-log__line');
    await expect(lines).toHaveText(['Count is now 1']);
    await count(2);
    await expect(lines).toHaveText(['Count is now 1', 'Count is now 2']);
    await count(3);
    await expect(lines).toHaveText(['Count is now 1', 'Count is now 2', 'Count is now 3']);

    await ucloud('POST', '/api/tasks/markAsComplete', { id: task.jobId });
    const done = popover.getByRole('list', { name: 'Finished tasks' }).getByRole('listitem', { name: 'We are counting to 3' });
    await expect(done.getByText('Complete', { exact: true })).toBeVisible();
    await expect(done.locator('.message-log__line')).toHaveText(['Count is now 1', 'Count is now 2', 'Count is now 3']);
    await expect(trayButton(page)).toHaveAccessibleName('Tasks, none running');

    await expect(bell(page)).toHaveAccessibleName('Notifications, 1 unread');
    await page.keyboard.press('Escape');
    await expect(popover).toBeHidden();
    await expect(trayButton(page)).toBeFocused();

    await bell(page).click();
    const panel = page.getByRole('dialog', { name: 'Notifications' });
    await expect(panel.getByRole('link', { name: 'We are counting to 3, unread' })).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/notifications-light.png` });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: `${SHOTS}/notifications-dark.png` });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.keyboard.press('Escape');

    // A reload rebuilds the same state: the task from REST, the notification from storage.
    await page.reload();
    await expect(trayButton(page)).toHaveAccessibleName('Tasks, none running');
    const again = await openTray(page);
    const rebuilt = again.getByRole('list', { name: 'Finished tasks' }).getByRole('listitem', { name: 'We are counting to 3' });
    await expect(rebuilt.getByText('Complete', { exact: true })).toBeVisible();
    await expect(rebuilt.locator('.message-log__line')).toHaveText(['Count is now 1', 'Count is now 2', 'Count is now 3']);
    await page.keyboard.press('Escape');
    await expect(bell(page)).toHaveAccessibleName('Notifications, 1 unread');
    await bell(page).click();
    const link = page.getByRole('dialog', { name: 'Notifications' }).getByRole('link', { name: 'We are counting to 3, unread' });
    await link.click();
    // The notification opens the task's detail view.
    const detail = page.getByRole('dialog', { name: 'We are counting to 3' });
    await expect(detail.locator('.message-log__line')).toHaveText(['Count is now 1', 'Count is now 2', 'Count is now 3']);
    await expect(bell(page)).toHaveAccessibleName('Notifications, none unread');
  });

  test('progress and speeds survive a dropped socket: the popover ends equal to the server, with no duplicated line', async ({ page, creds, baseURL }) => {
    // Keep a handle on the page's sockets, so the journey can cut them as a network drop would.
    await page.addInitScript(() => {
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
    const { owner, token } = await signInFresh(page, baseURL!, creds.admin);

    const ucloud = (method: string, url: string, body: unknown) => api(baseURL!, creds.ucloud, method, url, body);
    const task = (await ucloud('PUT', '/api/tasks', { title: 'Transferring results', owner, initialStatus: 'Starting' })) as Task;
    const TOTAL = 30;
    const post = (i: number) =>
      ucloud('POST', '/api/tasks/postStatus', {
        update: {
          jobId: task.jobId,
          newTitle: null,
          newStatus: `Copying file ${i} of ${TOTAL}`,
          progress: { title: 'Files', current: i, maximum: TOTAL },
          speeds: [
            { title: 'Upload', speed: 10 + i, unit: 'MB/s', asText: `${10 + i}.0 MB/s` },
            { title: 'Files', speed: 2, unit: 'files/s', asText: '2 files/s' },
          ],
          complete: false,
          messageToAppend: `Copied part-${String(i).padStart(3, '0')}.dat`,
        },
      });

    const popover = await openTray(page);
    const card = popover.getByRole('listitem', { name: 'Transferring results' });
    // The time left is measured from when the page saw each value: the second half is posted only once the page has
    // shown the first, so however the socket bunches its frames on a busy machine, two values come at two times.
    for (let i = 1; i <= 5; i++) await post(i);
    await expect(card.locator('.message-log__line').last()).toHaveText('Copied part-005.dat');
    for (let i = 6; i <= 10; i++) await post(i);
    await expect(card.locator('.message-log__line').last()).toHaveText('Copied part-010.dat');
    const bar = card.getByRole('progressbar', { name: 'Progress of Transferring results: Files' });
    await expect(bar).toHaveAttribute('aria-valuetext', '10 of 30 (33%)');
    await expect(card.getByText(/left$/)).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/tray-light.png` });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: `${SHOTS}/tray-dark.png` });
    await page.emulateMedia({ colorScheme: 'light' });

    // Drop the connection: offline, and the open sockets cut. Offline, the page says the server cannot be reached
    // (the outage notice, which stands in for the socket's "Reconnecting…").
    await page.context().setOffline(true);
    await page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.forEach((s) => s.close()));
    const outage = page.getByText('Jobdeck’s server cannot be reached.', { exact: false });
    await expect(outage).toBeVisible();
    for (let i = 11; i <= 20; i++) await post(i);
    await page.context().setOffline(false);
    for (let i = 21; i <= TOTAL; i++) await post(i);
    await ucloud('POST', '/api/tasks/markAsComplete', { id: task.jobId });

    const server = (await api(baseURL!, token, 'GET', `/api/tasks/retrieve?id=${task.jobId}`)) as Task;
    expect(server.complete).toBe(true);
    expect(server.messages).toHaveLength(TOTAL);

    const done = popover.getByRole('list', { name: 'Finished tasks' }).getByRole('listitem', { name: 'Transferring results' });
    await expect(done.getByText('Complete', { exact: true })).toBeVisible();
    await expect(done.locator('.message-log__line')).toHaveText(server.messages!);
    await expect(done.getByRole('progressbar')).toHaveAttribute('aria-valuetext', `${server.progress!.current} of ${server.progress!.maximum} (100%)`);
    await expect(done.getByText(server.status!)).toBeVisible();
    await expect(done.getByRole('list', { name: 'Speeds' })).toHaveText(server.speeds!.map((s) => `${s.title} ${s.asText}`).join(''));
    await expect(page.getByText(/Reconnecting…/)).toBeHidden();
    await expect(outage).toBeHidden();
  });

  test('a log follows its newest line, stays put while the reader scrolls up, and "Jump to latest" follows again', async ({ page, creds, baseURL }) => {
    const { owner } = await signInFresh(page, baseURL!, creds.admin);
    const ucloud = (method: string, url: string, body: unknown) => api(baseURL!, creds.ucloud, method, url, body);
    const title = 'Long build log';
    const task = (await ucloud('PUT', '/api/tasks', { title, owner, initialStatus: 'Building' })) as Task;
    const say = async (from: number, to: number) => {
      for (let i = from; i <= to; i++) {
        await ucloud('POST', '/api/tasks/postStatus', { update: { jobId: task.jobId, messageToAppend: `step ${i}` } });
      }
    };

    const popover = await openTray(page);
    await say(1, 15);
    const card = popover.getByRole('listitem', { name: title });
    const log = card.getByRole('log', { name: `Messages of ${title}` });
    await expect(log.locator('.message-log__line').last()).toHaveText('step 15');
    // Pixels between the bottom of what the log shows and the end of its content.
    const belowView = () => log.evaluate((el) => Math.round(el.scrollHeight - el.scrollTop - el.clientHeight));
    const scrollTop = () => log.evaluate((el) => Math.round(el.scrollTop));
    expect(await log.evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);
    await expect.poll(belowView).toBeLessThanOrEqual(1);

    // The reader scrolls up with the mouse wheel: new lines arrive, the view stays where it is.
    await log.hover();
    await page.mouse.wheel(0, -1000);
    await expect.poll(scrollTop).toBe(0);
    await expect(card.getByRole('button', { name: 'Jump to latest' })).toBeVisible();
    await say(16, 18);
    await expect(log.locator('.message-log__line').last()).toHaveText('step 18');
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    expect(await scrollTop()).toBe(0);
    await card.screenshot({ path: `${SHOTS}/tray-log-scrolled-up.png` });

    // "Jump to latest" goes to the end and follows again.
    await card.getByRole('button', { name: 'Jump to latest' }).click();
    await expect.poll(belowView).toBeLessThanOrEqual(1);
    await expect(card.getByRole('button', { name: 'Jump to latest' })).toBeHidden();
    await say(19, 22);
    await expect(log.locator('.message-log__line').last()).toHaveText('step 22');
    await expect.poll(belowView).toBeLessThanOrEqual(1);
  });
});
