import type pg from 'pg';
import type { Db } from './index';

/*
 * One leader among the server processes that share a database. The leader runs the background loops (verify,
 * delivery of queued provider calls, task retention, the built-in provider's simulator); the others only serve
 * requests. On PostgreSQL the leader is the process holding a session-level advisory lock on a connection of its
 * own, kept for the process's lifetime: PostgreSQL releases the lock the moment that session ends (process killed,
 * connection dropped), so there is never more than one holder. A process that loses the connection stops its
 * loops at once and tries again; one that is not the leader tries every `retryMs`. PGlite is one process, so it is
 * always the leader.
 */

export interface Leadership {
  isLeader(): boolean;
  /** Called on every change, synchronously; returns an unsubscribe function. */
  onChange(listener: (leader: boolean) => void): () => void;
  /** Gives up leadership (if held) and closes the connection. */
  stop(): Promise<void>;
  /**
   * The backend pid of the leader's own session on PostgreSQL while it leads (null otherwise, and on PGlite).
   * Claims made under it end when that session does (jobs/provider-gateway.ts).
   */
  session(): number | null;
}

interface LeaderLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LeaderOptions {
  /** How often a follower tries to take the lock, and how often the leader checks its connection. */
  retryMs: number;
  log: LeaderLog;
}

/** Advisory-lock class for leadership; the second key is the schema's hash, so test schemas each get a leader. */
export const LEADER_LOCK_CLASS = 7_263_252;

export function alwaysLeader(): Leadership {
  return { isLeader: () => true, onChange: () => () => {}, stop: async () => {}, session: () => null };
}

/** Starts the election for this process: the advisory lock on PostgreSQL, always the leader on PGlite. */
export function startLeaderElection(db: Db, options: LeaderOptions): Leadership {
  if (!db.openSession) {
    options.log.info({ leader: true }, 'leader: single-process database, this process is the leader');
    return alwaysLeader();
  }
  const election = new AdvisoryLockLeader(db.openSession.bind(db), options);
  election.start();
  return election;
}

class AdvisoryLockLeader implements Leadership {
  private client: pg.Client | null = null;
  private leader = false;
  private pid: number | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> | null = null;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(
    private readonly openSession: () => Promise<pg.Client>,
    private readonly options: LeaderOptions,
  ) {}

  isLeader() {
    return this.leader;
  }

  session() {
    return this.leader ? this.pid : null;
  }

  onChange(listener: (leader: boolean) => void) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  start() {
    this.step();
  }

  private set(leader: boolean, why: string) {
    if (this.leader === leader) return;
    this.leader = leader;
    if (leader) this.options.log.info({ leader: true, pid: process.pid }, `leader: this process is now the leader (${why})`);
    else this.options.log.warn({ leader: false, pid: process.pid }, `leader: this process is no longer the leader (${why})`);
    for (const listener of [...this.listeners]) {
      try {
        listener(leader);
      } catch (error) {
        this.options.log.warn({ err: error }, 'leader: a listener failed');
      }
    }
  }

  /** One attempt (follower) or one connection check (leader), then the next one after retryMs. */
  private step() {
    if (this.stopped || this.busy) return;
    this.busy = (this.leader ? this.check() : this.attempt())
      .catch((error: unknown) => this.lost(this.client, (error as Error).message))
      .finally(() => {
        this.busy = null;
        if (this.stopped) return;
        this.timer = setTimeout(() => {
          this.timer = null;
          this.step();
        }, this.options.retryMs);
        this.timer.unref?.();
      });
  }

  private async attempt() {
    if (!this.client) {
      const client = await this.openSession();
      // A dropped connection ends leadership at once, not at the next check.
      client.on('error', (error) => this.lost(client, error.message));
      client.on('end', () => this.lost(client, 'the connection ended'));
      if (this.stopped) {
        await client.end().catch(() => {});
        return;
      }
      this.client = client;
    }
    const client = this.client;
    const rows = await client.query<{ ok: boolean; pid: number }>(
      `SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS ok, pg_backend_pid() AS pid`,
      [LEADER_LOCK_CLASS],
    );
    if (rows.rows[0]?.ok && client === this.client && !this.stopped) {
      this.pid = rows.rows[0].pid;
      this.set(true, 'took the advisory lock');
    }
  }

  /** The leader's heartbeat: a connection that no longer answers may have lost the lock without our knowing. */
  private async check() {
    const client = this.client;
    if (!client) return;
    await client.query({ text: 'SELECT 1', query_timeout: Math.max(1000, this.options.retryMs) } as pg.QueryConfig);
  }

  private lost(client: pg.Client | null, why: string) {
    if (!client || client !== this.client) return;
    this.client = null;
    client.removeAllListeners('end');
    client.on('error', () => {});
    client.end().catch(() => {});
    this.set(false, `its database connection was lost: ${why}`);
  }

  async stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.busy;
    const client = this.client;
    this.client = null;
    this.set(false, 'shutting down');
    if (client) {
      client.removeAllListeners('end');
      client.on('error', () => {});
      // Ending the session releases the lock; another process takes it at its next attempt.
      await client.end().catch(() => {});
    }
  }
}

/**
 * Runs a background loop only while this process is the leader and the app is enabled (ready or listening).
 * Starts and stops are applied one at a time, in order, so a quick loss and regain never overlap two runs.
 */
export function whileLeader(
  leadership: Leadership,
  loop: { start: () => void | Promise<void>; stop: () => Promise<void> },
  onError: (error: unknown) => void,
): { enable: () => Promise<void>; disable: () => Promise<void> } {
  let enabled = false;
  let running = false;
  let chain: Promise<void> = Promise.resolve();
  const sync = () => {
    chain = chain.then(async () => {
      const want = enabled && leadership.isLeader();
      if (want === running) return;
      running = want;
      try {
        await (want ? loop.start() : loop.stop());
      } catch (error) {
        onError(error);
      }
    });
    return chain;
  };
  const off = leadership.onChange(() => void sync());
  return {
    enable: () => {
      enabled = true;
      return sync();
    },
    disable: () => {
      enabled = false;
      off();
      return sync();
    },
  };
}
