import type { InfiniteData } from '@tanstack/react-query';
import type { ConnectedJob, Job, JobStatus, JobUpdate, JobsBrowseParams, PageV2 } from '@/api/types';
import { compareCodePoints, naturalKey } from '@/lib/natural';

/*
 * Pure functions that fold live socket events into cached server state. They
 * never mutate their input, and return the same object when nothing changed so
 * react-query does not re-render subscribers for no reason.
 */

function updateKey(u: JobUpdate): string {
  return `${u.timestamp}|${u.state ?? ''}|${u.status ?? ''}|${u.newTimeAllocation ?? ''}`;
}

export function appendUpdates(existing: JobUpdate[], incoming: JobUpdate[]): JobUpdate[] {
  if (incoming.length === 0) return existing;
  const seen = new Set(existing.map(updateKey));
  const fresh = incoming.filter((u) => !seen.has(updateKey(u)));
  if (fresh.length === 0) return existing;
  return [...existing, ...fresh].sort((a, b) => a.timestamp - b.timestamp);
}

/**
 * A job event carries only the updates its change appended (`jobs.listen`), or none (a list read without updates):
 * add them to the history the cache holds, never replace it.
 */
export function mergeJob(prev: Job | undefined, next: Job): Job {
  if (!prev) return next;
  return { ...next, updates: appendUpdates(prev.updates, next.updates) };
}

function lastUpdateAt(job: Job): number {
  let last = 0;
  for (const u of job.updates) if (u.timestamp > last) last = u.timestamp;
  return last;
}

/**
 * A job read over REST, folded into what the cache already holds. The read can be older than a socket event that
 * landed while it was on its way (a terminate's refetch, answered just before the provider's SUCCESS was written
 * but arriving after it): then the cached state stays, and the read adds only updates the cache lacked. The socket
 * will not send that SUCCESS again, so taking the read whole would leave the page on "Running" for good.
 */
export function keepNewer(cached: Job | undefined, fetched: Job): Job {
  if (!cached || cached.id !== fetched.id) return fetched;
  if (lastUpdateAt(cached) <= lastUpdateAt(fetched)) return mergeJob(cached, fetched);
  return { ...fetched, status: cached.status, updates: appendUpdates(fetched.updates, cached.updates) };
}

/** Applies one `jobs.follow` message after the initial job. */
export function applyFollowUpdate(job: Job, updates: JobUpdate[], newStatus: JobStatus | null): Job {
  const merged = appendUpdates(job.updates, updates);
  let status = newStatus ?? job.status;
  if (!newStatus) {
    const lastState = [...updates].reverse().find((u) => u.state != null)?.state;
    if (lastState && lastState !== status.state) status = { ...status, state: lastState };
  }
  if (merged === job.updates && status === job.status) return job;
  return { ...job, updates: merged, status };
}

/** Does the job pass the list's filters? The server's rules (server/jobs/service.ts browse), on one job. */
export function matchesFilters(job: Job, filters: JobsBrowseParams): boolean {
  if (filters.filterState && job.status.state !== filters.filterState) return false;
  if (filters.filterApplication && job.specification.application.name !== filters.filterApplication) return false;
  const query = filters.filterQuery?.trim();
  if (query) {
    const byName = (job.specification.name ?? '').toLowerCase().includes(query.toLowerCase());
    const byId = /^#?[0-9]{1,18}$/.test(query) && Number(query.replace('#', '')) === Number(job.id);
    if (!byName && !byId) return false;
  }
  return true;
}

const STATE_ORDER: readonly string[] = ['IN_QUEUE', 'RUNNING', 'SUSPENDED', 'SUCCESS', 'FAILURE', 'EXPIRED'];
type SortKey = (number | string)[];
const modifiedAt = (job: Job) => job.updates.reduce((last, u) => Math.max(last, u.timestamp), job.createdAt);

/**
 * Each order's key, as the server's ORDER BY (server/jobs/sort.ts) builds it; the first element of `name` and
 * `expiresAt` is the "none last" flag, which does not flip with the direction. Ties end with the id.
 */
const SORT_KEY: Record<NonNullable<JobsBrowseParams['sortBy']>, (job: Job) => SortKey> = {
  createdAt: () => [],
  name: (j) => [j.specification.name ? 0 : 1, naturalKey(j.specification.name ?? '')],
  application: (j) => [j.specification.application.name, j.specification.application.version],
  state: (j) => [STATE_ORDER.indexOf(j.status.state)],
  lastUpdate: (j) => [modifiedAt(j)],
  expiresAt: (j) => [j.status.expiresAt == null ? 1 : 0, j.status.expiresAt ?? 0],
  timeLeft: (j) => [j.status.expiresAt == null ? 1 : 0, j.status.expiresAt ?? 0],
  createdBy: (j) => [j.owner.createdBy],
};

const compareValue = (a: number | string, b: number | string) =>
  typeof a === 'number' && typeof b === 'number' ? Math.sign(a - b) : compareCodePoints(String(a), String(b));

/** Where `a` goes relative to `b` in the list's order: negative when it comes first. */
export function compareInOrder(a: Job, b: Job, filters: JobsBrowseParams): number {
  const sortBy = filters.sortBy ?? 'createdAt';
  const descending = (filters.sortDirection ?? 'descending') === 'descending';
  const [ka, kb] = [SORT_KEY[sortBy](a), SORT_KEY[sortBy](b)];
  const flagged = sortBy === 'name' || sortBy === 'expiresAt' || sortBy === 'timeLeft';
  for (let i = 0; i < ka.length; i++) {
    const c = compareValue(ka[i]!, kb[i]!);
    if (c !== 0) return descending && !(flagged && i === 0) ? -c : c;
  }
  const byId = Math.sign(Number(a.id) - Number(b.id));
  return descending ? -byId : byId;
}

/**
 * Folds a job into an infinite list, so the list stays what the server would answer for its filters:
 * - a listed job that still matches is replaced in place (its row updates live). It does not move even when the
 *   value it is sorted by changed (a new state, say): moving rows under the reader's eyes is worse than a briefly
 *   stale order, and it takes its new place the next time the list is fetched;
 * - a listed job that stops matching (State = Running, and it finished) leaves the list;
 * - a job that starts to match (it started running), or is new, goes where the order puts it among the rows
 *   loaded so far. When that is past the last loaded row and more pages remain, it is left to the page it belongs
 *   to.
 */
export function upsertJobInPages(
  data: InfiniteData<PageV2<Job>> | undefined,
  job: Job,
  filters: JobsBrowseParams,
): InfiniteData<PageV2<Job>> | undefined {
  if (!data) return data;
  const matches = matchesFilters(job, filters);
  let found = false;
  const pages = data.pages.map((page) => {
    const index = page.items.findIndex((j) => j.id === job.id);
    if (index === -1) return page;
    found = true;
    if (!matches) return { ...page, items: page.items.filter((j) => j.id !== job.id) };
    const items = page.items.slice();
    items[index] = mergeJob(items[index], job);
    return { ...page, items };
  });
  if (found) return { ...data, pages };
  if (!matches || data.pages.length === 0) return data;

  for (let p = 0; p < data.pages.length; p++) {
    const page = data.pages[p]!;
    const at = page.items.findIndex((j) => compareInOrder(job, j, filters) < 0);
    const isLast = p === data.pages.length - 1;
    if (at === -1 && !(isLast && page.next == null)) continue;
    const items = page.items.slice();
    items.splice(at === -1 ? items.length : at, 0, job);
    return { ...data, pages: data.pages.map((q, i) => (i === p ? { ...q, items } : q)) };
  }
  return data;
}

/** Keeps the picker's list of RUNNING jobs exact as jobs start and stop. */
export function upsertRunningJob(data: PageV2<Job> | undefined, job: Job): PageV2<Job> | undefined {
  if (!data) return data;
  const index = data.items.findIndex((j) => j.id === job.id);
  const running = job.status.state === 'RUNNING';
  if (index === -1) return running ? { ...data, items: [job, ...data.items] } : data;
  if (!running) return { ...data, items: data.items.filter((j) => j.id !== job.id) };
  const items = data.items.slice();
  items[index] = mergeJob(items[index], job);
  return { ...data, items };
}

/** The peers a job connects to, from its resources and its peer parameters. */
export function peersOf(job: Job): { hostname: string; jobId: string }[] {
  const values = [...(job.specification.resources ?? []), ...Object.values(job.specification.parameters ?? {})];
  return values.flatMap((v) => (v.type === 'peer' ? [{ hostname: v.hostname, jobId: v.jobId }] : []));
}

/**
 * Keeps "jobs connected to `targetId`" live: known entries are updated, and a
 * job seen for the first time that connects to the target is added.
 */
export function upsertConnectedJob(
  data: { items: ConnectedJob[] } | undefined,
  job: Job,
  targetId: string,
): { items: ConnectedJob[] } | undefined {
  if (!data) return data;
  if (data.items.some((c) => c.job.id === job.id)) {
    return { ...data, items: data.items.map((c) => (c.job.id === job.id ? { ...c, job: mergeJob(c.job, job) } : c)) };
  }
  const links = peersOf(job).filter((p) => p.jobId === targetId);
  if (links.length === 0) return data;
  return { ...data, items: [...data.items, ...links.map((p) => ({ hostname: p.hostname, job }))] };
}
