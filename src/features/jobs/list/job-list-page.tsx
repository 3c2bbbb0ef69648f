import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useId, useMemo, useRef } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { catalogQueries } from '@/api/catalog';
import { jobsQueries, type JobListFilters } from '@/api/jobs';
import type { Job } from '@/api/types';
import { EmptyState } from '@/components/empty-state';
import { ErrorMessage } from '@/components/error-message';
import { PageHeader } from '@/components/page-header';
import { Loading } from '@/components/spinner';
import { StateBadge } from '@/components/state-badge';
import { formatDateTime, isJobState, JOB_STATES, STATE_LABEL } from '@/lib/format';
import '@/features/jobs/list/job-list.css';

const ROW_HEIGHT = 56;

/** Filters live in the URL so a filtered list can be bookmarked, shared and restored with Back. */
function useListFilters() {
  const [params, setParams] = useSearchParams();
  const state = params.get('state');
  const filters: JobListFilters = useMemo(
    () => ({
      filterState: isJobState(state) ? state : null,
      filterApplication: params.get('app') || null,
      sortDirection: params.get('sort') === 'oldest' ? 'ascending' : 'descending',
    }),
    [params, state],
  );
  const set = (key: 'state' | 'app' | 'sort', value: string | null) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );
  const clear = () => setParams(new URLSearchParams(), { replace: true });
  return { filters, set, clear };
}

function JobRow({ job }: { job: Job }) {
  const name = job.specification.name || job.specification.application.name;
  return (
    <>
      <div role="cell" className="job-cell job-cell--name">
        <Link to={`/jobs/${encodeURIComponent(job.id)}`} className="job-link">
          {name}
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
        <time dateTime={new Date(job.createdAt).toISOString()}>{formatDateTime(job.createdAt)}</time>
      </div>
      <div role="cell" className="job-cell job-cell--muted">
        {job.specification.product.id}
      </div>
    </>
  );
}

export default function JobListPage() {
  const { filters, set, clear } = useListFilters();
  const apps = useQuery(catalogQueries.apps());
  const list = useInfiniteQuery(jobsQueries.list(filters));
  const stateId = useId();
  const appId = useId();
  const scrollRef = useRef<HTMLDivElement>(null);

  // A job added live at the top shifts the server's pages, so the next page can repeat a row: keep the first.
  const jobs = useMemo(() => {
    const seen = new Set<string>();
    return (list.data?.pages ?? []).flatMap((p) => p.items).filter((j) => !seen.has(j.id) && Boolean(seen.add(j.id)));
  }, [list.data]);
  const hasMore = Boolean(list.hasNextPage);
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
  const { fetchNextPage, isFetchingNextPage, isFetchNextPageError } = list;
  useEffect(() => {
    if (hasMore && !isFetchingNextPage && !isFetchNextPageError && lastIndex >= jobs.length - 1) void fetchNextPage();
  }, [hasMore, isFetchingNextPage, isFetchNextPageError, fetchNextPage, lastIndex, jobs.length]);

  const filtered = Boolean(filters.filterState || filters.filterApplication);
  const ascending = filters.sortDirection === 'ascending';

  return (
    <section className="page job-list-page" aria-labelledby="jobs-title">
      <PageHeader
        title={<span id="jobs-title">Jobs</span>}
        subtitle="Your jobs, newest first. Rows update live."
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
        <div className="job-table card" role="table" aria-label="Jobs" aria-rowcount={hasMore ? -1 : jobs.length + 1}>
          <div role="rowgroup" className="job-table__head">
            <div role="row" className="job-row job-row--head" aria-rowindex={1}>
              <div role="columnheader" className="job-cell">Job</div>
              <div role="columnheader" className="job-cell">Application</div>
              <div role="columnheader" className="job-cell">State</div>
              <div role="columnheader" className="job-cell" aria-sort={ascending ? 'ascending' : 'descending'}>
                <button
                  type="button"
                  className="sort-button"
                  onClick={() => set('sort', ascending ? null : 'oldest')}
                  aria-label={`Created, sorted ${ascending ? 'oldest first' : 'newest first'}. Sort ${ascending ? 'newest' : 'oldest'} first`}
                >
                  Created <span aria-hidden="true">{ascending ? '↑' : '↓'}</span>
                </button>
              </div>
              <div role="columnheader" className="job-cell">Machine</div>
            </div>
          </div>
          <div ref={scrollRef} className="job-table__scroll" role="rowgroup">
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
      ) : null}
    </section>
  );
}
