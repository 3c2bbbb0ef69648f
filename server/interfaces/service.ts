import crypto from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/index';
import type { EventBus } from '../live/bus';
import type { JobState } from '../../contract/jobs';
import { isFinalState } from '../../contract/jobs';
import type { Transport } from '../provider/kit/transport';
import { isSuccess, whyOf } from '../provider/kit/transport';
import { TOKEN_REVOKED_CHANNEL } from '../auth/token-cache';
import { memoize } from './memo';

/** A grant works once, for this long (epoch ms from its creation). */
export const GRANT_TTL_MS = 60_000;
/** A session cookie lasts at most this long; the job ending ends it sooner. */
export const SESSION_TTL_MS = 12 * 3600_000;
/** How long a job's state and interface address are trusted without asking again (events refresh them sooner). */
const JOB_CACHE_MS = 30_000;
/** Sessions looked up recently, kept in memory so that a page's every request is not a query. */
const MAX_CACHED_SESSIONS = 10_000;
/**
 * A backstop only: a cached session is checked against the database again after this long, so one deleted there by
 * some other means stops within it. Revocation (the owner's tokens revoked) and the job ending act at once.
 */
export const SESSION_RECHECK_MS = 30_000;

export const hashSecret = (secret: string) => crypto.createHash('sha256').update(secret).digest('hex');
/**
 * A cookie's hash, remembered, since every request of a page brings the same cookie. A hash is a pure function of
 * the cookie, so remembering it never outlives a revocation or an expiry: those act on the session the hash finds.
 * A session secret is 43 characters; a longer cookie is no session and is hashed each time rather than kept.
 */
const hashCookie = memoize(hashSecret, { max: MAX_CACHED_SESSIONS, maxKeyLength: 64 });
/** 256 bits, URL- and cookie-safe. */
const newSecret = () => crypto.randomBytes(32).toString('base64url');

export interface Session {
  jobId: string;
  owner: string;
  expiresAt: number;
}

/** Whose interfaces must stop answering at once: a job that ended, or an owner whose tokens were revoked. */
export type Revoked = { jobId: string } | { owner: string };

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
  private readonly sessions = new Map<string, Session & { checkedAt: number }>();
  private readonly revokedListeners = new Set<(revoked: Revoked) => void>();
  private unlisten: Promise<() => Promise<void>> | null = null;
  /** Bumped by each revocation, so a lookup under way when one lands does not cache what it read. */
  private generation = 0;
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
      if (isFinalState(state)) {
        this.jobsCache.set(event.jobId, { ...cached, state, target: null, checkedAt: this.now() });
        this.emitRevoked({ jobId: event.jobId });
      } else this.jobsCache.delete(event.jobId);
    });
    // An owner whose tokens are revoked (in any process of a shared database) loses their interfaces too.
    this.unlisten = opts.db.listen(TOKEN_REVOKED_CHANNEL, (owner) => void this.revokeOwner(owner));
    this.unlisten.catch((error: unknown) => opts.log.warn({ err: error }, 'interface: cannot hear token revocations'));
  }

  close() {
    this.unsubscribe();
    void this.unlisten?.then((off) => off()).catch(() => {});
  }

  /** Called when interfaces must stop answering (their open WebSockets are closed by the proxy). */
  onRevoked(listener: (revoked: Revoked) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  private emitRevoked(revoked: Revoked) {
    for (const listener of this.revokedListeners) listener(revoked);
  }

  /** Ends every interface session of an owner: forgotten here at once, deleted from the database. */
  async revokeOwner(owner: string): Promise<void> {
    this.forgetOwner(owner);
    this.emitRevoked({ owner });
    try {
      await this.opts.db.query(`DELETE FROM interface_sessions WHERE owner = $1`, [owner]);
    } catch (error) {
      this.opts.log.warn({ err: error }, 'interface: could not delete the sessions of a revoked owner');
    }
    // A lookup that read a row before the delete may have cached it since.
    this.forgetOwner(owner);
  }

  private forgetOwner(owner: string) {
    this.generation += 1;
    for (const [hash, session] of this.sessions) if (session.owner === owner) this.sessions.delete(hash);
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
    this.remember(hashSecret(secret), session, now);
    return { secret, session };
  }

  /** The session a cookie stands for, if it is valid and for this job's host. */
  async session(secret: string, hostJobId: string): Promise<Session | null> {
    const hash = hashCookie(secret);
    let session: Session | null | undefined = this.cachedSession(hash);
    if (!session) {
      const generation = this.generation;
      const [row] = await this.opts.db.query<{ job_id: string | number; owner: string; expires_at: string | number }>(
        `SELECT job_id, owner, expires_at FROM interface_sessions WHERE hash = $1`,
        [hash],
      );
      if (!row) {
        this.sessions.delete(hash);
        return null;
      }
      session = { jobId: String(row.job_id), owner: row.owner, expiresAt: Number(row.expires_at) };
      if (generation === this.generation) this.remember(hash, session, this.now());
    }
    return this.valid(session, hostJobId);
  }

  /**
   * The proxy's path for every request after a page's first: the session and the job, when both are in memory and
   * fresh, with no promise and no query; undefined when either has to be looked up (then use session() and job()).
   */
  cached(secret: string, hostJobId: string): { session: Session | null; job: JobAccess | null } | undefined {
    const session = this.cachedSession(hashCookie(secret));
    const job = this.jobsCache.get(hostJobId);
    if (!session || !job || this.now() - job.checkedAt >= JOB_CACHE_MS) return undefined;
    return { session: this.valid(session, hostJobId), job };
  }

  private cachedSession(hash: string): Session | undefined {
    const session = this.sessions.get(hash);
    return session && this.now() - session.checkedAt < SESSION_RECHECK_MS ? session : undefined;
  }

  private valid(session: Session, hostJobId: string): Session | null {
    return session.expiresAt <= this.now() || session.jobId !== hostJobId ? null : session;
  }

  private remember(hash: string, session: Session, checkedAt: number) {
    this.sessions.delete(hash);
    if (this.sessions.size >= MAX_CACHED_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(hash, { ...session, checkedAt });
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
