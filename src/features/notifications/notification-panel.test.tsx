import { act, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { applyUpdate } from '@/mocks/db';
import { hasOpenStream } from '@/mocks/handlers';
import { completeMockTask, createMockTask, hasTaskListener, postMockStatus, resetMockTasks } from '@/mocks/tasks';
import { MOCK_USER } from '@/mocks/fixtures';
import { storageKey } from '@/features/notifications/notification-store';
import { renderApp } from '@/test/render';

beforeEach(() => resetMockTasks());

async function openApp(path = '/jobs') {
  const utils = renderApp(path);
  await screen.findByRole('heading', { level: 1 });
  await waitFor(() => expect(hasOpenStream('jobs.listen')).toBe(true));
  await waitFor(() => expect(hasTaskListener()).toBe(true));
  // The shell opens the streams; the panel, which turns their events into notifications, loads lazily.
  await screen.findByRole('button', { name: /^Notifications,/ });
  // The user's stored notifications are loaded once whoami answers.
  await screen.findByText(MOCK_USER);
  return utils;
}

const bell = () => screen.getByRole('button', { name: /^Notifications,/ });

async function openPanel(user: ReturnType<typeof renderApp>['user']) {
  await user.click(bell());
  return screen.findByRole('dialog', { name: 'Notifications' });
}

function stored(): { items: { id: string; read: boolean }[] } {
  return JSON.parse(window.localStorage.getItem(storageKey(MOCK_USER)) ?? '{"items":[]}') as { items: { id: string; read: boolean }[] };
}

/**
 * The browser's Notification API, which jsdom does not have: records what is shown and each click handler, and
 * answers the permission question with `answer` (a fake: no real browser can be made to answer on demand).
 */
function fakeNotifications(permission: NotificationPermission, answer: NotificationPermission) {
  const shown: { title: string; options: NotificationOptions }[] = [];
  const clicks: (() => void)[] = [];
  class FakeNotification {
    static permission: NotificationPermission = permission;
    static requestPermission = vi.fn(async () => {
      FakeNotification.permission = answer;
      return answer;
    });
    set onclick(handler: () => void) {
      clicks.push(handler);
    }
    constructor(title: string, options: NotificationOptions) {
      shown.push({ title, options });
    }
    close() {}
  }
  vi.stubGlobal('Notification', FakeNotification);
  onTestFinished(() => {
    vi.unstubAllGlobals();
  });
  return { shown, clicks, requestPermission: FakeNotification.requestPermission };
}

describe('notification panel', () => {
  it('tells about job state changes, each linking to its job, with an unread count and a toast', async () => {
    const { user, router } = await openApp();
    expect(bell()).toHaveAccessibleName('Notifications, none unread');

    act(() => void applyUpdate('4101', { state: 'FAILURE', status: 'Disk full' }));
    await waitFor(() => expect(bell()).toHaveAccessibleName('Notifications, 1 unread'));
    const toasts = screen.getByRole('status', { name: 'Recent notifications' });
    expect(within(toasts).getByRole('link', { name: 'my-database failed' })).toHaveAttribute('href', '/jobs/4101');

    const panel = await openPanel(user);
    const link = within(panel).getByRole('link', { name: 'my-database failed, unread' });
    expect(link).toHaveAttribute('href', '/jobs/4101');
    await user.click(link);
    await waitFor(() => expect(router.state.location.pathname).toBe('/jobs/4101'));
    expect(bell()).toHaveAccessibleName('Notifications, none unread');
  });

  it('de-duplicates an event delivered twice', async () => {
    const { user } = await openApp();
    act(() => {
      applyUpdate('4101', { state: 'FAILURE', status: 'Disk full' });
      // The stream sends the job again on the next change (a status line): still one "failed".
      applyUpdate('4101', { status: 'Cleaning up' });
    });
    await waitFor(() => expect(bell()).toHaveAccessibleName('Notifications, 1 unread'));
    const panel = await openPanel(user);
    expect(within(panel).getAllByRole('listitem')).toHaveLength(1);
    expect(stored().items.map((n) => n.id)).toEqual(['job:4101:FAILURE']);
  });

  it('groups job notifications of one kind that come close together, and counts the group once', async () => {
    const { user, router } = await openApp();
    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Done' });
      applyUpdate('4102', { state: 'SUCCESS', status: 'Done' });
      applyUpdate('4106', { state: 'SUCCESS', status: 'Done' });
      applyUpdate('4104', { state: 'FAILURE', status: 'Crashed' });
    });
    await waitFor(() => expect(stored().items).toHaveLength(4));
    // What the user sees: "3 jobs finished" and "shop-frontend failed", so 2 unread, not 4.
    expect(bell()).toHaveAccessibleName('Notifications, 2 unread');

    const panel = await openPanel(user);
    const list = within(panel).getByRole('list', { name: 'Notifications' });
    const entries = within(list).getAllByRole('listitem');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toHaveAccessibleName('shop-frontend failed, unread');
    const group = entries[1]!;
    expect(group).toHaveAccessibleName('3 jobs finished, unread');
    expect(within(group).queryByRole('link')).not.toBeInTheDocument();

    await user.click(within(group).getByRole('button', { name: 'Show the 3 jobs' }));
    const jobs = within(group).getByRole('list', { name: '3 jobs finished' });
    expect(within(jobs).getAllByRole('link').map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
      ['cache-store finished', '/jobs/4106'],
      ['analytics-db finished', '/jobs/4102'],
      ['my-database finished', '/jobs/4101'],
    ]);

    // Following one job marks that one read; the group stays unread until all are.
    await user.click(within(jobs).getByRole('link', { name: 'analytics-db finished, unread' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/jobs/4102'));
    expect(bell()).toHaveAccessibleName('Notifications, 2 unread');
    const again = await openPanel(user);
    const regrouped = within(again).getByRole('listitem', { name: '3 jobs finished, unread' });
    await user.click(within(regrouped).getByRole('button', { name: 'Mark read: 3 jobs finished' }));
    expect(bell()).toHaveAccessibleName('Notifications, 1 unread');
    expect(within(again).getByRole('listitem', { name: '3 jobs finished' })).toBeInTheDocument();
    expect(stored().items.filter((n) => n.read).map((n) => n.id).sort()).toEqual(['job:4101:SUCCESS', 'job:4102:SUCCESS', 'job:4106:SUCCESS']);
  });

  it('groups job notifications of one kind in one toast while it is up: "3 jobs finished", linking to those jobs', async () => {
    const { user, router } = await openApp();
    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Done' });
      applyUpdate('4104', { state: 'FAILURE', status: 'Crashed' });
    });
    const toasts = screen.getByRole('status', { name: 'Recent notifications' });
    await within(toasts).findByRole('link', { name: 'shop-frontend failed' });
    act(() => {
      applyUpdate('4102', { state: 'SUCCESS', status: 'Done' });
      applyUpdate('4106', { state: 'SUCCESS', status: 'Done' });
    });
    const group = await within(toasts).findByRole('link', { name: '3 jobs finished' });
    expect(group).toHaveAttribute('href', '/jobs?state=SUCCESS');
    expect(group.closest('.toast')).toHaveTextContent('cache-store, analytics-db and my-database');
    // Two toasts, not four: the failure stays on its own.
    expect(within(toasts).getAllByRole('link').map((a) => a.textContent)).toEqual(['3 jobs finished', 'shop-frontend failed']);

    await user.click(group);
    await waitFor(() => expect(router.state.location.search).toBe('?state=SUCCESS'));
    expect(within(toasts).queryByRole('link', { name: '3 jobs finished' })).not.toBeInTheDocument();
    expect(bell()).toHaveAccessibleName('Notifications, 1 unread');
  });

  it('groups finished tasks in one toast, so a burst of them leaves the job toasts up; the panel keeps one line each', async () => {
    const { user } = await openApp();
    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Done' });
      applyUpdate('4104', { state: 'FAILURE', status: 'Crashed' });
    });
    const toasts = screen.getByRole('status', { name: 'Recent notifications' });
    await within(toasts).findByRole('link', { name: 'shop-frontend failed' });
    const tasks = ['Counting to 1', 'Counting to 2', 'Counting to 3', 'Counting to 4'].map((title) => createMockTask({ title }));
    for (const task of tasks) act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'working' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Tasks, 4 running' })).toBeInTheDocument());
    for (const task of tasks) act(() => void completeMockTask(task.jobId));
    await waitFor(() => expect(toasts).toHaveTextContent('4 tasks complete'));
    // Three toasts: the tasks' one and both job toasts, which four task toasts would have pushed out.
    expect([...toasts.querySelectorAll('.toast__title')].map((t) => t.textContent)).toEqual(['4 tasks complete', 'shop-frontend failed', 'my-database finished']);
    expect(toasts).toHaveTextContent('Counting to 4, Counting to 3, Counting to 2 and 1 more');
    // The group has no page of its own to link to; the panel lists each task.
    expect(within(toasts).queryByRole('link', { name: '4 tasks complete' })).not.toBeInTheDocument();
    const panel = await openPanel(user);
    for (const task of tasks) expect(within(panel).getByRole('link', { name: `${task.title}, unread` })).toBeInTheDocument();
  });

  it('keeps notifications and their read state across a reload; mark read and mark all read', async () => {
    const first = await openApp();
    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Done' });
    });
    const task = createMockTask({ title: 'We are counting to 3' });
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'Count is now 1' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Tasks, 1 running' })).toBeInTheDocument());
    act(() => void completeMockTask(task.jobId));
    await waitFor(() => expect(bell()).toHaveAccessibleName('Notifications, 2 unread'));

    let panel = await openPanel(first.user);
    const items = within(panel).getAllByRole('listitem');
    expect(items.map((li) => within(li).getByRole('link'))).toEqual([
      screen.getByRole('link', { name: 'We are counting to 3, unread' }),
      screen.getByRole('link', { name: 'my-database finished, unread' }),
    ]);
    expect(within(items[0]!).getByRole('link')).toHaveAttribute('href', `/jobs?task=${task.jobId}`);
    await first.user.click(within(panel).getByRole('button', { name: 'Mark read: my-database finished' }));
    expect(bell()).toHaveAccessibleName('Notifications, 1 unread');

    // Reload.
    first.unmount();
    const second = await openApp();
    await waitFor(() => expect(bell()).toHaveAccessibleName('Notifications, 1 unread'));
    panel = await openPanel(second.user);
    expect(within(panel).getAllByRole('listitem')).toHaveLength(2);
    await second.user.click(within(panel).getByRole('button', { name: 'Mark all read' }));
    expect(bell()).toHaveAccessibleName('Notifications, none unread');
    expect(within(panel).getByRole('button', { name: 'Mark all read' })).toBeDisabled();
    expect(stored().items.every((n) => n.read)).toBe(true);
  });

  it('opens the task detail from a task notification', async () => {
    const { user } = await openApp();
    const task = createMockTask({ title: 'Linked' });
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'working' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Tasks, 1 running' })).toBeInTheDocument());
    act(() => void completeMockTask(task.jobId));
    await waitFor(() => expect(bell()).toHaveAccessibleName('Notifications, 1 unread'));
    const panel = await openPanel(user);
    await user.click(within(panel).getByRole('link', { name: 'Linked, unread' }));
    const detail = await screen.findByRole('dialog', { name: 'Linked' });
    expect(within(detail).getByRole('log')).toHaveTextContent('working');
  });

  it('shows user text as text', async () => {
    const { user } = await openApp();
    const task = createMockTask({ title: '<img src=x onerror=alert(1)>' });
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'x' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Tasks, 1 running' })).toBeInTheDocument());
    act(() => void completeMockTask(task.jobId));
    const panel = await (async () => {
      await waitFor(() => expect(bell()).toHaveAccessibleName('Notifications, 1 unread'));
      return openPanel(user);
    })();
    expect(within(panel).getByText('<img src=x onerror=alert(1)>')).toBeInTheDocument();
    expect(document.querySelector('img')).toBeNull();
  });

  it('after opting in, sends a desktop notification instead of a toast while the tab is hidden', async () => {
    const { shown, requestPermission } = fakeNotifications('default', 'granted');

    const { user } = await openApp();
    const panel = await openPanel(user);
    const optIn = within(panel).getByRole('checkbox', { name: 'Desktop notifications while this tab is in the background' });
    expect(optIn).not.toBeChecked();
    await user.click(optIn);
    await waitFor(() => expect(optIn).toBeChecked());
    expect(requestPermission).toHaveBeenCalledTimes(1);

    const visibility = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    onTestFinished(() => visibility.mockRestore());
    act(() => void applyUpdate('4101', { state: 'EXPIRED', status: 'Out of time' }));
    await waitFor(() => expect(shown).toHaveLength(1));
    expect(shown[0]).toEqual({ title: 'my-database expired', options: expect.objectContaining({ tag: 'group:job:4101:EXPIRED' }) });
    const toasts = screen.getByRole('status', { name: 'Recent notifications' });
    expect(toasts).toBeEmptyDOMElement();
    // It is in the panel all the same.
    expect(await within(panel).findByRole('link', { name: 'my-database expired, unread' })).toBeInTheDocument();
  });

  it('while the tab is hidden, grows one desktop notification for a group: "3 jobs finished", replacing the last', async () => {
    const { shown, clicks } = fakeNotifications('granted', 'granted');
    const { user, router } = await openApp();
    const panel = await openPanel(user);
    await user.click(within(panel).getByRole('checkbox', { name: 'Desktop notifications while this tab is in the background' }));
    const visibility = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    onTestFinished(() => visibility.mockRestore());

    act(() => void applyUpdate('4102', { state: 'FAILURE', status: 'Crashed' }));
    await waitFor(() => expect(shown).toHaveLength(1));
    act(() => void applyUpdate('4106', { state: 'FAILURE', status: 'Crashed' }));
    await waitFor(() => expect(shown).toHaveLength(2));
    act(() => void applyUpdate('4104', { state: 'FAILURE', status: 'Crashed' }));
    await waitFor(() => expect(shown).toHaveLength(3));
    expect(shown.map((s) => s.title)).toEqual(['analytics-db failed', '2 jobs failed', '3 jobs failed']);
    expect(shown[2]!.options.body).toBe('shop-frontend, cache-store and analytics-db');
    // One tag for the run: the system replaces the notification instead of stacking three.
    expect(new Set(shown.map((s) => s.options.tag)).size).toBe(1);
    expect(screen.getByRole('status', { name: 'Recent notifications' })).toBeEmptyDOMElement();

    act(() => clicks[2]!());
    await waitFor(() => expect(router.state.location.search).toBe('?state=FAILURE'));
  });

  it('says so when the browser\'s question is dismissed without an answer', async () => {
    fakeNotifications('default', 'default');
    const { user } = await openApp();
    const panel = await openPanel(user);
    const optIn = within(panel).getByRole('checkbox', { name: 'Desktop notifications while this tab is in the background' });
    await user.click(optIn);
    await waitFor(() => expect(optIn).toHaveAccessibleDescription(/closed without an answer, so desktop notifications are still off/));
    expect(optIn).not.toBeChecked();
  });
});
