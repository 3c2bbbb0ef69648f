import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { Link } from 'react-router-dom';
import type { JobListFilters } from '@/api/jobs';
import type { Job } from '@/api/types';
import { StateBadge } from '@/components/state-badge';
import { FINAL_STATES, isoString } from '@/lib/format';
import { stateLabel } from '@/lib/job-facts';
import { flip, SORTABLE, type Direction, type SortableColumn } from '@/features/jobs/list/use-list-filters';

const ROW_HEIGHT = 56;
/** Below this width each job is a card of three lines (job-list.css has the same breakpoint). */
const CARD_QUERY = '(max-width: 640px)';
const CARD_HEIGHT = 128;

function useMatchMedia(query: string): boolean {
  return useSyncExternalStore(
    (notify) => {
      if (typeof window.matchMedia !== 'function') return () => {};
      const list = window.matchMedia(query);
      list.addEventListener('change', notify);
      return () => list.removeEventListener('change', notify);
    },
    () => typeof window.matchMedia === 'function' && window.matchMedia(query).matches,
  );
}

const created = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** "2 h 05 min", "12 min", "under a minute". */
export function formatTimeLeft(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'under a minute';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min`;
}

/** What the Time left column says: the countdown of a running job, or why there is none. */
function timeLeft(job: Job, now: number): { text: string; soon: boolean } {
  const { state, expiresAt } = job.status;
  if (FINAL_STATES.has(state)) return { text: 'Ended', soon: false };
  if (state === 'IN_QUEUE') return { text: 'Not started', soon: false };
  if (expiresAt == null) return { text: 'No limit', soon: false };
  const left = expiresAt - now;
  return { text: left <= 0 ? 'Expiring' : `${formatTimeLeft(left)} left`, soon: left < 10 * 60_000 };
}

/** A queued job: how long it has waited, and the provider's latest reason (its last status line), if any. */
function queueNote(job: Job, now: number): string | null {
  if (job.status.state !== 'IN_QUEUE') return null;
  const reason = [...job.updates].reverse().find((u) => u.status)?.status ?? null;
  const waited = `waiting ${formatTimeLeft(Math.max(0, now - job.createdAt))}`;
  return reason ? `${waited}: ${reason}` : waited;
}

/** A column header that sorts the list: a real button inside the columnheader, which carries aria-sort. */
function SortHeader({ column, filters, onSort }: { column: SortableColumn; filters: JobListFilters; onSort: (c: SortableColumn, d: Direction) => void }) {
  const { label, first, words } = SORTABLE[column];
  const active = filters.sortBy === column;
  const current = filters.sortDirection ?? first;
  const target = active ? flip(current) : first;
  return (
    <div role="columnheader" className={`job-cell job-cell--${column}${active ? ' job-cell--sorted' : ''}`} aria-sort={active ? current : undefined}>
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

interface RowProps {
  job: Job;
  /** The current minute: rows re-render once a minute for Time left, never on scroll. */
  now: number;
  selected: boolean;
  onToggle: (id: string, selected: boolean) => void;
}

// Memoised: scrolling re-renders the virtual rows' positions every frame, never their cells.
const JobRow = memo(function JobRow({ job, now, selected, onToggle }: RowProps) {
  const name = job.specification.name || job.specification.application.name;
  const left = timeLeft(job, now);
  const note = queueNote(job, now);
  const { product } = job.specification;
  const active = !FINAL_STATES.has(job.status.state);
  return (
    <>
      <div role="cell" className="job-cell job-cell--select">
        {active ? (
          <label className="select-box">
            <input type="checkbox" checked={selected} onChange={(e) => onToggle(job.id, e.target.checked)} />
            <span className="visually-hidden">Select {name}</span>
          </label>
        ) : null}
      </div>
      <div role="cell" className="job-cell job-cell--name">
        {/* Truncated to one line: the full name is its tooltip, and the job page's heading. */}
        <Link to={`/jobs/${encodeURIComponent(job.id)}`} className="job-link" title={name}>
          <bdi>{name}</bdi>
        </Link>
        <span className="job-cell__sub mono">#{job.id}</span>
      </div>
      <div role="cell" className="job-cell job-cell--application">
        <span className="truncate">{job.specification.application.name}</span>
        <span className="job-cell__sub mono">v{job.specification.application.version}</span>
      </div>
      <div role="cell" className="job-cell job-cell--state">
        {/* A job the user terminated reads "Terminated" (its wire state stays SUCCESS, as the badge's class says). */}
        <StateBadge state={job.status.state} label={stateLabel(job)} />
        {note ? (
          <span className="job-cell__sub truncate" title={note}>
            {note}
          </span>
        ) : null}
      </div>
      <div role="cell" className={`job-cell job-cell--expiresAt job-cell--muted${left.soon ? ' job-cell--soon' : ''}`}>
        <span className="truncate">{left.text}</span>
      </div>
      <div role="cell" className="job-cell job-cell--createdAt job-cell--muted">
        <time dateTime={isoString(job.createdAt)}>{created.format(job.createdAt)}</time>
      </div>
      <div role="cell" className="job-cell job-cell--machine job-cell--muted">
        <span className="truncate">{product.id}</span>
        <span className="job-cell__sub">on {product.provider}</span>
      </div>
    </>
  );
});

export interface JobTableProps {
  jobs: Job[];
  hasMore: boolean;
  fetchNextPage: () => Promise<unknown>;
  isFetchingNextPage: boolean;
  isFetchNextPageError: boolean;
  isPlaceholderData: boolean;
  filters: JobListFilters;
  onSort: (column: SortableColumn, direction: Direction) => void;
  now: number;
  selected: ReadonlySet<string>;
  onToggle: (id: string, selected: boolean) => void;
  onToggleAll: (selected: boolean) => void;
}

/**
 * The virtualised table, in the page's own scroll (one scroll bar: the window's). It owns the virtualiser, so a
 * scroll re-renders this component (row positions) and nothing above it.
 */
export function JobTable(props: JobTableProps) {
  const { jobs, hasMore, fetchNextPage, isFetchingNextPage, isFetchNextPageError, isPlaceholderData, filters, onSort } = props;
  const bodyRef = useRef<HTMLDivElement>(null);
  const cards = useMatchMedia(CARD_QUERY);
  // Where the rows start in the document: the virtualiser counts window scroll from there.
  const [scrollMargin, setScrollMargin] = useState(0);
  useLayoutEffect(() => {
    const measure = () => setScrollMargin((bodyRef.current?.getBoundingClientRect().top ?? 0) + window.scrollY);
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, [cards]);
  const rowHeight = cards ? CARD_HEIGHT : ROW_HEIGHT;
  const virtualizer = useWindowVirtualizer({
    count: hasMore ? jobs.length + 1 : jobs.length,
    estimateSize: () => rowHeight,
    overscan: 12,
    scrollMargin,
    // Before the first measurement (and where there is no layout, as in tests) assume a screenful.
    initialRect: { width: 1200, height: 800 },
  });
  useEffect(() => virtualizer.measure(), [rowHeight, virtualizer]);
  const virtualRows = virtualizer.getVirtualItems();
  const lastIndex = virtualRows.at(-1)?.index ?? -1;

  // Fetch the next server page as the loader row scrolls into view.
  useEffect(() => {
    if (hasMore && !isPlaceholderData && !isFetchingNextPage && !isFetchNextPageError && lastIndex >= jobs.length - 1) void fetchNextPage();
  }, [hasMore, isPlaceholderData, isFetchingNextPage, isFetchNextPageError, fetchNextPage, lastIndex, jobs.length]);

  const selectable = jobs.filter((j) => !FINAL_STATES.has(j.status.state));
  const allSelected = selectable.length > 0 && selectable.every((j) => props.selected.has(j.id));

  return (
    <div className="job-table card" role="table" aria-label="Jobs" aria-rowcount={hasMore ? -1 : jobs.length + 1} aria-busy={isPlaceholderData || undefined}>
      <div role="rowgroup" className="job-table__head">
        <div role="row" className="job-row job-row--head" aria-rowindex={1}>
          <div role="columnheader" className="job-cell job-cell--select">
            <label className="select-box">
              <input type="checkbox" checked={allSelected} disabled={selectable.length === 0} onChange={(e) => props.onToggleAll(e.target.checked)} />
              <span className="visually-hidden">Select every active job shown</span>
            </label>
          </div>
          <SortHeader column="name" filters={filters} onSort={onSort} />
          <SortHeader column="application" filters={filters} onSort={onSort} />
          <SortHeader column="state" filters={filters} onSort={onSort} />
          <SortHeader column="expiresAt" filters={filters} onSort={onSort} />
          <SortHeader column="createdAt" filters={filters} onSort={onSort} />
          <div role="columnheader" className="job-cell job-cell--machine">
            Machine
          </div>
        </div>
      </div>
      <div ref={bodyRef} className={`job-table__body${virtualizer.isScrolling ? ' job-table__body--scrolling' : ''}`} role="rowgroup">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualRows.map((row) => {
            const job = jobs[row.index];
            return (
              <div
                key={job?.id ?? 'loader'}
                role="row"
                aria-rowindex={row.index + 2}
                className="job-row"
                style={{ position: 'absolute', top: 0, left: 0, right: 0, height: row.size, transform: `translateY(${row.start - virtualizer.options.scrollMargin}px)` }}
              >
                {job ? (
                  <JobRow job={job} now={props.now} selected={props.selected.has(job.id)} onToggle={props.onToggle} />
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
