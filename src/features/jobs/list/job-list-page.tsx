import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useId, useMemo, useRef } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { catalogQueries } from '@/api/catalog';
import { jobsQueries, type JobListFilters } from '@/api/jobs';
import type { Job } from '@/api/types';
import { EmptyState } from '@/components/empty-state';
import { ErrorMessage } from '@/components/error-message';
import { PageHeader } from '@/components/page-header';
import { Loading } from '@/components/spinner';
import { StateBadge } from '@/components/state-badge';
import { formatDateTime, isJobState, isoString, JOB_STATES, STATE_LABEL } from '@/lib/format';
import '@/features/jobs/list/job-list.css';

const ROW_HEIGHT = 56;

type SortBy = NonNullable<JobListFilters['sortBy']>;
type Direction = NonNullable<JobListFilters['sortDirection']>;

/** The sortable columns, the direction each starts in, and how each direction reads aloud. */
const SORTABLE: Record<'name' | 'application' | 'state' | 'createdAt', { label: string; noun: string; first: Direction; words: Record<Direction, string> }> = {
  name: { label: 'Job', noun: 'name', first: 'ascending', words: { ascending: 'A to Z', descending: 'Z to A' } },
  application: { label: 'Application', noun: 'application', first: 'ascending', words: { ascending: 'A to Z', descending: 'Z to A' } },
  state: { label: 'State', noun: 'state', first: 'ascending', words: { ascending: 'queued first', descending: 'finished first' } },
  createdAt: { label: 'Created', noun: 'creation', first: 'descending', words: { ascending: 'oldest first', descending: 'newest first' } },
};
type SortableColumn = keyof typeof SORTABLE;
const isSortable = (value: string | null): value is SortableColumn => value !== null && Object.hasOwn(SORTABLE, value);
const flip = (d: Direction): Direction => (d === 'ascending' ? 'descending' : 'ascending');

/**
 * Filters and sort live in the URL (`state`, `app`, `sort`, `dir`) so a list can be bookmarked, shared and
 * restored with Back. No `sort` means newest first; `sort=oldest` is the older spelling of creation order ascending.
 */
function useListFilters() {
  const [params, setParams] = useSearchParams();
  const state = params.get('state');
  const sortParam = params.get('sort');
  const dirParam = params.get('dir');
  const filters: JobListFilters = useMemo(() => {
    const sortBy: SortBy = isSortable(sortParam) ? sortParam : 'createdAt';
    const fallback = sortParam === 'oldest' ? 'ascending' : isSortable(sortParam) ? SORTABLE[sortParam].first : 'descending';
    const sortDirection: Direction = dirParam === 'asc' ? 'ascending' : dirParam === 'desc' ? 'descending' : fallback;
    return {
      filterState: isJobState(state) ? state : null,
      filterApplication: params.get('app') || null,
      sortBy,
      sortDirection,
    };
  }, [params, state, sortParam, dirParam]);
  const update = (change: (next: URLSearchParams) => void) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        change(next);
        return next;
      },
      { replace: true },
    );
  const set = (key: 'state' | 'app', value: string | null) =>
    update((next) => {
      if (value) next.set(key, value);
      else next.delete(key);
    });
  // Pushes a history entry (unlike filters), so Back returns to the previous order.
  const sortBy = (column: SortableColumn, direction: Direction) =>
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      if (column === 'createdAt' && direction === 'descending') {
        next.delete('sort');
        next.delete('dir');
      } else {
        next.set('sort', column);
        next.set('dir', direction === 'ascending' ? 'asc' : 'desc');
      }
      return next;
    });
  const clear = () =>
    update((next) => {
      next.delete('state');
      next.delete('app');
    });
  return { filters, set, sortBy, clear };
}

/** A column header that sorts the list: a real button inside the columnheader, which carries aria-sort. */
function SortHeader({ column, filters, onSort }: { column: SortableColumn; filters: JobListFilters; onSort: (c: SortableColumn, d: Direction) => void }) {
  const { label, first, words } = SORTABLE[column];
  const active = filters.sortBy === column;
  const current = filters.sortDirection ?? first;
  const target = active ? flip(current) : first;
  return (
    <div role="columnheader" className={`job-cell${active ? ' job-cell--sorted' : ''}`} aria-sort={active ? current : undefined}>
      <button type="button" className="sort-button" onClick={() => onSort(column, target)}>
        {label}
        <span className="sort-button__arrow" aria-hidden="true">
          {active ? (current === 'ascending' ? '↑' : '↓') : '↕'}
        </span>
        <span className="visually-hidden">{active ? `, sorted ${words[current]}. Sort ${words[target]}` : `. Sort ${words[target]}`}</span>
      </button>
    </div>
  );
}

function describeSort(filters: JobListFilters): string {
  const sortBy = filters.sortBy ?? 'createdAt';
  const direction = filters.sortDirection ?? 'descending';
  if (!isSortable(sortBy)) return `sorted by ${sortBy}`;
  if (sortBy === 'createdAt') return SORTABLE.createdAt.words[direction];
  return `by ${SORTABLE[sortBy].noun}, ${SORTABLE[sortBy].words[direction]}`;
}

// Memoised: scrolling re-renders the virtual rows' positions every frame, never their cells (a row's job object
// only changes when the job does).
const JobRow = memo(function JobRow({ job }: { job: Job }) {
  const name = job.specification.name || job.specification.application.name;
  return (
    <>
      <div role="cell" className="job-cell job-cell--name">
        {/* Truncated to one line: the full name is its tooltip, and the job page's heading. */}
        <Link to={`/jobs/${encodeURIComponent(job.id)}`} className="job-link" title={name}>
          <bdi>{name}</bdi>
        </Link>
        <span className="job-cell__sub mono">#{job.id}</span>
      </div>
      <div role="cell" className="job-cell">
        <span className="truncate">{job.specification.application.name}</span>
        <span className="job-cell__sub mono">v{job.specification.application.version}</span>
      </div>
      <div role="cell" className="job-cell">
        <StateBadge state={job.status.state} />
      </div>
      <div role="cell" className="job-cell job-cell--muted">
        <time dateTime={isoString(job.createdAt)}>{formatDateTime(job.createdAt)}</time>
      </div>
      <div role="cell" className="job-cell job-cell--muted">
        {job.specification.product.id}
      </div>
    </>
  );
});

interface JobTableProps {
  jobs: Job[];
  hasMore: boolean;
  fetchNextPage: () => Promise<unknown>;
  isFetchingNextPage: boolean;
  isFetchNextPageError: boolean;
  isPlaceholderData: boolean;
  filters: JobListFilters;
  onSort: (column: SortableColumn, direction: Direction) => void;
}

/**
 * The virtualised table. It owns the virtualiser, so a scroll re-renders this component (row positions) and
 * nothing above it: the page header and the filters stay put.
 */
function JobTable({ jobs, hasMore, fetchNextPage, isFetchingNextPage, isFetchNextPageError, isPlaceholderData, filters, onSort }: JobTableProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: hasMore ? jobs.length + 1 : jobs.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // Before the first measurement (and where there is no layout, as in tests) assume a screenful.
    initialRect: { width: 1200, height: 800 },
  });
  const virtualRows = virtualizer.getVirtualItems();
  const lastIndex = virtualRows.at(-1)?.index ?? -1;

  // Fetch the next server page as the loader row scrolls into view.
  useEffect(() => {
    if (hasMore && !isPlaceholderData && !isFetchingNextPage && !isFetchNextPageError && lastIndex >= jobs.length - 1) void fetchNextPage();
  }, [hasMore, isPlaceholderData, isFetchingNextPage, isFetchNextPageError, fetchNextPage, lastIndex, jobs.length]);

  // A new order starts at its first page, at the top.
  useEffect(() => {
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
  }, [filters.sortBy, filters.sortDirection]);

  return (
    <div
      className="job-table card"
      role="table"
      aria-label="Jobs"
      aria-rowcount={hasMore ? -1 : jobs.length + 1}
      aria-busy={isPlaceholderData || undefined}
    >
      <div role="rowgroup" className="job-table__head">
        <div role="row" className="job-row job-row--head" aria-rowindex={1}>
          <SortHeader column="name" filters={filters} onSort={onSort} />
          <SortHeader column="application" filters={filters} onSort={onSort} />
          <SortHeader column="state" filters={filters} onSort={onSort} />
          <SortHeader column="createdAt" filters={filters} onSort={onSort} />
          <div role="columnheader" className="job-cell">
            Machine
          </div>
        </div>
      </div>
      <div ref={scrollRef} className={`job-table__scroll${virtualizer.isScrolling ? ' job-table__scroll--scrolling' : ''}`} role="rowgroup">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualRows.map((row) => {
            const job = jobs[row.index];
            return (
              <div
                key={job?.id ?? 'loader'}
                role="row"
                aria-rowindex={row.index + 2}
                className="job-row"
                style={{ position: 'absolute', top: 0, left: 0, right: 0, height: row.size, transform: `translateY(${row.start}px)` }}
              >
                {job ? (
                  <JobRow job={job} />
                ) : (
                  <div role="cell" className="job-cell job-cell--loader">
                    {isFetchNextPageError ? (
                      <button type="button" className="button button--secondary button--small" onClick={() => void fetchNextPage()}>
                        Loading more failed. Try again
                      </button>
                    ) : (
                      'Loading more jobs…'
                    )}
                  </div>
                )}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

export default function JobListPage() {
  const { filters, set, sortBy, clear } = useListFilters();
  const apps = useQuery(catalogQueries.apps());
  const list = useInfiniteQuery({
    ...jobsQueries.list(filters),
    // A new sort keeps the rows on screen until the new order arrives, so the header button keeps focus and
    // the table does not flash; a new filter starts afresh (the old rows would be wrong, not just misordered).
    placeholderData: (previous, previousQuery) => {
      const before = previousQuery?.queryKey[2] as JobListFilters | undefined;
      const sameFilters = before && before.filterState === filters.filterState && before.filterApplication === filters.filterApplication;
      return sameFilters ? previous : undefined;
    },
  });
  const stateId = useId();
  const appId = useId();

  // A job added live at the top shifts the server's pages, so the next page can repeat a row: keep the first.
  const jobs = useMemo(() => {
    const seen = new Set<string>();
    return (list.data?.pages ?? []).flatMap((p) => p.items).filter((j) => !seen.has(j.id) && Boolean(seen.add(j.id)));
  }, [list.data]);
  const hasMore = Boolean(list.hasNextPage);

  const filtered = Boolean(filters.filterState || filters.filterApplication);

  return (
    <section className="page job-list-page" aria-labelledby="jobs-title">
      <PageHeader
        title={<span id="jobs-title">Jobs</span>}
        subtitle={`Your jobs, ${describeSort(filters)}. Rows update live.`}
        actions={
          <Link to="/applications" className="button button--primary">
            Launch a job
          </Link>
        }
      />
      <div className="toolbar" role="search" aria-label="Filter jobs">
        <div className="field">
          <label htmlFor={stateId} className="field__label">
            State
          </label>
          <select id={stateId} className="select" value={filters.filterState ?? ''} onChange={(e) => set('state', e.target.value || null)}>
            <option value="">All states</option>
            {JOB_STATES.map((s) => (
              <option key={s} value={s}>
                {STATE_LABEL[s]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={appId} className="field__label">
            Application
          </label>
          <select id={appId} className="select" value={filters.filterApplication ?? ''} onChange={(e) => set('app', e.target.value || null)}>
            <option value="">All applications</option>
            {[...new Set((apps.data?.items ?? []).map((a) => a.name))].map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
            {filters.filterApplication && !apps.data?.items.some((a) => a.name === filters.filterApplication) ? (
              <option value={filters.filterApplication}>{filters.filterApplication}</option>
            ) : null}
          </select>
        </div>
        {filtered ? (
          <button type="button" className="button button--ghost toolbar__clear" onClick={clear}>
            Clear filters
          </button>
        ) : null}
        <p className="toolbar__count muted" aria-live="polite">
          {list.isSuccess ? `${jobs.length}${hasMore ? '+' : ''} ${jobs.length === 1 ? 'job' : 'jobs'}` : ''}
        </p>
      </div>

      {list.isPending ? <Loading label="Loading jobs…" /> : null}
      {list.isError ? <ErrorMessage error={list.error} title="Could not load jobs" onRetry={() => void list.refetch()} /> : null}
      {list.isSuccess && jobs.length === 0 ? (
        filtered ? (
          <EmptyState title="No jobs match these filters">
            <button type="button" className="button button--secondary" onClick={clear}>
              Clear filters
            </button>
          </EmptyState>
        ) : (
          <EmptyState title="You have no jobs yet">
            <p>Launch an application to start your first job.</p>
            <Link to="/applications" className="button button--primary">
              Browse applications
            </Link>
          </EmptyState>
        )
      ) : null}

      {list.isSuccess && jobs.length > 0 ? (
        <JobTable
          jobs={jobs}
          hasMore={hasMore}
          fetchNextPage={list.fetchNextPage}
          isFetchingNextPage={list.isFetchingNextPage}
          isFetchNextPageError={list.isFetchNextPageError}
          isPlaceholderData={list.isPlaceholderData}
          filters={filters}
          onSort={sortBy}
        />
      ) : null}
    </section>
  );
}
