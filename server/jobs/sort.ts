import { JOB_SORT_KEYS, JOB_STATES, type JobsSortBy, type SortDirection } from '../../contract/jobs';
import { badRequest } from '../http/errors';
import type { JobRow } from './model';

/*
 * Keyset pages for every sort order of `jobs.browse` (extension `sortBy`, see contract/jobs.ts).
 *
 * Each order is a tuple of SQL key expressions plus the id, all in one direction, so "the page after this row" is
 * one row comparison, `(k1, k2, id) > (v1, v2, last id)`, which PostgreSQL answers with a range scan of the
 * matching index in migration 005 (010 for name). The expressions here and there must stay identical.
 *
 * The `next` token carries the last row's raw column values and id. For `createdAt` it is the bare id, as before
 * the extension (and as the control API's tokens still are); for the others it is
 * `<sortBy>.<a|d>.<base64url JSON [values…, id]>`, so a token used with another order is recognised and refused.
 */

interface Column {
  field: keyof JobRow & string;
  type: 'text' | 'bigint';
  nullable: boolean;
  /** Values a token may carry beyond the type (e.g. a state must be a JobState). */
  allowed?: readonly string[];
}

interface SortOrder {
  columns: Column[];
  /** The key expressions for column expressions `c` (the table's columns, or the token's parameters). */
  keys(direction: SortDirection, c: string[]): string[];
}

// Nulls last in both directions: a flag that sorts nulls after the rest whichever way the tuple runs.
const nullsLast = (direction: SortDirection, c: string) => (direction === 'ascending' ? `(${c} IS NULL)` : `(${c} IS NOT NULL)`);
const STATE_ORDER = `'{IN_QUEUE,RUNNING,SUSPENDED,SUCCESS,FAILURE,EXPIRED}'::text[]`;

const BY_EXPIRY: SortOrder = {
  columns: [{ field: 'expires_at', type: 'bigint', nullable: true }],
  keys: (d, [expires]) => [nullsLast(d, expires!), `coalesce(${expires}, 0)`],
};

const ORDERS: Record<JobsSortBy, SortOrder> = {
  createdAt: { columns: [], keys: () => [] },
  name: {
    columns: [{ field: 'name', type: 'text', nullable: true }],
    // An empty name counts as none: the list shows the application in its place. Natural order: digit runs
    // compare by value (migration 010's jobdeck_natural_key), so `batch-12` comes before `batch-102`.
    keys: (d, [name]) => [
      d === 'ascending' ? `(coalesce(${name}, '') = '')` : `(coalesce(${name}, '') <> '')`,
      `(jobdeck_natural_key(coalesce(lower(${name}), '')) COLLATE "C")`,
    ],
  },
  application: {
    columns: [
      { field: 'app_name', type: 'text', nullable: false },
      { field: 'app_version', type: 'text', nullable: false },
    ],
    keys: (_d, [app, version]) => [`(${app} COLLATE "C")`, `(${version} COLLATE "C")`],
  },
  state: {
    columns: [{ field: 'state', type: 'text', nullable: false, allowed: JOB_STATES }],
    keys: (_d, [state]) => [`array_position(${STATE_ORDER}, ${state})`],
  },
  lastUpdate: {
    columns: [{ field: 'modified_at', type: 'bigint', nullable: false }],
    keys: (_d, [modified]) => [modified!],
  },
  expiresAt: BY_EXPIRY,
  // UCloud's: time left counts down to expiresAt, so it is the same order (its own tokens, though).
  timeLeft: BY_EXPIRY,
  createdBy: {
    columns: [{ field: 'owner', type: 'text', nullable: false }],
    keys: (_d, [owner]) => [`(${owner} COLLATE "C")`],
  },
};

/** Where the previous page ended: its last row's sort values and id. */
export interface PageCursor {
  values: (string | number | null)[];
  id: number;
}

export interface SortedQuery {
  /** A WHERE condition for the rows after the cursor, or null on the first page. */
  after: string | null;
  orderBy: string;
}

/**
 * The ORDER BY and the after-the-cursor condition for a sort; the cursor's values are appended to `params`
 * (PostgreSQL's $n numbering continues from what is already there).
 */
export function sortedQuery(sortBy: JobsSortBy, direction: SortDirection, cursor: PageCursor | null, params: unknown[]): SortedQuery {
  const order = ORDERS[sortBy];
  const dir = direction === 'descending' ? 'DESC' : 'ASC';
  const rowKeys = [...order.keys(direction, order.columns.map((c) => c.field)), 'id'];
  const orderBy = rowKeys.map((k) => `${k} ${dir}`).join(', ');
  if (!cursor) return { after: null, orderBy };
  const placeholders = order.columns.map((column, i) => {
    params.push(cursor.values[i]);
    return `$${params.length}::${column.type}`;
  });
  params.push(cursor.id);
  const cursorKeys = [...order.keys(direction, placeholders), `$${params.length}::bigint`];
  return { after: `(${rowKeys.join(', ')}) ${dir === 'DESC' ? '<' : '>'} (${cursorKeys.join(', ')})`, orderBy };
}

const DIRECTION_CODE: Record<SortDirection, string> = { ascending: 'a', descending: 'd' };
const ID_TOKEN = /^[0-9]{1,18}$/;
const SORTED_TOKEN = /^([A-Za-z]{1,20})\.([ad])\.([A-Za-z0-9_-]+)$/;

/** The `next` token for the page that ends with `row`. */
export function nextToken(sortBy: JobsSortBy, direction: SortDirection, row: JobRow): string {
  if (sortBy === 'createdAt') return String(row.id);
  const values = ORDERS[sortBy].columns.map((c) => row[c.field] as string | number | null);
  return `${sortBy}.${DIRECTION_CODE[direction]}.${Buffer.from(JSON.stringify([...values, row.id])).toString('base64url')}`;
}

const notIssued = () => badRequest('next: not a page token this server issued');

function describeOrder(sortBy: string, direction: SortDirection | null): string {
  return `sortBy '${sortBy}'${direction ? ` ${direction}` : ''}`;
}

/**
 * Reads a `next` token for the given order. A token from a page with another sortBy or sortDirection is a 400
 * that says so (its position means nothing in this order); anything else that is not a token this server
 * issued is a 400 too. Never a 500: the values are type-checked before they reach SQL.
 */
export function parseNextToken(next: string | undefined, sortBy: JobsSortBy, direction: SortDirection): PageCursor | null {
  if (next === undefined || next === '') return null;
  const mismatch = (tokenSort: string, tokenDirection: SortDirection | null) =>
    badRequest(
      `next: this page token belongs to ${describeOrder(tokenSort, tokenDirection)}, not ${describeOrder(sortBy, direction)}; ` +
        `send the sortBy and sortDirection of the first page, or leave next out to start again`,
    );
  if (ID_TOKEN.test(next)) {
    if (sortBy !== 'createdAt') throw mismatch('createdAt', null);
    return { values: [], id: Number(next) };
  }
  const match = SORTED_TOKEN.exec(next);
  if (!match || !(JOB_SORT_KEYS as readonly string[]).includes(match[1]!)) throw notIssued();
  const tokenSort = match[1] as JobsSortBy;
  const tokenDirection: SortDirection = match[2] === 'a' ? 'ascending' : 'descending';
  if (tokenSort !== sortBy || tokenDirection !== direction) throw mismatch(tokenSort, tokenDirection);

  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(match[3]!, 'base64url').toString('utf8'));
  } catch {
    throw notIssued();
  }
  const columns = ORDERS[sortBy].columns;
  if (!Array.isArray(decoded) || decoded.length !== columns.length + 1) throw notIssued();
  const id = decoded.at(-1);
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw notIssued();
  const values = columns.map((column, i) => {
    const value: unknown = decoded[i];
    if (value === null && column.nullable) return null;
    if (column.type === 'bigint') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw notIssued();
      return value;
    }
    // PostgreSQL text cannot hold U+0000.
    if (typeof value !== 'string' || value.includes('\u0000')) throw notIssued();
    if (column.allowed && !column.allowed.includes(value)) throw notIssued();
    return value;
  });
  return { values, id };
}
