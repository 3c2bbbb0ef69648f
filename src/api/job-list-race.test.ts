import { QueryClient } from '@tanstack/react-query';
import { http, HttpResponse } from 'msw';
import { afterEach, describe, expect, it } from 'vitest';
import { jobKeys, jobsQueries, type JobListData, type JobListFilters } from '@/api/jobs';
import { jobChanged } from '@/api/jobs-live';
import type { Job, PageV2 } from '@/api/types';
import { makeJob, spec } from '@/mocks/fixtures';
import { server } from '@/mocks/node';

// A list read and a socket event for the same job, racing through a real QueryClient: the read leaves the server
// before the event's change is written, and its answer arrives after the event reached the cache.

const NOW = 1_700_000_000_000;
const base = makeJob('7', spec({ application: { name: 'acme-batch', version: '1.0.0' }, name: 'racer' }), 'RUNNING', NOW, 60_000);
const running: Job = { ...base, status: { ...base.status, version: 2 } };
const terminated: Job = {
  ...base,
  status: { ...base.status, state: 'SUCCESS', version: 3 },
  updates: [{ state: 'SUCCESS', status: 'Terminated by user', outputFolder: null, expectedState: null, expectedDifferentState: null, newTimeAllocation: null, timestamp: NOW + 1 }],
};
const other = makeJob('5', spec({ application: { name: 'acme-batch', version: '1.0.0' }, name: 'bystander' }), 'RUNNING', NOW, 120_000);

/** Answers /api/jobs/browse with `pages[i]` for the i-th read; a read waits for `release(i)` once it has arrived. */
function browseServer(pages: Job[][]) {
  const arrived: (() => void)[] = [];
  const gates = pages.map(() => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    return { gate, open };
  });
  const arrivals = pages.map((_, i) => new Promise<void>((resolve) => (arrived[i] = resolve)));
  let reads = 0;
  server.use(
    http.get('/api/jobs/browse', async () => {
      const i = reads++;
      const items = pages[i] ?? pages.at(-1)!;
      arrived[i]?.();
      await gates[i]?.gate;
      return HttpResponse.json<PageV2<Job>>({ items, itemsPerPage: 250, next: null });
    }),
  );
  return { arrived: (i: number) => arrivals[i]!, release: (i: number) => gates[i]!.open() };
}

const clients: QueryClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.clear();
});

function rows(client: QueryClient, filters: JobListFilters) {
  return client.getQueryData<JobListData>(jobKeys.list(filters))?.pages.flatMap((p) => p.items.map((j) => [j.id, j.status.state]));
}

describe('a job list read that races a socket event', () => {
  const filters: JobListFilters = {};

  async function listLoaded(pages: Job[][]) {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    clients.push(client);
    const browse = browseServer(pages);
    browse.release(0);
    await client.fetchInfiniteQuery(jobsQueries.list(filters));
    expect(rows(client, filters)).toEqual([['7', 'RUNNING'], ['5', 'RUNNING']]);
    return { client, browse };
  }

  it('keeps the newer state the event brought when the older read answers after it', async () => {
    // The refetch (a reconnect's, a window focus') is read while job 7 still runs; the terminate lands meanwhile.
    const { client, browse } = await listLoaded([[running, other], [running, other]]);
    const refetch = client.fetchInfiniteQuery({ ...jobsQueries.list(filters), staleTime: 0 });
    await browse.arrived(1);
    jobChanged(client, terminated);
    expect(rows(client, filters)).toEqual([['7', 'SUCCESS'], ['5', 'RUNNING']]);
    browse.release(1);
    await refetch;
    expect(rows(client, filters)).toEqual([['7', 'SUCCESS'], ['5', 'RUNNING']]);
    const row = client.getQueryData<JobListData>(jobKeys.list(filters))?.pages[0]?.items[0];
    expect(row?.status.version).toBe(3);
    expect(row?.updates.at(-1)?.status).toBe('Terminated by user');
  });

  it('takes a read that is newer than the event, whichever arrives last', async () => {
    const expired: Job = { ...terminated, status: { ...terminated.status, state: 'EXPIRED', version: 4 } };
    const { client, browse } = await listLoaded([[running, other], [expired, other]]);
    const refetch = client.fetchInfiniteQuery({ ...jobsQueries.list(filters), staleTime: 0 });
    await browse.arrived(1);
    jobChanged(client, terminated);
    browse.release(1);
    await refetch;
    expect(rows(client, filters)).toEqual([['7', 'EXPIRED'], ['5', 'RUNNING']]);
    // And an event older than what the read brought changes nothing.
    jobChanged(client, running);
    expect(rows(client, filters)).toEqual([['7', 'EXPIRED'], ['5', 'RUNNING']]);
  });
});
