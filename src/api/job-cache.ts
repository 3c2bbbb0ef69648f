import type { InfiniteData } from '@tanstack/react-query';
import type { ConnectedJob, Job, JobStatus, JobUpdate, JobsBrowseParams, PageV2 } from '@/api/types';

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
 * A job event can carry fewer updates than the cache already holds (a list
 * event is fetched without updates); keep the richer history.
 */
export function mergeJob(prev: Job | undefined, next: Job): Job {
  if (!prev) return next;
  const updates = next.updates.length >= prev.updates.length ? next.updates : appendUpdates(prev.updates, next.updates);
  return { ...next, updates };
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

export function matchesFilters(job: Job, filters: JobsBrowseParams): boolean {
  if (filters.filterState && job.status.state !== filters.filterState) return false;
  if (filters.filterApplication && job.specification.application.name !== filters.filterApplication) return false;
  return true;
}

/**
 * Folds a job into an infinite list. A known job is replaced in place (its row
 * updates live), in every sort order: it does not move even when the value it is
 * sorted by changed (a new state, say), because moving rows under the reader's
 * eyes is worse than a briefly stale order; it takes its new place the next time
 * the list is fetched. A job the list has never seen is new: in creation order it
 * goes to the top of a newest-first list, or to the end of an oldest-first list
 * once its last page is loaded. In any other order it is left out here and shows
 * up in its place with the page it belongs to (launching a job invalidates the
 * lists, so it is there when the list is next shown).
 */
export function upsertJobInPages(
  data: InfiniteData<PageV2<Job>> | undefined,
  job: Job,
  filters: JobsBrowseParams,
): InfiniteData<PageV2<Job>> | undefined {
  if (!data) return data;
  let found = false;
  const pages = data.pages.map((page) => {
    const index = page.items.findIndex((j) => j.id === job.id);
    if (index === -1) return page;
    found = true;
    const items = page.items.slice();
    items[index] = mergeJob(items[index], job);
    return { ...page, items };
  });
  if (found) return { ...data, pages };
  if (!matchesFilters(job, filters) || data.pages.length === 0) return data;
  if ((filters.sortBy ?? 'createdAt') !== 'createdAt') return data;

  const ascending = filters.sortDirection === 'ascending';
  if (!ascending) {
    const [first, ...rest] = data.pages;
    if (!first) return data;
    return { ...data, pages: [{ ...first, items: [job, ...first.items] }, ...rest] };
  }
  const last = data.pages[data.pages.length - 1];
  if (!last || last.next != null) return data;
  return { ...data, pages: [...data.pages.slice(0, -1), { ...last, items: [...last.items, job] }] };
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
