import crypto from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/index';
import type { EventBus } from '../live/bus';
import type { JobState } from '../../contract/jobs';
import { isFinalState } from '../../contract/jobs';
import type { Transport } from '../provider/kit/transport';
import { isSuccess, whyOf } from '../provider/kit/transport';

/** A grant works once, for this long (epoch ms from its creation). */
export const GRANT_TTL_MS = 60_000;
/** A session cookie lasts at most this long; the job ending ends it sooner. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** How long a job's state and interface address are trusted without asking again (events refresh them sooner). */
const JOB_CACHE_MS = 30_000;
/** Sessions looked up recently, kept in memory so that a page's every request is not a query. */
const MAX_CACHED_SESSIONS = 10_000;

export const hashSecret = (secret: string) => crypto.createHash('sha256').update(secret).digest('hex');
/** 256 bits, URL- and cookie-safe. */
const newSecret = () => crypto.randomBytes(32).toString('base64url');

export interface Session {
  jobId: string;
  owner: string;
  expiresAt: number;
}

/** What the proxy knows about a job: whose it is, its state, and (while it runs) where its interface listens. */
export interface JobAccess {
  owner: string;
  state: JobState;
  /** `http://host:port`, or why there is none (the provider's own words). */
  target: { url: string } | { why: string } | null;
  checkedAt: number;
}

export interface InterfaceServiceOptions {
  db: Db;
  bus: EventBus;
  /** Core → provider HTTP, as SERVICE. */
  transportFor: () => (provider: string) => Transport;
  serviceToken: string;
  log: FastifyBaseLogger;
  now?: () => number;
}

/**
 * Grants, sessions and the jobs behind them (README.md). Grants and sessions live in the database, hashed, so any
 * process of a shared PostgreSQL can redeem and check them; sessions and job states are cached here, and job events
 * from the bus (other processes' too) refresh a cached job at once, so an interface stops the moment its job ends.
 */
export class InterfaceService {
  private readonly sessions = new Map<string, Session>();
  private readonly jobsCache = new Map<string, JobAccess>();
  private readonly loading = new Map<string, Promise<JobAccess | null>>();
  private readonly unsubscribe: () => void;
  private readonly now: () => number;
  /** Replaceable in tests: where a running job's interface listens (asks its provider by default). */
  resolveTarget: (jobId: string, provider: string) => Promise<{ url: string } | { why: string }>;

  constructor(private readonly opts: InterfaceServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.resolveTarget = (jobId, provider) => this.askProvider(jobId, provider);
    this.unsubscribe = opts.bus.subscribe((event) => {
      if (event.kind !== 'job') return;
      const cached = this.jobsCache.get(event.jobId);
      if (!cached) return;
      const state = event.job.status.state;
      if (state === cached.state) return;
      // A new state: drop what was known, so the next request asks again (and a final state is remembered at once).
      if (isFinalState(state)) this.jobsCache.set(event.jobId, { ...cached, state, target: null, checkedAt: this.now() });
      else this.jobsCache.delete(event.jobId);
    });
  }

  close() {
    this.unsubscribe();
  }

  /** A single-use grant for the owner's job; the caller has checked that the job is theirs and has an interface. */
  async createGrant(jobId: string, owner: string): Promise<{ grant: string; expiresAt: number }> {
    const grant = newSecret();
    const now = this.now();
    const expiresAt = now + GRANT_TTL_MS;
    await this.opts.db.tx(async (q) => {
      // Expired grants and sessions are useless; clearing them here keeps both tables small without a loop.
      await q.query(`DELETE FROM interface_grants WHERE expires_at <= $1`, [now]);
      await q.query(`DELETE FROM interface_sessions WHERE expires_at <= $1`, [now]);
      await q.query(`INSERT INTO interface_grants (hash, job_id, owner, expires_at) VALUES ($1, $2, $3, $4)`, [
        hashSecret(grant),
        Number(jobId),
        owner,
        expiresAt,
      ]);
    });
    return { grant, expiresAt };
  }

  /**
   * Redeems a grant at the job's host: it is deleted whether or not it is still valid, and it must be for this job.
   * Returns the new session's secret (the cookie) and the session, or null for a grant that is unknown, used,
   * expired or for another job.
   */
  async redeem(grant: string, hostJobId: string): Promise<{ secret: string; session: Session } | null> {
    const now = this.now();
    const [row] = await this.opts.db.query<{ job_id: string | number; owner: string; expires_at: string | number }>(
      `DELETE FROM interface_grants WHERE hash = $1 RETURNING job_id, owner, expires_at`,
      [hashSecret(grant)],
    );
    if (!row || Number(row.expires_at) <= now || String(row.job_id) !== hostJobId) return null;
    const secret = newSecret();
    const session: Session = { jobId: hostJobId, owner: row.owner, expiresAt: now + SESSION_TTL_MS };
    await this.opts.db.query(
      `INSERT INTO interface_sessions (hash, job_id, owner, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
      [hashSecret(secret), Number(hostJobId), session.owner, now, session.expiresAt],
    );
    this.remember(hashSecret(secret), session);
    return { secret, session };
  }

  /** The session a cookie stands for, if it is valid and for this job's host. */
  async session(secret: string, hostJobId: string): Promise<Session | null> {
    const hash = hashSecret(secret);
    let session = this.sessions.get(hash);
    if (!session) {
      const [row] = await this.opts.db.query<{ job_id: string | number; owner: string; expires_at: string | number }>(
        `SELECT job_id, owner, expires_at FROM interface_sessions WHERE hash = $1`,
        [hash],
      );
      if (!row) return null;
      session = { jobId: String(row.job_id), owner: row.owner, expiresAt: Number(row.expires_at) };
      this.remember(hash, session);
    }
    if (session.expiresAt <= this.now() || session.jobId !== hostJobId) return null;
    return session;
  }

  private remember(hash: string, session: Session) {
    if (this.sessions.size >= MAX_CACHED_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(hash, session);
  }

  /** The job as the proxy needs it, from the cache while fresh; null if there is no such job. */
  async job(jobId: string): Promise<JobAccess | null> {
    const cached = this.jobsCache.get(jobId);
    if (cached && this.now() - cached.checkedAt < JOB_CACHE_MS) return cached;
    let pending = this.loading.get(jobId);
    if (!pending) {
      pending = this.load(jobId).finally(() => this.loading.delete(jobId));
      this.loading.set(jobId, pending);
    }
    return pending;
  }

  /** Forgets what is known of a job (its interface stopped answering), so the next request asks again. */
  forget(jobId: string) {
    this.jobsCache.delete(jobId);
  }

  private async load(jobId: string): Promise<JobAccess | null> {
    if (!/^[0-9]{1,18}$/.test(jobId)) return null;
    const [row] = await this.opts.db.query<{ owner: string; state: JobState; provider: string }>(
      `SELECT owner, state, provider FROM jobs WHERE id = $1`,
      [Number(jobId)],
    );
    if (!row) return null;
    const access: JobAccess = {
      owner: row.owner,
      state: row.state,
      target: row.state === 'RUNNING' ? await this.resolveTarget(jobId, row.provider) : null,
      checkedAt: this.now(),
    };
    // A running job whose address could not be had (it is only just starting, or its provider is away) is asked
    // again next time rather than remembered as broken.
    if (!(access.target && 'why' in access.target)) this.jobsCache.set(jobId, access);
    return access;
  }

  /** Asks the job's provider where its interface listens (GET /ucloud/<provider>/jobs/interface, SERVICE). */
  private async askProvider(jobId: string, provider: string): Promise<{ url: string } | { why: string }> {
    try {
      const result = await this.opts.transportFor()(provider)(
        'GET',
        `/ucloud/${encodeURIComponent(provider)}/jobs/interface?id=${encodeURIComponent(jobId)}`,
        this.opts.serviceToken,
      );
      if (!isSuccess(result.status)) return { why: whyOf(result) };
      const { host, port } = result.body as { host: string; port: number };
      return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
    } catch (error) {
      this.opts.log.warn({ jobId, provider, err: error }, 'interface: the provider could not be asked for the address');
      return { why: `provider '${provider}' could not be reached (${(error as Error).message})` };
    }
  }
}
