import { describe, expect, it } from 'vitest';
import type { Job } from '@/api/types';
import { makeJob, spec } from '@/mocks/fixtures';
import {
  addNotification,
  jobNotification,
  markAllRead,
  markRead,
  mergeNotifications,
  NOTIFICATION_LIMIT,
  parseStoredNotifications,
  taskNotification,
  type AppNotification,
} from '@/features/notifications/notification-model';

const NOW = 1_700_000_000_000;

function n(id: string, at = NOW, read = false): AppNotification {
  return { id, kind: 'job-finished', title: id, body: '', target: { type: 'job', id }, at, read };
}

function job(state: Job['status']['state'], startedAgoMs: number | null = 1_000): Job {
  const j = makeJob('77', spec({ application: { name: 'acme-batch', version: '1.0' }, name: 'nightly' }), state, NOW, 60_000);
  return { ...j, status: { ...j.status, state, startedAt: startedAgoMs === null ? null : NOW - startedAgoMs } };
}

describe('notification model', () => {
  it('adds newest first and ignores an id it already has', () => {
    const one = addNotification([], n('a'));
    const two = addNotification(one, n('b'));
    expect(two.map((x) => x.id)).toEqual(['b', 'a']);
    expect(addNotification(two, n('a'))).toBe(two);
  });

  it('keeps a bounded list', () => {
    let list: readonly AppNotification[] = [];
    for (let i = 0; i < NOTIFICATION_LIMIT + 10; i++) list = addNotification(list, n(`id${i}`, NOW + i));
    expect(list).toHaveLength(NOTIFICATION_LIMIT);
    expect(list[0]!.id).toBe(`id${NOTIFICATION_LIMIT + 9}`);
  });

  it('marks read one or all, returning the same list when nothing changes', () => {
    const list = [n('a'), n('b')];
    const one = markRead(list, 'a');
    expect(one.map((x) => x.read)).toEqual([true, false]);
    expect(markRead(one, 'a')).toBe(one);
    const all = markAllRead(one);
    expect(all.every((x) => x.read)).toBe(true);
    expect(markAllRead(all)).toBe(all);
  });

  it('merges two tabs’ lists by id, read winning', () => {
    const merged = mergeNotifications([n('a', NOW, true), n('b', NOW + 1)], [n('a', NOW, false), n('c', NOW + 2)]);
    expect(merged.map((x) => [x.id, x.read])).toEqual([
      ['c', false],
      ['b', false],
      ['a', true],
    ]);
  });

  it('reads stored data defensively', () => {
    expect(parseStoredNotifications(null)).toEqual({ items: [], desktop: false });
    expect(parseStoredNotifications('not json')).toEqual({ items: [], desktop: false });
    const raw = JSON.stringify({ items: [n('ok'), { id: 5 }, { ...n('bad'), target: { type: 'file', id: 'x' } }], desktop: true });
    expect(parseStoredNotifications(raw)).toEqual({ items: [n('ok')], desktop: true });
  });

  it('names task completions and failures', () => {
    expect(taskNotification({ jobId: 't1', title: 'We are counting to 3', outcome: 'complete', status: null }, NOW)).toMatchObject({
      id: 'task:t1:done',
      kind: 'task-complete',
      title: 'We are counting to 3',
      body: 'Task complete',
      target: { type: 'task', id: 't1' },
    });
    expect(taskNotification({ jobId: 't1', title: 'Copy', outcome: 'failed', status: 'Failed: disk full' }, NOW).body).toBe('Task failed: Failed: disk full');
  });

  it('turns job state changes into events, one id per job and state', () => {
    expect(jobNotification(job('SUCCESS'), 'RUNNING', NOW)).toMatchObject({ id: 'job:77:SUCCESS', kind: 'job-finished', title: 'nightly finished' });
    expect(jobNotification(job('FAILURE'), undefined, NOW)).toMatchObject({ kind: 'job-failed', target: { type: 'job', id: '77' } });
    expect(jobNotification(job('EXPIRED'), 'RUNNING', NOW)).toMatchObject({ kind: 'job-expired' });
    expect(jobNotification(job('RUNNING'), 'IN_QUEUE', NOW)).toMatchObject({ kind: 'job-started', title: 'nightly started' });
  });

  it('ignores repeats of a state, queued jobs, and jobs first seen running long after they started', () => {
    expect(jobNotification(job('RUNNING'), 'RUNNING', NOW)).toBeNull();
    expect(jobNotification(job('IN_QUEUE'), undefined, NOW)).toBeNull();
    expect(jobNotification(job('RUNNING', 3_600_000), undefined, NOW)).toBeNull();
    expect(jobNotification(job('RUNNING', 5_000), undefined, NOW)).not.toBeNull();
  });
});
