import { CALL_ID_HEADER, MAX_CALL_ID_LENGTH } from '../../../contract/jobs';
import type { Db, Queryable } from '../../db/index';
import { badRequest } from '../../http/errors';

/*
 * Jobdeck-Call-Id (server/provider/README.md): the core names the queued call behind each item of a bulk request,
 * the same on every retry, so a provider applies each call once however often it is delivered. The sender's side
 * (how many ids fit one header) and the receiver's (reading the header, remembering what it applied) are here.
 */

/** The header stays well inside Node's 16 KiB limit on all of a request's headers. */
export const MAX_CALL_ID_HEADER = 12 * 1024;

/** How many of `ids` fit one Jobdeck-Call-Id header; at least one. */
export function callIdsWithin(ids: readonly number[], maxChars = MAX_CALL_ID_HEADER): number {
  let size = -1;
  for (let i = 0; i < ids.length; i++) {
    size += String(ids[i]).length + 1;
    if (size > maxChars) return Math.max(1, i);
  }
  return ids.length;
}

const CALL_ID = /^[A-Za-z0-9._:-]+$/;

/**
 * The ids of the queued calls a request delivers (one per item, comma-separated, in item order), or undefined
 * without the header: such a call is applied as it always was. A malformed header is a 400 naming it.
 */
export function parseCallIds(headers: Record<string, string | string[] | undefined>, count: number): string[] | undefined {
  const raw = headers[CALL_ID_HEADER];
  if (raw === undefined) return undefined;
  const name = 'Jobdeck-Call-Id';
  // A header sent twice arrives as a list (or joined with commas): either way one list of ids.
  const ids = (Array.isArray(raw) ? raw.join(',') : raw).split(',').map((id) => id.trim());
  ids.forEach((id, i) => {
    if (id === '') throw badRequest(`${name}: id ${i + 1} is empty; send one id per item, separated by commas`);
    if (id.length > MAX_CALL_ID_LENGTH) throw badRequest(`${name}: id ${i + 1} is longer than ${MAX_CALL_ID_LENGTH} characters`);
    if (!CALL_ID.test(id)) throw badRequest(`${name}: id ${i + 1} may only hold A-Z, a-z, 0-9, '.', '_', ':' and '-'`);
  });
  if (ids.length !== count) throw badRequest(`${name}: ${ids.length} ids for ${count} items; send one id per item, in item order`);
  if (new Set(ids).size !== ids.length) throw badRequest(`${name}: an id appears twice; each item is a call of its own`);
  return ids;
}

export interface AppliedCallsOptions {
  db: Db;
  /** The provider's table of applied ids: (call_id PRIMARY KEY, op, job_id, applied_at). */
  table: string;
  /** How long an id is remembered: far longer than any retry takes. */
  retentionMs: number;
  /** How often prune() deletes older ids at most. */
  pruneEveryMs: number;
  /** Prefix of the log lines ("example provider"). */
  name: string;
  log: { info: (obj: object, msg: string) => void };
}

/** The call ids a provider has applied, recorded in the transaction of the change each call makes. */
export class AppliedCalls {
  /** When prune() last deleted old ids (0: not yet in this process). */
  private prunedAt = 0;

  constructor(private readonly opts: AppliedCallsOptions) {}

  /**
   * Records the ids of a request's items and says, item by item, whether the call is new. Without ids (no header)
   * every item is new. Run it inside the transaction of the change, under the provider's state lock: a call is then
   * recorded exactly when its change is.
   */
  async recordCalls(q: Queryable, op: string, jobIds: string[], callIds: string[] | undefined): Promise<boolean[]> {
    if (!callIds) return jobIds.map(() => true);
    const inserted = await q.query<{ call_id: string }>(
      `INSERT INTO ${this.opts.table} (call_id, op, job_id, applied_at)
       SELECT c, $2, j, $4 FROM unnest($1::text[], $3::text[]) AS t(c, j)
       ON CONFLICT (call_id) DO NOTHING RETURNING call_id`,
      [callIds, op, jobIds, Date.now()],
    );
    const fresh = new Set(inserted.map((r) => r.call_id));
    const repeated = callIds.filter((id) => !fresh.has(id));
    if (repeated.length > 0) {
      this.opts.log.info({ op, callIds: repeated }, `${this.opts.name}: calls already applied; answered without applying them again`);
    }
    return callIds.map((id) => fresh.has(id));
  }

  /** Deletes ids older than the retention period, at most once per pruneEveryMs (unless forced); how many went. */
  async prune(now = Date.now(), force = false): Promise<number> {
    if (!force && now - this.prunedAt < this.opts.pruneEveryMs) return 0;
    this.prunedAt = now;
    const [row] = await this.opts.db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM ${this.opts.table} WHERE applied_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [now - this.opts.retentionMs],
    );
    const deleted = row?.n ?? 0;
    if (deleted > 0) this.opts.log.info({ deleted }, `${this.opts.name}: deleted old call ids`);
    return deleted;
  }
}
