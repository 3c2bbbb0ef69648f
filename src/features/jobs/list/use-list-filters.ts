import { useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { JobListFilters } from '@/api/jobs';
import { isJobState } from '@/lib/format';

export type SortBy = NonNullable<JobListFilters['sortBy']>;
export type Direction = NonNullable<JobListFilters['sortDirection']>;

/** The sortable columns, the direction each starts in, and how each direction reads aloud. */
export const SORTABLE = {
  name: { label: 'Job', noun: 'name', first: 'ascending', words: { ascending: 'A to Z', descending: 'Z to A' } },
  application: { label: 'Application', noun: 'application', first: 'ascending', words: { ascending: 'A to Z', descending: 'Z to A' } },
  state: { label: 'State', noun: 'state', first: 'ascending', words: { ascending: 'queued first', descending: 'finished first' } },
  expiresAt: { label: 'Time left', noun: 'time left', first: 'ascending', words: { ascending: 'least first', descending: 'most first' } },
  createdAt: { label: 'Created', noun: 'creation', first: 'descending', words: { ascending: 'oldest first', descending: 'newest first' } },
} satisfies Record<string, { label: string; noun: string; first: Direction; words: Record<Direction, string> }>;
export type SortableColumn = keyof typeof SORTABLE;
export const isSortable = (value: string | null): value is SortableColumn => value !== null && Object.hasOwn(SORTABLE, value);
export const flip = (d: Direction): Direction => (d === 'ascending' ? 'descending' : 'ascending');

/**
 * Filters, search and sort live in the URL (`state`, `app`, `q`, `sort`, `dir`) so a list can be bookmarked,
 * shared and restored with Back. No `sort` means newest first; `sort=oldest` is the older spelling of creation order
 * ascending.
 *
 * History: every change the reader makes in one step (a state, an application, a sort, Clear filters) pushes an
 * entry, so Back undoes the last one, whichever kind it was. Typing in the search box is one change however many
 * keys it takes: its first keystroke pushes, the following ones replace that entry.
 */
export function useListFilters() {
  const [params, setParams] = useSearchParams();
  const state = params.get('state');
  const sortParam = params.get('sort');
  const dirParam = params.get('dir');
  const query = params.get('q') ?? '';
  const filters: JobListFilters = useMemo(() => {
    const sortBy: SortBy = isSortable(sortParam) ? sortParam : 'createdAt';
    const fallback = sortParam === 'oldest' ? 'ascending' : isSortable(sortParam) ? SORTABLE[sortParam].first : 'descending';
    const sortDirection: Direction = dirParam === 'asc' ? 'ascending' : dirParam === 'desc' ? 'descending' : fallback;
    return {
      filterState: isJobState(state) ? state : null,
      filterApplication: params.get('app') || null,
      filterQuery: query.trim() || null,
      sortBy,
      sortDirection,
    };
  }, [params, state, sortParam, dirParam, query]);

  const update = (change: (next: URLSearchParams) => void, replace = false) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        change(next);
        return next;
      },
      { replace },
    );
  const set = (key: 'state' | 'app', value: string | null) =>
    update((next) => {
      if (value) next.set(key, value);
      else next.delete(key);
    });
  const search = (text: string, continuing: boolean) =>
    update((next) => {
      if (text) next.set('q', text);
      else next.delete('q');
    }, continuing);
  const sortBy = (column: SortableColumn, direction: Direction) =>
    update((next) => {
      if (column === 'createdAt' && direction === 'descending') {
        next.delete('sort');
        next.delete('dir');
      } else {
        next.set('sort', column);
        next.set('dir', direction === 'ascending' ? 'asc' : 'desc');
      }
    });
  const clear = () =>
    update((next) => {
      next.delete('state');
      next.delete('app');
      next.delete('q');
    });
  return { filters, query, set, search, sortBy, clear };
}

export function describeSort(filters: JobListFilters): string {
  const sortBy = filters.sortBy ?? 'createdAt';
  const direction = filters.sortDirection ?? 'descending';
  if (!isSortable(sortBy)) return `sorted by ${sortBy}`;
  if (sortBy === 'createdAt') return SORTABLE.createdAt.words[direction];
  return `by ${SORTABLE[sortBy].noun}, ${SORTABLE[sortBy].words[direction]}`;
}
