import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useId, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { Link, useLocation, useNavigationType } from 'react-router-dom';
import { catalogQueries } from '@/api/catalog';
import { jobsQueries, type JobListFilters } from '@/api/jobs';
import { EmptyState } from '@/components/empty-state';
import { ErrorMessage } from '@/components/error-message';
import { PageHeader } from '@/components/page-header';
import { Loading } from '@/components/spinner';
import { FINAL_STATES, JOB_STATES, STATE_LABEL } from '@/lib/format';
import { useNow } from '@/features/jobs/detail/use-now';
import { JobTable } from '@/features/jobs/list/job-table';
import { TerminateSelected } from '@/features/jobs/list/terminate-selected';
import { describeSort, useListFilters } from '@/features/jobs/list/use-list-filters';
import '@/features/jobs/list/job-list.css';

const SCROLL_KEY = 'jobdeck.jobs.scroll.';

/**
 * Back to the list puts it where the reader left it: the window's scroll is kept per history entry (in
 * sessionStorage, so a reload keeps it too) and restored on a Back/Forward once the rows are there. A new
 * order or filter starts at the top.
 */
function useListScroll(ready: boolean, filters: JobListFilters) {
  const location = useLocation();
  const navigationType = useNavigationType();
  const key = SCROLL_KEY + location.key;
  const last = useRef(0);
  const restored = useRef(false);
  useEffect(() => {
    const onScroll = () => {
      last.current = window.scrollY;
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => {
      window.removeEventListener('scroll', onScroll);
      try {
        sessionStorage.setItem(key, String(Math.round(last.current)));
      } catch {
        // Storage full or off: Back then starts at the top.
      }
    };
  }, [key]);
  useLayoutEffect(() => {
    if (!ready || restored.current) return;
    restored.current = true;
    const saved = Number(sessionStorage.getItem(key) ?? 'NaN');
    if (navigationType === 'POP' && Number.isFinite(saved) && saved > 0) {
      // The virtualised body takes its full height in this commit; scroll once it has been laid out.
      requestAnimationFrame(() => window.scrollTo(0, saved));
    }
  }, [ready, key, navigationType]);
  const order = `${filters.sortBy}|${filters.sortDirection}|${filters.filterState}|${filters.filterApplication}|${filters.filterQuery}`;
  const previousOrder = useRef(order);
  useEffect(() => {
    if (previousOrder.current === order) return;
    previousOrder.current = order;
    if (window.scrollY > 0) window.scrollTo(0, 0);
  }, [order]);
}

function SearchBox({ query, onSearch }: { query: string; onSearch: (text: string, continuing: boolean) => void }) {
  const id = useId();
  const [text, setText] = useState(query);
  const typing = useRef(false);
  const focused = useRef(false);
  const onSearchRef = useRef(onSearch);
  onSearchRef.current = onSearch;
  // Back/Forward changes the URL under the box: show what the list now shows.
  useEffect(() => {
    if (!focused.current) setText(query);
  }, [query]);
  useEffect(() => {
    if (text === query) return undefined;
    const timer = setTimeout(() => {
      onSearchRef.current(text.trim() ? text : '', typing.current);
      typing.current = true;
    }, 250);
    return () => clearTimeout(timer);
  }, [text, query]);
  return (
    <div className="field toolbar__search">
      <label htmlFor={id} className="field__label">
        Search
      </label>
      <input
        id={id}
        type="search"
        className="input"
        placeholder="Name or job id"
        value={text}
        autoComplete="off"
        onChange={(e) => setText(e.target.value)}
        onFocus={() => {
          focused.current = true;
        }}
        onBlur={() => {
          focused.current = false;
          typing.current = false;
        }}
      />
    </div>
  );
}

export default function JobListPage() {
  const { filters, query, set, search, sortBy, clear } = useListFilters();
  const apps = useQuery(catalogQueries.apps());
  const list = useInfiniteQuery({
    ...jobsQueries.list(filters),
    // A new sort keeps the rows on screen until the new order arrives, so the header button keeps focus and
    // the table does not flash; a new filter starts afresh (the old rows would be wrong, not just misordered).
    placeholderData: (previous, previousQuery) => {
      const before = previousQuery?.meta?.listFilters;
      const sameFilters =
        before &&
        before.filterState === filters.filterState &&
        before.filterApplication === filters.filterApplication &&
        before.filterQuery === filters.filterQuery;
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
  const filtered = Boolean(filters.filterState || filters.filterApplication || filters.filterQuery);
  useListScroll(list.isSuccess, filters);

  // Time left counts down by the minute.
  const tick = useNow(true, 30_000);
  const now = Math.floor(tick / 60_000) * 60_000;

  // Selection for Terminate: only jobs still active and still listed count.
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const selectedJobs = useMemo(() => jobs.filter((j) => picked.has(j.id) && !FINAL_STATES.has(j.status.state)), [jobs, picked]);
  const selected = useMemo(() => new Set(selectedJobs.map((j) => j.id)), [selectedJobs]);
  const onToggle = useCallback((id: string, on: boolean) => {
    setPicked((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  }, []);
  // After a terminate the selection bar is gone: focus goes to a note that says what was asked, not to <body>.
  const [terminated, setTerminated] = useState<{ names: string[]; at: number } | null>(null);
  const noteRef = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (!terminated) return undefined;
    // After the dialog has closed and given focus back (to a button that is gone by then).
    const frame = requestAnimationFrame(() => noteRef.current?.focus());
    return () => cancelAnimationFrame(frame);
  }, [terminated]);
  const onToggleAll = (on: boolean) => setPicked(on ? new Set(jobs.filter((j) => !FINAL_STATES.has(j.status.state)).map((j) => j.id)) : new Set());

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
        <SearchBox query={query} onSearch={search} />
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

      <TerminateSelected jobs={selectedJobs} onDone={() => setPicked(new Set())} onTerminated={(names) => setTerminated({ names, at: Date.now() })} />
      {terminated ? (
        <p ref={noteRef} tabIndex={-1} role="status" className="list-note">
          {terminated.names.length === 1 ? `Asked to terminate ${terminated.names[0]}.` : `Asked to terminate ${terminated.names.length} jobs.`} Their
          rows change once they have stopped.
        </p>
      ) : null}

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
          now={now}
          selected={selected}
          onToggle={onToggle}
          onToggleAll={onToggleAll}
        />
      ) : null}
    </section>
  );
}
