import { describe, expect, it } from 'vitest';
import {
  appendUpdates,
  applyFollowUpdate,
  compareJobAge,
  foldListRead,
  foldPageRead,
  mergeJob,
  upsertJobInPages,
  upsertConnectedJob,
  upsertRunningJob,
} from '@/api/job-cache';
import { EMPTY_JOB_UPDATE } from '@contract/constants';
import type { Job, JobUpdate } from '@/api/types';
import { makeJob, spec } from '@/mocks/fixtures';

const NOW = 1_700_000_000_000;
const job = (id: string, state: Job['status']['state'] = 'RUNNING', app = 'acme-batch') =>
  makeJob(id, spec({ application: { name: app, version: '1.0.0' } }), state, NOW, 60_000);
const update = (timestamp: number, partial: Partial<JobUpdate> = {}): JobUpdate => ({ ...EMPTY_JOB_UPDATE, timestamp, ...partial });

/** A job as a server with versions sends it: `status.version` set. */
const at = (j: Job, version: number, changes: Partial<Job['status']> = {}, updates = j.updates): Job => ({
  ...j,
  updates,
  status: { ...j.status, ...changes, version },
});

describe('mergeJob: two copies of one job, by version', () => {
  const running = update(NOW + 1, { state: 'RUNNING', status: 'Started' });
  const success = update(NOW + 400, { state: 'SUCCESS', status: 'Terminated by user' });
  const base = job('19', 'RUNNING');
  // The REST read was answered at version 2; the socket's event (version 3) carries only the update it appended.
  const read = at(base, 2, { state: 'RUNNING' }, [running]);
  const event = at(base, 3, { state: 'SUCCESS' }, [success]);

  it('ends at the higher version whichever copy arrives first, with the updates of both', () => {
    const readFirst = mergeJob(mergeJob(undefined, read), event);
    const eventFirst = mergeJob(mergeJob(undefined, event), read);
    for (const merged of [readFirst, eventFirst]) {
      expect(merged.status).toEqual(event.status);
      expect(merged.updates).toEqual([running, success]);
    }
    expect(eventFirst).toEqual(readFirst);
  });

  it('returns the cached copy itself for an older copy that adds no update', () => {
    const cached = at(base, 3, { state: 'SUCCESS' }, [running, success]);
    expect(mergeJob(cached, read)).toBe(cached);
    expect(compareJobAge(cached, read)).toBe(1);
    expect(compareJobAge(read, cached)).toBe(-1);
  });

  it('is idempotent at equal versions, and takes the incoming fields on a tie', () => {
    const once = mergeJob(read, event);
    expect(mergeJob(once, event)).toEqual(once);
    expect(mergeJob(mergeJob(once, once), once)).toEqual(once);
    // Same version, read with its parameters: the incoming copy's fields.
    const bare = { ...event, specification: { ...event.specification, parameters: null } };
    expect(mergeJob(bare, event).specification).toEqual(event.specification);
    expect(compareJobAge(event, bare)).toBe(0);
  });

  it('another job, or nothing cached: the incoming copy as it is', () => {
    expect(mergeJob(undefined, read)).toBe(read);
    expect(mergeJob({ ...event, id: '20' }, read)).toBe(read);
  });

  it('without versions (an older server) the copy with the later update is the newer; a copy without updates tells nothing', () => {
    const connected = update(NOW + 1, { status: "Connected to job 18 as 'db'" });
    const stale = { ...base, updates: [running, connected] };
    const cached = { ...base, status: { ...base.status, state: 'SUCCESS' as const }, updates: [running, connected, success] };
    const kept = mergeJob(cached, stale);
    expect(kept.status.state).toBe('SUCCESS');
    expect(kept.updates).toEqual([running, connected, success]);
    // A copy that knows everything the cache knows, or more, wins whole.
    const later = update(NOW + 500, { status: 'Cleaned up' });
    const fresher = { ...cached, updates: [running, connected, success, later] };
    expect(mergeJob(cached, fresher)).toEqual(fresher);
    const sameTime = { ...cached, status: { ...cached.status, expiresAt: NOW + 1 } };
    expect(mergeJob(cached, sameTime).status.expiresAt).toBe(NOW + 1);
    // Only one copy with a version (a server upgraded meanwhile): the same rule.
    expect(mergeJob(at(cached, 7), stale).status.state).toBe('SUCCESS');
    expect(compareJobAge(at(cached, 7), { ...stale, updates: [] })).toBe(0);
  });
});

describe('job cache merges', () => {
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

  it('a job that starts to match the filters joins the list in its place; one that stops matching leaves it', () => {
    const running = { filterState: 'RUNNING' as const, sortDirection: 'descending' as const };
    const data = { pages: [{ items: [job('9'), job('5')], itemsPerPage: 250, next: null }], pageParams: [null] };
    // Job 7 was queued (not in the list); it starts running: it goes between 9 and 5, by creation.
    const started = upsertJobInPages(data, job('7', 'RUNNING'), running);
    expect(started?.pages[0]?.items.map((j) => j.id)).toEqual(['9', '7', '5']);
    // Job 9 finishes: it no longer matches State = Running.
    const finished = upsertJobInPages(started, job('9', 'SUCCESS'), running);
    expect(finished?.pages[0]?.items.map((j) => j.id)).toEqual(['7', '5']);
    // A job that still does not match stays out.
    expect(upsertJobInPages(finished, job('8', 'IN_QUEUE'), running)).toBe(finished);
    // A search: a job whose name does not contain the text stays out.
    const searched = upsertJobInPages(data, job('6'), { filterQuery: 'no-such-name' });
    expect(searched).toBe(data);
  });

  it('in other sort orders, places a newly matching job among the loaded rows, naturally by name', () => {
    const named = (id: string, name: string | null, state: Job['status']['state'] = 'RUNNING') => {
      const j = job(id, state);
      return { ...j, specification: { ...j.specification, name } };
    };
    const byName = { sortBy: 'name' as const, sortDirection: 'ascending' as const, filterState: 'RUNNING' as const };
    const data = { pages: [{ items: [named('1', 'batch-2'), named('2', 'batch-102'), named('3', null)], itemsPerPage: 250, next: null }], pageParams: [null] };
    const placed = upsertJobInPages(data, named('4', 'batch-12'), byName);
    expect(placed?.pages[0]?.items.map((j) => j.specification.name)).toEqual(['batch-2', 'batch-12', 'batch-102', null]);
    const descending = upsertJobInPages(
      { pages: [{ items: [named('2', 'batch-102'), named('1', 'batch-2'), named('3', null)], itemsPerPage: 250, next: null }], pageParams: [null] },
      named('4', 'batch-12'),
      { ...byName, sortDirection: 'descending' },
    );
    // Descending, nameless jobs still come last.
    expect(descending?.pages[0]?.items.map((j) => j.specification.name)).toEqual(['batch-102', 'batch-12', 'batch-2', null]);
    // Past the last loaded row while more pages remain: left to the page it belongs to.
    const partial = { pages: [{ items: [named('1', 'a-1'), named('2', 'a-2')], itemsPerPage: 2, next: 'token' }], pageParams: [null] };
    expect(upsertJobInPages(partial, named('5', 'z'), byName)).toBe(partial);
    // By state: a RUNNING job goes after the queued ones.
    const byState = { sortBy: 'state' as const, sortDirection: 'ascending' as const };
    const states = { pages: [{ items: [job('1', 'IN_QUEUE'), job('2', 'SUCCESS')], itemsPerPage: 250, next: null }], pageParams: [null] };
    expect(upsertJobInPages(states, job('3', 'RUNNING'), byState)?.pages[0]?.items.map((j) => j.id)).toEqual(['1', '3', '2']);
    // A known row changes in place, even when its new state would sort elsewhere.
    expect(upsertJobInPages(states, job('1', 'FAILURE'), byState)?.pages[0]?.items.map((j) => [j.id, j.status.state])).toEqual([
      ['1', 'FAILURE'],
      ['2', 'SUCCESS'],
    ]);
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

describe('the cache never goes back to an older version of a job', () => {
  const page = (items: Job[], next: string | null = null) => ({ items, itemsPerPage: 250, next });
  const list = (...pages: ReturnType<typeof page>[]) => ({ pages, pageParams: pages.map((_, i) => (i === 0 ? null : String(i))) });
  const success = update(NOW + 400, { state: 'SUCCESS', status: 'Terminated by user' });
  const v2 = at(job('7'), 2);
  const v3 = at(job('7'), 3, { state: 'SUCCESS' }, [...job('7').updates, success]);

  it('a list read older than the cached row keeps the row; a read as new or newer is taken', () => {
    const cached = list(page([job('9'), v3]));
    const stale = list(page([job('9'), v2]));
    const folded = foldListRead(cached, stale, {});
    expect(folded.pages[0]?.items.map((j) => [j.id, j.status.state, j.status.version ?? null])).toEqual([
      ['9', 'RUNNING', null],
      ['7', 'SUCCESS', 3],
    ]);
    const v4 = at(v3, 4, { state: 'SUCCESS' });
    const newer = list(page([job('9'), v4]));
    expect(foldListRead(cached, newer, {})).toBe(newer);
    expect(foldListRead(cached, list(page([job('9'), v3])), {}).pages[0]?.items[1]).toEqual(v3);
    expect(foldListRead(undefined, stale, {})).toBe(stale);
  });

  it('a row on any loaded page counts, and one whose newer copy left the filters leaves the read', () => {
    const running = { filterState: 'RUNNING' as const };
    const cached = list(page([job('9')], '1'), page([v3]));
    const stale = list(page([job('9')], '1'), page([v2]));
    expect(foldListRead(cached, stale, running).pages.map((p) => p.items.map((j) => j.id))).toEqual([['9'], []]);
    expect(foldListRead(cached, stale, {}).pages[1]?.items[0]?.status.state).toBe('SUCCESS');
    // The picker's RUNNING list, one page.
    expect(foldPageRead(page([v3]), page([v2]), running).items).toEqual([]);
    const fresh = page([at(v2, 5, { state: 'RUNNING' })]);
    expect(foldPageRead(page([v3]), fresh, running)).toBe(fresh);
  });

  it('an event older than the listed row changes nothing', () => {
    const data = list(page([job('9'), v3]));
    expect(upsertJobInPages(data, v2, {})).toBe(data);
    expect(upsertJobInPages(data, v2, { filterState: 'SUCCESS' })).toBe(data);
    const runningList = page([at(job('7'), 3)]);
    expect(upsertRunningJob(runningList, at(job('7'), 2, { state: 'SUCCESS' }))).toBe(runningList);
    expect(upsertRunningJob(runningList, at(job('7'), 4, { state: 'SUCCESS' }))?.items).toEqual([]);
  });

  it('a follow message with an older status joins its updates and keeps the newer status; a newer one sets the output folder', () => {
    const output = update(NOW + 450, { outputFolder: '/out/7', status: 'Output ready' });
    const late = applyFollowUpdate(v3, [output], { ...v2.status });
    expect(late.status).toEqual(v3.status);
    expect(late.updates.at(-1)).toEqual(output);
    expect(applyFollowUpdate(v3, [], { ...v2.status })).toBe(v3);
    const current = applyFollowUpdate(v3, [output], { ...v3.status, version: 4 });
    expect(current.status.version).toBe(4);
    expect(current.output).toEqual({ outputFolder: '/out/7' });
  });
});
