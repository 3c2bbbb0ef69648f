import { act, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { JobListData } from '@/api/jobs';
import { applyUpdate } from '@/mocks/db';
import { hasOpenStream, mockWireLog } from '@/mocks/handlers';
import { hasTaskListener, resetMockTasks } from '@/mocks/tasks';
import { renderApp } from '@/test/render';

/** Renders the app at `path` and waits until the shell's feeds and both lazily loaded top-bar widgets are up. */
async function openApp(path: string) {
  resetMockTasks();
  const utils = renderApp(path);
  await screen.findByRole('heading', { level: 1 });
  await waitFor(() => expect(hasOpenStream('jobs.listen')).toBe(true));
  await waitFor(() => expect(hasTaskListener()).toBe(true));
  await screen.findByRole('button', { name: /^Notifications,/ });
  await screen.findByRole('button', { name: /^Tasks,/ });
  return utils;
}

describe('the live layer', () => {
  it('opens one socket per tab, with one stream per feed, and a job event updates the list once and notifies once', async () => {
    const { queryClient } = await openApp('/jobs');
    await screen.findByRole('table', { name: 'Jobs' });

    const listWrites: JobListData[] = [];
    const off = queryClient.getQueryCache().subscribe((event) => {
      if (event.type !== 'updated' || event.action.type !== 'success' || !event.action.manual) return;
      if (event.query.meta?.listFilters) listWrites.push(event.action.data as JobListData);
    });

    // cache-store: no other job connects to it, so its end changes no other job.
    act(() => void applyUpdate('4106', { state: 'EXPIRED', status: 'Your job ran out of time' }));
    // A later event on the same socket: once it is in the list, everything sent before it has arrived too.
    act(() => void applyUpdate('4102', { status: 'Compacting' }));
    const rows = (data: JobListData) => data.pages.flatMap((p) => p.items);
    await waitFor(() => expect(listWrites.some((d) => rows(d).some((j) => j.id === '4102' && j.updates.some((u) => u.status === 'Compacting')))).toBe(true));
    off();

    expect(mockWireLog()).toEqual({ sockets: ['/api/jobs'], calls: expect.arrayContaining(['jobs.listen', 'tasks.listen']) });
    expect([...mockWireLog().calls].sort()).toEqual(['jobs.listen', 'tasks.listen']);
    // One write per event: the end, then the barrier.
    expect(listWrites).toHaveLength(2);
    expect(rows(listWrites[0]!).find((j) => j.id === '4106')?.status.state).toBe('EXPIRED');

    const bell = screen.getByRole('button', { name: /^Notifications,/ });
    expect(bell).toHaveAccessibleName('Notifications, 1 unread');
    const toasts = screen.getByRole('status', { name: 'Recent notifications' });
    expect(within(toasts).getAllByRole('link')).toHaveLength(1);
  });

  it('follows an open job page on the same socket', async () => {
    await openApp('/jobs/4101');
    await waitFor(() => expect(hasOpenStream('jobs.follow', '4101')).toBe(true));
    expect(mockWireLog().sockets).toEqual(['/api/jobs']);
    expect([...mockWireLog().calls].sort()).toEqual(['jobs.follow', 'jobs.listen', 'tasks.listen']);
  });
});
