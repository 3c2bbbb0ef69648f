import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { server } from '@/mocks/node';
import {
  completeMockTask,
  createMockTask,
  dropTaskSockets,
  findMockTask,
  hasTaskListener,
  postMockStatus,
  resetMockTasks,
  sendRawTaskBatch,
  sendRawTaskUpdate,
} from '@/mocks/tasks';
import { renderApp } from '@/test/render';

beforeEach(() => resetMockTasks());

async function openApp() {
  const utils = renderApp('/jobs');
  await screen.findByRole('heading', { level: 1, name: /jobs/i });
  await waitFor(() => expect(hasTaskListener()).toBe(true));
  // The shell opens tasks.listen; the tray, which folds it into the task store, loads lazily after the first paint.
  await screen.findByRole('button', { name: /^Tasks,/ });
  return utils;
}

function trayButton() {
  return screen.getByRole('button', { name: /^Tasks,/ });
}

async function openTray(user: ReturnType<typeof renderApp>['user']) {
  await user.click(trayButton());
  return screen.findByRole('dialog', { name: 'Tasks' });
}

function logLines(log: HTMLElement): string[] {
  return Array.from(log.querySelectorAll('.message-log__line')).map((line) => line.textContent ?? '');
}

describe('task tray', () => {
  it('shows seed 002 counting to 3 live: count, log in order, complete, and a notification', async () => {
    const { user } = await openApp();
    expect(trayButton()).toHaveAccessibleName('Tasks, none running');

    const task = createMockTask({ title: 'We are counting to 3' });
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'Count is now 1' }));
    await waitFor(() => expect(trayButton()).toHaveAccessibleName('Tasks, 1 running'));

    const popover = await openTray(user);
    const running = within(popover).getByRole('list', { name: 'Running tasks' });
    const card = within(running).getByRole('listitem', { name: 'We are counting to 3' });
    expect(within(card).getByText('Running')).toBeInTheDocument();
    // No progress reported: an indeterminate bar (no value).
    expect(within(card).getByRole('progressbar')).not.toHaveAttribute('aria-valuenow');

    act(() => {
      postMockStatus({ jobId: task.jobId, messageToAppend: 'Count is now 2' });
      postMockStatus({ jobId: task.jobId, messageToAppend: 'Count is now 3' });
    });
    const log = within(card).getByRole('log', { name: 'Messages of We are counting to 3' });
    await waitFor(() => expect(logLines(log)).toEqual(['Count is now 1', 'Count is now 2', 'Count is now 3']));

    act(() => void completeMockTask(task.jobId));
    const finished = await within(popover).findByRole('list', { name: 'Finished tasks' });
    const done = within(finished).getByRole('listitem', { name: 'We are counting to 3' });
    expect(within(done).getByText('Complete')).toBeInTheDocument();
    expect(within(done).queryByRole('progressbar')).not.toBeInTheDocument();
    expect(trayButton()).toHaveAccessibleName('Tasks, none running');

    expect(await screen.findByRole('button', { name: 'Notifications, 1 unread' })).toBeInTheDocument();
    const toasts = screen.getByRole('status', { name: 'Recent notifications' });
    expect(within(toasts).getByText('We are counting to 3')).toBeInTheDocument();
  });

  it('shows progress as "current of maximum" with a percentage and an ETA, and speeds as text', async () => {
    const task = createMockTask({ title: 'Copying files' });
    const { user } = await openApp();
    const popover = await openTray(user);
    const card = await within(popover).findByRole('listitem', { name: 'Copying files' });

    const speeds = [
      { title: 'Upload', speed: 12.5, unit: 'MB/s', asText: '12.5 MB/s' },
      { title: 'Files', speed: 3, unit: 'files/s', asText: '3 files/s' },
    ];
    act(() => void postMockStatus({ jobId: task.jobId, newStatus: 'Copying', progress: { title: 'Files', current: 3, maximum: 10 }, speeds }));
    const bar = await within(card).findByRole('progressbar', { name: 'Progress of Copying files: Files' });
    await waitFor(() => expect(bar).toHaveAttribute('aria-valuenow', '3'));
    expect(bar).toHaveAttribute('aria-valuemax', '10');
    expect(bar).toHaveAttribute('aria-valuetext', '3 of 10 (30%)');
    expect(within(card).getByText('3 of 10')).toBeInTheDocument();
    expect(within(card).getByText('30%')).toBeInTheDocument();
    expect(within(card).getByText('Copying')).toBeInTheDocument();
    const speedList = within(card).getByRole('list', { name: 'Speeds' });
    expect(speedList).toHaveTextContent('Upload 12.5 MB/s');
    expect(speedList).toHaveTextContent('Files 3 files/s');

    // A second reading gives a rate, and so an ETA.
    act(() => void postMockStatus({ jobId: task.jobId, progress: { title: 'Files', current: 6, maximum: 10 } }));
    await waitFor(() => expect(bar).toHaveAttribute('aria-valuetext', '6 of 10 (60%)'));
    await waitFor(() => expect(within(card).getByText(/left$/)).toBeInTheDocument());
  });

  it('charts the last 50 speed readings in the detail view, as an image named by its text, with the readings listed', async () => {
    const task = createMockTask({ title: 'Uploading' });
    const { user } = await openApp();
    const popover = await openTray(user);
    const card = await within(popover).findByRole('listitem', { name: 'Uploading' });
    // 60 readings: 1..60 MB/s, then a dip to 5 at the end. The chart keeps the last 50 (reading 12 onwards).
    const values = [...Array.from({ length: 59 }, (_, i) => i + 1), 5];
    for (const v of values) {
      act(() => void postMockStatus({ jobId: task.jobId, speeds: [{ title: 'Upload', speed: v, unit: 'MB/s', asText: `${v} MB/s` }] }));
    }
    await waitFor(() => expect(within(card).getByRole('list', { name: 'Speeds' })).toHaveTextContent('Upload 5 MB/s'));
    await user.click(within(card).getByRole('button', { name: /^Details/ }));
    const dialog = await screen.findByRole('dialog', { name: 'Uploading' });
    const chart = within(dialog).getByRole('img', { name: /^Upload:/ });
    expect(chart.tagName.toLowerCase()).toBe('svg');
    expect(chart).toHaveAccessibleName('Upload: now 5 MB/s; over the last 50 readings lowest 5 MB/s, highest 59 MB/s.');
    const readings = within(dialog).getByRole('list', { name: 'Readings of Upload, oldest first', hidden: true });
    const items = within(readings).getAllByRole('listitem', { hidden: true }).map((li) => li.textContent);
    expect(items).toHaveLength(50);
    expect(items[0]).toBe('11 MB/s');
    expect(items.at(-1)).toBe('5 MB/s');
  });

  it('renders messages and titles as text, never as HTML', async () => {
    const task = createMockTask({ title: '<b>bold</b> task' });
    const { user } = await openApp();
    const popover = await openTray(user);
    const card = await within(popover).findByRole('listitem', { name: '<b>bold</b> task' });
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: '<img src=x onerror=alert(1)>' }));
    const log = await within(card).findByRole('log');
    await within(log).findByText('<img src=x onerror=alert(1)>');
    expect(log.querySelector('img')).toBeNull();
    expect(card.querySelector('b')).toBeNull();
  });

  it('drops a duplicated update and fills a gap over REST, ending equal to the server', async () => {
    const task = createMockTask({ title: 'Gappy' });
    const { user } = await openApp();
    const popover = await openTray(user);
    const card = await within(popover).findByRole('listitem', { name: 'Gappy' });

    let first: ReturnType<typeof postMockStatus> | undefined;
    act(() => void (first = postMockStatus({ jobId: task.jobId, messageToAppend: 'line 1' })));
    act(() => sendRawTaskUpdate(first!));
    // Line 2 is lost on the way; line 3 shows the gap.
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'line 2' }, { deliver: false }));
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'line 3' }));
    const log = await within(card).findByRole('log');
    await waitFor(() => expect(logLines(log)).toEqual(['line 1', 'line 2', 'line 3']));
    expect(logLines(log)).toEqual(findMockTask(task.jobId)!.messages);
  });

  it('applies a batched message in order and drops a duplicate inside it', async () => {
    const task = createMockTask({ title: 'Batched' });
    const { user } = await openApp();
    const popover = await openTray(user);
    const card = await within(popover).findByRole('listitem', { name: 'Batched' });
    const updates: ReturnType<typeof postMockStatus>[] = [];
    act(() => {
      for (const line of ['one', 'two', 'three']) updates.push(postMockStatus({ jobId: task.jobId, messageToAppend: line }, { deliver: false }));
    });
    // One message with the three updates and the second one again.
    act(() => sendRawTaskBatch([updates[0]!, updates[1]!, updates[1]!, updates[2]!]));
    const log = await within(card).findByRole('log');
    await waitFor(() => expect(logLines(log)).toEqual(['one', 'two', 'three']));
    expect(logLines(log)).toEqual(findMockTask(task.jobId)!.messages);
  });

  it('mounts a log only while its card is in view, and shows the lines that arrived meanwhile when it comes into view', async () => {
    // jsdom has no IntersectionObserver: a fake one that the test drives.
    const observed = new Map<Element, IntersectionObserverCallback>();
    class FakeObserver {
      constructor(private readonly callback: IntersectionObserverCallback) {}
      observe(el: Element) {
        observed.set(el, this.callback);
      }
      unobserve(el: Element) {
        observed.delete(el);
      }
      disconnect() {}
    }
    vi.stubGlobal('IntersectionObserver', FakeObserver);
    onTestFinished(() => void vi.unstubAllGlobals());
    const report = (el: Element, isIntersecting: boolean) =>
      act(() => observed.get(el)?.([{ target: el, isIntersecting } as unknown as IntersectionObserverEntry], {} as IntersectionObserver));

    const task = createMockTask({ title: 'Far down' });
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'first', progress: { title: 'Steps', current: 1, maximum: 3 } }));
    const { user } = await openApp();
    const popover = await openTray(user);
    const card = await within(popover).findByRole('listitem', { name: 'Far down' });
    // Not reported in view yet: no log, but the progress is live.
    expect(within(card).queryByRole('log')).toBeNull();
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'second', progress: { title: 'Steps', current: 2, maximum: 3 } }));
    await waitFor(() => expect(within(card).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '2'));
    expect(within(card).queryByRole('log')).toBeNull();

    report(card, true);
    const log = within(card).getByRole('log', { name: 'Messages of Far down' });
    expect(logLines(log)).toEqual(['first', 'second']);

    report(card, false);
    expect(within(card).queryByRole('log')).toBeNull();
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'third' }));
    report(card, true);
    await waitFor(() => expect(logLines(within(card).getByRole('log'))).toEqual(['first', 'second', 'third']));
  });

  it('after the socket drops, resubscribes and reconciles over REST with no duplicated line', async () => {
    const task = createMockTask({ title: 'Survivor' });
    const { user } = await openApp();
    const popover = await openTray(user);
    const card = await within(popover).findByRole('listitem', { name: 'Survivor' });
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'before', progress: { title: 'Steps', current: 1, maximum: 4 } }));
    const log = await within(card).findByRole('log');
    await waitFor(() => expect(logLines(log)).toEqual(['before']));

    act(() => dropTaskSockets());
    expect(await screen.findByText(/Reconnecting…/)).toBeInTheDocument();
    // Posted while nobody listens.
    postMockStatus({ jobId: task.jobId, messageToAppend: 'while away 1', progress: { title: 'Steps', current: 2, maximum: 4 } }, { deliver: false });
    postMockStatus({ jobId: task.jobId, messageToAppend: 'while away 2', progress: { title: 'Steps', current: 3, maximum: 4 } }, { deliver: false });

    await waitFor(() => expect(hasTaskListener()).toBe(true));
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'after', progress: { title: 'Steps', current: 4, maximum: 4 } }));
    act(() => void completeMockTask(task.jobId));

    const finished = await within(popover).findByRole('list', { name: 'Finished tasks' });
    const done = within(finished).getByRole('listitem', { name: 'Survivor' });
    await waitFor(() => expect(logLines(within(done).getByRole('log'))).toEqual(['before', 'while away 1', 'while away 2', 'after']));
    expect(within(done).getByRole('progressbar')).toHaveAttribute('aria-valuetext', '4 of 4 (100%)');
    expect(within(done).getByText('Complete')).toBeInTheDocument();
  });

  it('lists running tasks before finished ones, and clears finished tasks for good', async () => {
    createMockTask({ title: 'Old and done', complete: true, seq: 1, messages: ['done'] });
    createMockTask({ title: 'Still going' });
    const { user, unmount } = await openApp();
    const popover = await openTray(user);
    await within(popover).findByRole('listitem', { name: 'Still going' });
    const sections = within(popover).getAllByRole('list').filter((l) => /tasks$/.test(l.getAttribute('aria-label') ?? ''));
    expect(sections.map((l) => l.getAttribute('aria-label'))).toEqual(['Running tasks', 'Finished tasks']);

    await user.click(within(popover).getByRole('button', { name: 'Clear finished' }));
    expect(within(popover).queryByRole('list', { name: 'Finished tasks' })).not.toBeInTheDocument();
    expect(within(popover).getByRole('listitem', { name: 'Still going' })).toBeInTheDocument();

    // A reload lists the task again from the server; it stays cleared.
    unmount();
    const again = await openApp();
    const reopened = await openTray(again.user);
    await within(reopened).findByRole('listitem', { name: 'Still going' });
    expect(within(reopened).queryByText('Old and done')).not.toBeInTheDocument();
  });

  it('follows the disclosure and dialog patterns with the keyboard', async () => {
    createMockTask({ title: 'Keyboard task', messages: ['hello'], seq: 1 });
    const { user } = await openApp();
    const button = trayButton();
    expect(button).toHaveAttribute('aria-expanded', 'false');
    button.focus();
    await user.keyboard('{Enter}');
    const popover = await screen.findByRole('dialog', { name: 'Tasks' });
    expect(button).toHaveAttribute('aria-expanded', 'true');
    await waitFor(() => expect(popover.contains(document.activeElement)).toBe(true));

    // Ariakit returns focus only to an element it sees as visible, which takes layout jsdom does not do.
    Object.defineProperty(Element.prototype, 'checkVisibility', { configurable: true, value: () => true });
    onTestFinished(() => {
      delete (Element.prototype as { checkVisibility?: unknown }).checkVisibility;
    });

    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Tasks' })).not.toBeInTheDocument());
    await waitFor(() => expect(button).toHaveFocus());

    // Open a task into its detail view over the tray; Escape closes only the detail view, the tray stays open and
    // focus returns to the "Details" button that opened it. A second Escape then closes the tray.
    await user.keyboard('{Enter}');
    const reopened = await screen.findByRole('dialog', { name: 'Tasks' });
    const details = await within(reopened).findByRole('button', { name: 'Details of Keyboard task' });
    details.focus();
    await user.keyboard('{Enter}');
    const detail = await screen.findByRole('dialog', { name: 'Keyboard task' });
    expect(within(detail).getByRole('log', { name: 'Messages of Keyboard task' })).toHaveTextContent('hello');
    await waitFor(() => expect(detail.contains(document.activeElement)).toBe(true));
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Keyboard task' })).not.toBeInTheDocument());
    await waitFor(() => expect(details).toHaveFocus());
    expect(screen.getByRole('dialog', { name: 'Tasks' })).toBe(reopened);
    expect(button).toHaveAttribute('aria-expanded', 'true');

    // Closing the detail view with its Close button keeps the tray open too.
    await user.click(details);
    await user.click(within(await screen.findByRole('dialog', { name: 'Keyboard task' })).getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Keyboard task' })).not.toBeInTheDocument());
    await waitFor(() => expect(details).toHaveFocus());
    expect(screen.getByRole('dialog', { name: 'Tasks' })).toBe(reopened);

    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Tasks' })).not.toBeInTheDocument());
    await waitFor(() => expect(button).toHaveFocus());
  });

  it('links a title that names a job (as the provider titles its image pulls) to that job, in the tray and the detail view', async () => {
    createMockTask({ title: 'Pulling image acme/web:1.0 for job 4104' });
    createMockTask({ title: 'Copying files' });
    const { user } = await openApp();
    const popover = await openTray(user);
    const card = await within(popover).findByRole('listitem', { name: 'Pulling image acme/web:1.0 for job 4104' });
    const link = within(card).getByRole('link', { name: 'job 4104' });
    expect(link).toHaveAttribute('href', '/jobs/4104');
    const plain = within(popover).getByRole('listitem', { name: 'Copying files' });
    expect(within(plain).queryByRole('link')).not.toBeInTheDocument();

    await user.click(within(card).getByRole('button', { name: /^Details of Pulling image/ }));
    const detail = await screen.findByRole('dialog', { name: 'Pulling image acme/web:1.0 for job 4104' });
    expect(within(detail).getByRole('link', { name: 'job 4104' })).toHaveAttribute('href', '/jobs/4104');
    await user.click(within(detail).getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(screen.queryByRole('dialog', { name: /^Pulling image/ })).not.toBeInTheDocument());

    // Following the link opens the job's page and closes the tray.
    await user.click(within(popover).getByRole('link', { name: 'job 4104' }));
    expect(await screen.findByRole('heading', { level: 1, name: /shop-frontend/ })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Tasks' })).not.toBeInTheDocument());
  });

  it('opens a task the tray does not hold from ?task=<id>, as the server has it', async () => {
    const task = createMockTask({ title: 'Linked task', complete: true, seq: 2, messages: ['one', 'two'] });
    server.use(http.get('/api/tasks', () => HttpResponse.json({ itemsInTotal: 0, itemsPerPage: 100, pageNumber: 0, items: [] })));
    renderApp(`/jobs?task=${task.jobId}`);
    const detail = await screen.findByRole('dialog', { name: 'Linked task' });
    expect(within(detail).getByText('Complete')).toBeInTheDocument();
    expect(logLines(within(detail).getByRole('log'))).toEqual(['one', 'two']);
  });

  it('follows new lines at the end of the log, and stops following when the user scrolls up', async () => {
    // jsdom has no layout and no ResizeObserver. The log scrolls when the browser reports that its lines were laid
    // out at a new size; `laidOut()` plays the browser's part (e2e/tasks.spec.ts checks the same in Chromium).
    const observers: { callback: (entries: unknown[]) => void; targets: Set<Element> }[] = [];
    vi.stubGlobal(
      'ResizeObserver',
      class {
        private readonly entry: { callback: (entries: unknown[]) => void; targets: Set<Element> };
        constructor(callback: (entries: unknown[]) => void) {
          this.entry = { callback, targets: new Set() };
          observers.push(this.entry);
        }
        observe(target: Element) {
          this.entry.targets.add(target);
        }
        unobserve(target: Element) {
          this.entry.targets.delete(target);
        }
        disconnect() {
          this.entry.targets.clear();
        }
      },
    );
    onTestFinished(() => void vi.unstubAllGlobals());
    // Only the logs' observers: the popover's positioning (Floating UI) observes sizes too.
    const laidOut = () =>
      act(() => {
        for (const o of observers) {
          const lines = [...o.targets].filter((t) => t.classList.contains('message-log__lines'));
          if (lines.length > 0) o.callback(lines.map((target) => ({ target })));
        }
      });

    const task = createMockTask({ title: 'Chatty' });
    const { user } = await openApp();
    const popover = await openTray(user);
    const card = await within(popover).findByRole('listitem', { name: 'Chatty' });
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'line 1' }));
    const log = await within(card).findByRole('log');
    const lineCount = () => logLines(log).length;

    // Give the log a height, and a content height that grows with its lines.
    let scrollTop = 0;
    Object.defineProperty(log, 'clientHeight', { configurable: true, get: () => 100 });
    Object.defineProperty(log, 'scrollHeight', { configurable: true, get: () => 40 * lineCount() });
    Object.defineProperty(log, 'scrollTop', { configurable: true, get: () => scrollTop, set: (v: number) => (scrollTop = v) });

    act(() => {
      for (let i = 2; i <= 10; i++) postMockStatus({ jobId: task.jobId, messageToAppend: `line ${i}` });
    });
    await waitFor(() => expect(lineCount()).toBe(10));
    laidOut();
    expect(scrollTop).toBe(400);

    // The user scrolls up to read.
    scrollTop = 100;
    fireEvent.scroll(log);
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'line 11' }));
    await waitFor(() => expect(lineCount()).toBe(11));
    laidOut();
    expect(scrollTop).toBe(100);

    await user.click(within(card).getByRole('button', { name: 'Jump to latest' }));
    expect(scrollTop).toBe(440);
    act(() => void postMockStatus({ jobId: task.jobId, messageToAppend: 'line 12' }));
    await waitFor(() => expect(lineCount()).toBe(12));
    laidOut();
    expect(scrollTop).toBe(480);
  });
});
