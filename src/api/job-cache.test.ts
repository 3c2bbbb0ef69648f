import { describe, expect, it } from 'vitest';
import {
  appendUpdates,
  applyFollowUpdate,
  keepNewer,
  mergeJob,
  upsertJobInPages,
  upsertConnectedJob,
  upsertRunningJob,
} from '@/api/job-cache';
import type { Job, JobUpdate } from '@/api/types';
import { makeJob, spec } from '@/mocks/fixtures';

const NOW = 1_700_000_000_000;
const job = (id: string, state: Job['status']['state'] = 'RUNNING', app = 'acme-batch') =>
  makeJob(id, spec({ application: { name: app, version: '1.0.0' } }), state, NOW, 60_000);
const update = (timestamp: number, partial: Partial<JobUpdate> = {}): JobUpdate => ({
  state: null,
  status: null,
  outputFolder: null,
  expectedState: null,
  expectedDifferentState: null,
  newTimeAllocation: null,
  timestamp,
  ...partial,
});

describe('job cache merges', () => {
  it('keeps a socket event that landed while a REST read was on its way, and takes reads that are as new or newer', () => {
    const running = update(NOW + 1, { state: 'RUNNING', status: 'Started' });
    const connected = update(NOW + 1, { status: "Connected to job 18 as 'db'" });
    const success = update(NOW + 400, { state: 'SUCCESS', status: 'Terminated by user' });
    const base = job('19', 'RUNNING');
    // The read was answered before SUCCESS was written; the socket's SUCCESS is already in the cache.
    const stale = { ...base, updates: [running, connected] };
    const cached = { ...base, status: { ...base.status, state: 'SUCCESS' as const }, updates: [running, connected, success] };
    const kept = keepNewer(cached, stale);
    expect(kept.status.state).toBe('SUCCESS');
    expect(kept.updates).toEqual([running, connected, success]);

    // A read that knows everything the cache knows, or more, wins whole.
    const later = update(NOW + 500, { status: 'Cleaned up' });
    const fresher = { ...base, status: { ...base.status, state: 'SUCCESS' as const }, updates: [running, connected, success, later] };
    expect(keepNewer(cached, fresher)).toEqual(fresher);
    const sameTime = { ...cached, status: { ...cached.status, expiresAt: NOW + 1 } };
    expect(keepNewer(cached, sameTime).status.expiresAt).toBe(NOW + 1);
    // Nothing cached, or another job's entry: the read as it is.
    expect(keepNewer(undefined, stale)).toBe(stale);
    expect(keepNewer({ ...cached, id: '20' }, stale)).toBe(stale);
  });

  it('appends updates once, in time order', () => {
    const a = update(1, { status: 'a' });
    const b = update(2, { status: 'b' });
    const merged = appendUpdates([a], [b, a]);
    expect(merged).toEqual([a, b]);
    expect(appendUpdates(merged, [a, b])).toBe(merged);
  });

  it('applies a follow message: updates appended, new status taken, or state from the last update', () => {
    const j = job('1', 'IN_QUEUE');
    const next = applyFollowUpdate(j, [update(NOW + 1, { state: 'RUNNING', status: 'go' })], null);
    expect(next.status.state).toBe('RUNNING');
    expect(next.updates.at(-1)?.status).toBe('go');
    const withStatus = applyFollowUpdate(next, [], { ...next.status, state: 'SUCCESS' });
    expect(withStatus.status.state).toBe('SUCCESS');
  });

  it('keeps the richer history when an event carries no updates', () => {
    const full = job('1');
    const bare = { ...full, updates: [], status: { ...full.status, state: 'SUCCESS' as const } };
    const merged = mergeJob(full, bare);
    expect(merged.status.state).toBe('SUCCESS');
    expect(merged.updates).toEqual(full.updates);
  });

  it('updates a listed job in place and adds new matching jobs at the top of a newest-first list', () => {
    const data = { pages: [{ items: [job('2'), job('1')], itemsPerPage: 2, next: 'x' }], pageParams: [null] };
    const changed = upsertJobInPages(data, job('1', 'FAILURE'), { sortDirection: 'descending' });
    expect(changed?.pages[0]?.items.map((j) => [j.id, j.status.state])).toEqual([
      ['2', 'RUNNING'],
      ['1', 'FAILURE'],
    ]);
    const added = upsertJobInPages(data, job('3'), { sortDirection: 'descending' });
    expect(added?.pages[0]?.items.map((j) => j.id)).toEqual(['3', '2', '1']);
    const filteredOut = upsertJobInPages(data, job('3', 'RUNNING', 'acme-web-app'), { filterApplication: 'acme-batch' });
    expect(filteredOut).toBe(data);
    const ascendingNotLast = upsertJobInPages(data, job('3'), { sortDirection: 'ascending' });
    expect(ascendingNotLast).toBe(data);
  });

  it('in other sort orders, updates known rows in place and leaves new jobs to the server', () => {
    const data = { pages: [{ items: [job('2'), job('1')], itemsPerPage: 2, next: null }], pageParams: [null] };
    const byState = { sortBy: 'state' as const, sortDirection: 'ascending' as const };
    const changed = upsertJobInPages(data, job('2', 'SUCCESS'), byState);
    expect(changed?.pages[0]?.items.map((j) => [j.id, j.status.state])).toEqual([
      ['2', 'SUCCESS'],
      ['1', 'RUNNING'],
    ]);
    expect(upsertJobInPages(data, job('3'), byState)).toBe(data);
    expect(upsertJobInPages(data, job('3'), { sortBy: 'name', sortDirection: 'descending' })).toBe(data);
    expect(upsertJobInPages(data, job('3'), { sortBy: 'createdAt', sortDirection: 'descending' })?.pages[0]?.items[0]?.id).toBe('3');
  });

  it('adds a job that newly connects to a followed job, and updates known ones', () => {
    const db = job('1');
    const web = makeJob('2', spec({ application: { name: 'acme-web-app', version: '1.0.0' }, resources: [{ type: 'peer', hostname: 'database', jobId: '1' }] }), 'IN_QUEUE', NOW, 0);
    const data = { items: [] };
    const added = upsertConnectedJob(data, web, db.id);
    expect(added?.items.map((c) => [c.hostname, c.job.id])).toEqual([['database', '2']]);
    const running = { ...web, status: { ...web.status, state: 'RUNNING' as const } };
    expect(upsertConnectedJob(added, running, db.id)?.items[0]?.job.status.state).toBe('RUNNING');
    expect(upsertConnectedJob(data, job('3'), db.id)).toBe(data);
  });

  it('keeps the running list exact', () => {
    const data = { items: [job('1')], itemsPerPage: 1000, next: null };
    expect(upsertRunningJob(data, job('2'))?.items.map((j) => j.id)).toEqual(['2', '1']);
    expect(upsertRunningJob(data, job('1', 'SUCCESS'))?.items).toEqual([]);
    expect(upsertRunningJob(data, job('3', 'SUCCESS'))).toBe(data);
  });
});
