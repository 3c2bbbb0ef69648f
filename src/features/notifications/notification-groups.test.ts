import { describe, expect, it } from 'vitest';
import { GROUP_GAP_MS, groupNotifications, unreadEntries } from '@/features/notifications/notification-groups';
import type { AppNotification, NotificationKind } from '@/features/notifications/notification-model';

const NOW = 1_700_000_000_000;

function n(id: string, kind: NotificationKind, at: number, read = false): AppNotification {
  const target = kind.startsWith('task') ? ({ type: 'task', id } as const) : ({ type: 'job', id } as const);
  return { id, kind, title: id, body: '', target, at, read };
}

const shape = (list: AppNotification[]) =>
  groupNotifications(list).map((e) => (e.type === 'group' ? [e.title, e.items.map((i) => i.id)] : e.item.id));

describe('grouping notifications', () => {
  it('groups job notifications of one kind close together, even with others between them', () => {
    const list = [
      n('c', 'job-finished', NOW),
      n('t', 'task-complete', NOW - 1_000),
      n('b', 'job-finished', NOW - 2_000),
      n('x', 'job-failed', NOW - 3_000),
      n('a', 'job-finished', NOW - 4_000),
    ];
    expect(shape(list)).toEqual([['3 jobs finished', ['c', 'b', 'a']], 't', 'x']);
  });

  it('starts a new group after a gap longer than GROUP_GAP_MS, chaining within it', () => {
    const list = [
      n('d', 'job-started', NOW),
      n('c', 'job-started', NOW - GROUP_GAP_MS),
      n('b', 'job-started', NOW - 2 * GROUP_GAP_MS),
      n('a', 'job-started', NOW - 3 * GROUP_GAP_MS - 1),
    ];
    expect(shape(list)).toEqual([['3 jobs started', ['d', 'c', 'b']], 'a']);
  });

  it('never groups task notifications', () => {
    expect(shape([n('t2', 'task-complete', NOW), n('t1', 'task-complete', NOW - 1)])).toEqual(['t2', 't1']);
  });

  it('counts an entry as unread while any of its notifications is', () => {
    const list = [n('b', 'job-finished', NOW, true), n('a', 'job-finished', NOW - 1), n('t', 'task-failed', NOW - 2, true)];
    expect(unreadEntries(list)).toBe(1);
    expect(unreadEntries(list.map((i) => ({ ...i, read: true })))).toBe(0);
  });
});
