import type { Db, Queryable } from '../db/index';
import type { Catalog } from '../catalog/catalog';
import type { EventBus } from '../live/bus';
import type { IncludeFlags, Job, JobsSortBy, JobSpecification, JobState, SortDirection } from '../../contract/jobs';
import type { SimpleDuration } from '../../contract/common';
import { badRequest, conflict, notFound } from '../http/errors';
import { checkSpecification, type CheckedSpec } from './validate-spec';
import { ID_PATTERN, toJob, type JobRow, type JobUpdateRow } from './model';
import { ACTIVE_JOB_STATES, isActiveState } from '../../contract/constants';
import { applyControlUpdates, type ControlItem } from './control-update';
import { durationToMillis, MAX_TIME_ALLOCATION_MS } from '../../contract/common';
import { nextToken, sortedQuery, type PageCursor } from './sort';
import { withResolved } from './resolved';

/** How the core reaches providers (contract §5). The provider issue plugs the real one in. */
export interface ProviderGateway {
  created(jobs: Job[]): void;
  terminate(jobs: Job[]): void;
  extend(items: { job: Job; requestedTime: SimpleDuration }[]): void;
}

export const noProviderGateway: ProviderGateway = { created() {}, terminate() {}, extend() {} };

export interface BrowseOptions {
  itemsPerPage: number;
  /** Where the previous page ended (from its `next` token), or null for the first page. */
  after: PageCursor | null;
  includeUpdates: boolean;
  includeParameters: boolean;
  filterState: JobState | null;
  filterApplication: string | null;
  /** UCloud's resource filters (contract/jobs.ts JobsBrowseQuery). */
  filterCreatedBy?: string | null;
  filterCreatedAfter?: number | null;
  filterCreatedBefore?: number | null;
  filterProvider?: string | null;
  /** No jobs at all: UCloud's `filterType=VMS_ONLY`, since Jobdeck runs no virtual machines. */
  none?: boolean;
  include?: IncludeFlags;
  /** Name contains (case-insensitive), or the id is exactly this. */
  filterQuery?: string | null;
  sortBy: JobsSortBy;
  sortDirection: SortDirection;
}

/** A job's row, with its updates when they were asked for. */
type WithUpdates = JobRow & { updates?: JobUpdateRow[] };

/**
 * A job's updates as a column of its row's own statement, so that row and updates are one snapshot: read in two
 * statements, a job could come with an update that its state does not show yet (jobs.follow would then send "Done"
 * with the state still RUNNING, and nothing after it). json_agg keeps the columns' names and int8 as numbers.
 */
const updatesColumn = (include: boolean) =>
  include ? `, COALESCE((SELECT json_agg(u ORDER BY u.seq) FROM job_updates u WHERE u.job_id = jobs.id), '[]'::json) AS updates` : '';

export class JobsService {
  gateway: ProviderGateway = noProviderGateway;

  constructor(
    private readonly db: Db,
    private readonly catalog: Catalog,
    private readonly bus: EventBus,
  ) {}

  /** Jobs by id with their updates, in the given order; ids that do not exist are skipped. */
  async loadJobs(q: Queryable, ids: number[], includeUpdates = true): Promise<Job[]> {
    if (ids.length === 0) return [];
    const rows = await q.query<WithUpdates>(`SELECT *${updatesColumn(includeUpdates)} FROM jobs WHERE id = ANY($1::bigint[])`, [ids]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      return row ? [toJob(row, row.updates)] : [];
    });
  }

  async create(owner: string, items: JobSpecification[]): Promise<{ id: string }[]> {
    const checked = items.map((spec, i) => checkSpecification(this.catalog, spec, `items[${i}]`));
    const ids = await this.db.tx(async (q) => {
      await this.checkPeers(q, owner, checked);
      await this.checkDuplicates(q, owner, checked);
      const now = Date.now();
      const created: number[] = [];
      for (const c of checked) {
        const [row] = await q.query<{ id: number }>(
          `INSERT INTO jobs (owner, provider, app_name, app_version, name, specification, duplicate_key,
                             time_allocation_ms, created_at, modified_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
          [owner, c.product.provider, c.application.name, c.application.version, c.specification.name,
           JSON.stringify(c.specification), c.duplicateKey, c.timeAllocationMs, now],
        );
        const id = row!.id;
        created.push(id);
        if (c.peers.length > 0) {
          await q.query(
            `INSERT INTO job_peers (job_id, hostname, peer_job_id) SELECT $1, h, p FROM unnest($2::text[], $3::bigint[]) AS t(h, p)`,
            [id, c.peers.map((p) => p.hostname), c.peers.map((p) => Number(p.jobId))],
          );
        }
      }
      return created;
    });
    const jobs = await this.loadJobs(this.db, ids);
    for (const job of jobs) this.publish(job);
    this.gateway.created(jobs);
    return ids.map((id) => ({ id: String(id) }));
  }

  /** Contract §3: a peer must exist, be the caller's, be RUNNING and run on the same provider. */
  private async checkPeers(q: Queryable, owner: string, checked: CheckedSpec[]) {
    const wanted = [...new Set(checked.flatMap((c) => c.peers.map((p) => Number(p.jobId))))];
    if (wanted.length === 0) return;
    const rows = await q.query<{ id: number; state: string; provider: string }>(
      `SELECT id, state, provider FROM jobs WHERE id = ANY($1::bigint[]) AND owner = $2`,
      [wanted, owner],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const c of checked) {
      for (const peer of c.peers) {
        const found = byId.get(Number(peer.jobId));
        // Missing and foreign jobs give the same answer, so another user's job ids cannot be probed.
        if (!found) throw badRequest(`${peer.field}.jobId: no job '${peer.jobId}' of yours exists`);
        if (found.state !== 'RUNNING') {
          throw badRequest(`${peer.field}.jobId: job '${peer.jobId}' is ${found.state}; only RUNNING jobs can be connected to`);
        }
        if (found.provider !== c.product.provider) {
          throw badRequest(`${peer.field}.jobId: job '${peer.jobId}' runs on provider '${found.provider}', not '${c.product.provider}'`);
        }
      }
    }
  }

  private async checkDuplicates(q: Queryable, owner: string, checked: CheckedSpec[]) {
    const keys = checked.filter((c) => !c.specification.allowDuplicateJob).map((c) => c.duplicateKey);
    if (keys.length === 0) return;
    const rows = await q.query<{ id: number; duplicate_key: string }>(
      `SELECT id, duplicate_key FROM jobs WHERE owner = $1 AND duplicate_key = ANY($2::text[]) AND state = ANY($3::text[]) LIMIT 1`,
      [owner, keys, ACTIVE_JOB_STATES],
    );
    if (rows[0]) {
      const index = checked.findIndex((c) => c.duplicateKey === rows[0]!.duplicate_key);
      throw conflict(
        `items[${index}]: job ${rows[0].id} is already running with the same application, machine type and parameters; ` +
          `send allowDuplicateJob: true to start another`,
        'DUPLICATE_JOB',
      );
    }
  }

  async browse(owner: string | null, provider: string | null, opts: BrowseOptions) {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (owner !== null) add('owner = ?', owner);
    if (provider !== null) add('provider = ?', provider);
    if (opts.filterState) add('state = ?', opts.filterState);
    if (opts.filterApplication) add('app_name = ?', opts.filterApplication);
    if (opts.filterCreatedBy) add('owner = ?', opts.filterCreatedBy);
    if (opts.filterCreatedAfter != null) add('created_at >= ?', opts.filterCreatedAfter);
    if (opts.filterCreatedBefore != null) add('created_at <= ?', opts.filterCreatedBefore);
    if (opts.filterProvider) add('provider = ?', opts.filterProvider);
    if (opts.none) where.push('false');
    if (opts.filterQuery) {
      params.push(opts.filterQuery.toLowerCase());
      const id = /^#?[0-9]{1,18}$/.test(opts.filterQuery) ? Number(opts.filterQuery.replace('#', '')) : null;
      const byName = `strpos(lower(coalesce(name, '')), $${params.length}) > 0`;
      if (id === null) where.push(byName);
      else {
        params.push(id);
        where.push(`(${byName} OR id = $${params.length})`);
      }
    }
    const { after, orderBy } = sortedQuery(opts.sortBy, opts.sortDirection, opts.after, params);
    if (after) where.push(after);
    params.push(opts.itemsPerPage + 1);
    const rows = await this.db.query<WithUpdates>(
      `SELECT *${updatesColumn(opts.includeUpdates === true)} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ${orderBy} LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, opts.itemsPerPage);
    return {
      items: page.map((row) => withResolved(this.catalog, toJob(row, row.updates, opts.includeParameters), opts.include ?? {})),
      itemsPerPage: opts.itemsPerPage,
      next: rows.length > opts.itemsPerPage ? nextToken(opts.sortBy, opts.sortDirection, page.at(-1)!) : null,
    };
  }

  /** The caller's job, or 404 for a job that is missing or someone else's (same answer for both). */
  async retrieve(owner: string, id: string, includeUpdates: boolean, include: IncludeFlags = {}): Promise<Job> {
    const job = ID_PATTERN.test(id) ? await this.ownedJob(this.db, owner, Number(id), includeUpdates) : null;
    if (!job) throw notFound(`id: no job '${id}'`);
    return withResolved(this.catalog, job, include);
  }

  /** UCloud's `jobs.control.retrieve`: one of the provider's jobs, or 404 (another provider's job is missing to it). */
  async retrieveForProvider(provider: string, id: string, includeUpdates: boolean, include: IncludeFlags = {}): Promise<Job> {
    const rows = ID_PATTERN.test(id)
      ? await this.db.query<WithUpdates>(`SELECT *${updatesColumn(includeUpdates)} FROM jobs WHERE id = $1 AND provider = $2`, [Number(id), provider])
      : [];
    if (!rows[0]) throw notFound(`id: no job '${id}'`);
    return withResolved(this.catalog, toJob(rows[0], rows[0].updates), include);
  }

  private async ownedJob(q: Queryable, owner: string, id: number, includeUpdates: boolean): Promise<Job | null> {
    const rows = await q.query<WithUpdates>(`SELECT *${updatesColumn(includeUpdates)} FROM jobs WHERE id = $1 AND owner = $2`, [id, owner]);
    if (!rows[0]) return null;
    return toJob(rows[0], rows[0].updates);
  }

  /** Extension: jobs that connect to the given job (reverse peers), with the hostname they use. */
  async browseConnected(owner: string, id: string) {
    await this.retrieve(owner, id, false);
    const rows = await this.db.query<JobRow & { peer_hostname: string }>(
      `SELECT j.*, p.hostname AS peer_hostname FROM job_peers p JOIN jobs j ON j.id = p.job_id
       WHERE p.peer_job_id = $1 AND j.owner = $2 ORDER BY j.id DESC LIMIT 1000`,
      [Number(id), owner],
    );
    return { items: rows.map((row) => ({ hostname: row.peer_hostname, job: toJob(row) })) };
  }

  private async ownedBatch(owner: string, ids: string[], field: (i: number) => string): Promise<Job[]> {
    ids.forEach((id, i) => {
      if (!ID_PATTERN.test(id)) throw notFound(`${field(i)}: no job '${id}'`);
    });
    const jobs = await this.loadJobs(this.db, ids.map(Number), false);
    const mine = new Map(jobs.filter((j) => j.owner.createdBy === owner).map((j) => [j.id, j]));
    ids.forEach((id, i) => {
      if (!mine.has(id)) throw notFound(`${field(i)}: no job '${id}'`);
    });
    return ids.map((id) => mine.get(id)!);
  }

  async terminate(owner: string, ids: string[]) {
    const jobs = await this.ownedBatch(owner, ids, (i) => `items[${i}].id`);
    const active = jobs.filter((j) => isActiveState(j.status.state));
    if (active.length > 0) this.gateway.terminate(active);
    return { responses: jobs.map(() => ({})) };
  }

  async extend(owner: string, items: { jobId: string; requestedTime: SimpleDuration }[]) {
    const jobs = await this.ownedBatch(owner, items.map((i) => i.jobId), (i) => `items[${i}].jobId`);
    // What each job would have in all once every item is applied (many items may name one job), from what it has
    // now: its allocation, or for a job without one, what it has run (as the provider counts it).
    const rows = await this.db.query<{ id: number; time_allocation_ms: number | null; started_at: number | null }>(
      `SELECT id, time_allocation_ms, started_at FROM jobs WHERE id = ANY($1::bigint[])`,
      [[...new Set(jobs.map((j) => Number(j.id)))]],
    );
    const now = Date.now();
    const total = new Map(rows.map((r) => [String(r.id), r.time_allocation_ms ?? (r.started_at === null ? 0 : now - r.started_at)]));
    items.forEach((item, i) => {
      const ms = durationToMillis(item.requestedTime);
      if (ms <= 0) throw badRequest(`items[${i}].requestedTime: must be longer than zero`);
      const after = (total.get(item.jobId) ?? 0) + ms;
      total.set(item.jobId, after);
      if (after > MAX_TIME_ALLOCATION_MS) {
        throw badRequest(
          `items[${i}].requestedTime: job '${item.jobId}' would have ${Math.floor(after / 3600_000)} hours in all; ` +
            `a job may have at most ${MAX_TIME_ALLOCATION_MS / 3600_000} hours (the product's maximum)`,
        );
      }
      if (!isActiveState(jobs[i]!.status.state)) {
        throw badRequest(`items[${i}].jobId: job '${item.jobId}' is ${jobs[i]!.status.state} and can no longer be extended`);
      }
      const { id, category, provider } = jobs[i]!.specification.product;
      if (this.catalog.findProduct(id, category, provider)?.supportsTimeExtension === false) {
        throw badRequest(`items[${i}].jobId: time extension is not supported by this provider ('${provider}', product '${id}')`);
      }
    });
    this.gateway.extend(items.map((item, i) => ({ job: jobs[i]!, requestedTime: item.requestedTime })));
    return { responses: jobs.map(() => ({})) };
  }

  /**
   * Contract §4: all ids must be the provider's (else 404, nothing applied); each update is then applied
   * or dropped by the expected-state rules (control-update.ts), and final states never change.
   */
  async controlUpdate(provider: string, items: ControlItem[]): Promise<void> {
    await applyControlUpdates(this.db, this.bus, provider, items);
  }

  private publish(job: Job) {
    this.bus.publish({
      kind: 'job',
      owner: job.owner.createdBy,
      provider: job.specification.product.provider,
      jobId: job.id,
      job: { ...job, updates: [] },
      updates: job.updates,
      newStatus: job.status,
    });
  }
}
