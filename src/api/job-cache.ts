import type { InfiniteData } from '@tanstack/react-query';
import { ACTIVE_JOB_STATES, FINAL_JOB_STATES } from '@contract/constants';
import type { ConnectedJob, Job, JobStatus, JobUpdate, JobsBrowseParams, PageV2 } from '@/api/types';
import { compareCodePoints, naturalKey } from '@/lib/natural';

/*
 * Pure functions that fold live socket events and REST reads into cached server state. They
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

function lastUpdateAt(job: Job): number {
  let last = 0;
  for (const u of job.updates) if (u.timestamp > last) last = u.timestamp;
  return last;
}

/**
 * Which of two copies of one job is newer: positive when `a` is, negative when `b` is, 0 when neither.
 * - Both carry `status.version` (the server's, the same in REST reads and socket events): the higher one.
 * - Otherwise (a server without versions): the copy whose latest update is later. A copy without updates (a list
 *   read without them, a creation event) says nothing about its age, so it counts as neither newer nor older.
 */
export function compareJobAge(a: Job, b: Job): number {
  const [va, vb] = [a.status.version, b.status.version];
  if (va != null && vb != null) return Math.sign(va - vb);
  if (a.updates.length === 0 || b.updates.length === 0) return 0;
  return Math.sign(lastUpdateAt(a) - lastUpdateAt(b));
}

/**
 * Two copies of one job, a REST read and a socket event in either order, folded into one: the newer copy's fields
 * (compareJobAge), with the updates of both. A socket event carries only the updates its change appended and a list
 * read may carry none, so histories are joined, never replaced. On a tie the incoming copy's fields win (it may carry
 * what the cached one was read without, such as parameters), so merging the same copy again changes nothing. When
 * the cached copy is the newer and the incoming one adds no update, the cached copy itself is returned, so
 * react-query does not re-render for a stale copy.
 *
 * The order matters because a read can be older than an event that landed while it was on its way (a terminate's
 * refetch, answered just before the provider's SUCCESS was written but arriving after it), and the socket will not
 * send that SUCCESS again: taking the read whole would leave the page on "Running" for good.
 */
export function mergeJob(cached: Job | undefined, incoming: Job): Job {
  if (!cached || cached.id !== incoming.id) return incoming;
  if (compareJobAge(cached, incoming) > 0) {
    const updates = appendUpdates(cached.updates, incoming.updates);
    return updates === cached.updates ? cached : { ...cached, updates };
  }
  return { ...incoming, updates: appendUpdates(cached.updates, incoming.updates) };
}

/**
 * A list read folded into what the list's cache holds when the answer is written (react-query's
 * `structuralSharing`): where the cache holds a newer copy of a row (compareJobAge), that copy stays, with the read's
 * updates joined (mergeJob), so a socket event that landed while the read was on its way is not undone by it; if
 * that newer copy no longer matches the list's filters, the row leaves the answer. Every other row is the read's.
 */
export function foldListRead(
  cached: InfiniteData<PageV2<Job>> | undefined,
  fetched: InfiniteData<PageV2<Job>>,
  filters: JobsBrowseParams,
): InfiniteData<PageV2<Job>> {
  if (!cached) return fetched;
  const known = byId(cached.pages.flatMap((page) => page.items));
  const pages = fetched.pages.map((page) => foldRows(known, page, filters));
  return pages.every((page, i) => page === fetched.pages[i]) ? fetched : { ...fetched, pages };
}

/** foldListRead for a list of one page (the picker's RUNNING jobs). */
export function foldPageRead(cached: PageV2<Job> | undefined, fetched: PageV2<Job>, filters: JobsBrowseParams): PageV2<Job> {
  return cached ? foldRows(byId(cached.items), fetched, filters) : fetched;
}

const byId = (jobs: Job[]) => new Map(jobs.map((job) => [job.id, job]));

function foldRows(known: Map<string, Job>, fetched: PageV2<Job>, filters: JobsBrowseParams): PageV2<Job> {
  let changed = false;
  const items = fetched.items.flatMap((job) => {
    const cached = known.get(job.id);
    if (!cached || compareJobAge(cached, job) <= 0) return [job];
    changed = true;
    const merged = mergeJob(cached, job);
    return matchesFilters(merged, filters) ? [merged] : [];
  });
  return changed ? { ...fetched, items } : fetched;
}

/**
 * Applies one `jobs.follow` message after the initial job: its updates appended, its status taken, and the output
 * folder its updates set (as the server sets `output`). A status with a lower version than the cached job's (a REST
 * read or a jobs.listen event brought a newer state first) is not taken: the updates are still joined.
 */
export function applyFollowUpdate(job: Job, updates: JobUpdate[], newStatus: JobStatus | null): Job {
  const merged = appendUpdates(job.updates, updates);
  const stale = newStatus?.version != null && job.status.version != null && newStatus.version < job.status.version;
  if (stale) return merged === job.updates ? job : { ...job, updates: merged };
  let status = newStatus ?? job.status;
  if (!newStatus) {
    const lastState = [...updates].reverse().find((u) => u.state != null)?.state;
    if (lastState && lastState !== status.state) status = { ...status, state: lastState };
  }
  const outputFolder = [...updates].reverse().find((u) => u.outputFolder != null)?.outputFolder;
  const output = outputFolder != null && outputFolder !== job.output?.outputFolder ? { outputFolder } : job.output;
  if (merged === job.updates && status === job.status && output === job.output) return job;
  return { ...job, updates: merged, status, output };
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

/** The list's state order: active first, as the server sorts (IN_QUEUE, RUNNING, SUSPENDED, SUCCESS, FAILURE, EXPIRED). */
const STATE_ORDER: readonly string[] = [...ACTIVE_JOB_STATES, ...FINAL_JOB_STATES];
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
  let found = false;
  const pages = data.pages.map((page) => {
    const index = page.items.findIndex((j) => j.id === job.id);
    if (index === -1) return page;
    found = true;
    // Decided on the merged copy: an event older than the listed row changes nothing.
    const merged = mergeJob(page.items[index], job);
    if (merged === page.items[index]) return page;
    if (!matchesFilters(merged, filters)) return { ...page, items: page.items.filter((j) => j.id !== job.id) };
    const items = page.items.slice();
    items[index] = merged;
    return { ...page, items };
  });
  if (found) return pages.every((page, i) => page === data.pages[i]) ? data : { ...data, pages };
  if (!matchesFilters(job, filters) || data.pages.length === 0) return data;

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
  if (index === -1) return job.status.state === 'RUNNING' ? { ...data, items: [job, ...data.items] } : data;
  const merged = mergeJob(data.items[index], job);
  if (merged === data.items[index]) return data;
  if (merged.status.state !== 'RUNNING') return { ...data, items: data.items.filter((j) => j.id !== job.id) };
  const items = data.items.slice();
  items[index] = merged;
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
