import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import Postgrator from 'postgrator';
import { PreparedStatements } from './pglite-prepared';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface QueryOptions {
  /**
   * A name for the statement, which is then parsed and planned once and its plan reused: real PostgreSQL keeps one
   * per connection and rebuilds it whenever ANALYZE (autovacuum) changes the statistics of a table it reads; PGlite,
   * which never analyzes on its own, parses it again every so often (pglite-prepared.ts). One name, one text: the
   * same name with another text is an error.
   */
  prepare?: string;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<T[]>;
  /** Runs a parameterless script of several statements (migrations). */
  exec(script: string): Promise<void>;
  /** Runs fn in one transaction; a throw rolls everything back. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to a NOTIFY channel; resolves to an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /**
   * NOTIFY for something this process must act on before it answers (a revocation): its own listeners have run when
   * this resolves, not whenever the server's echo arrives. They hear the echo too, so they must be idempotent.
   */
  announce(channel: string, payload: string): Promise<void>;
  /** Real PostgreSQL only: a connection of its own, outside the pool (leader election holds one for its lifetime). */
  openSession?(): Promise<pg.Client>;
  close(): Promise<void>;
}

const INT8 = 20;
const NUMERIC = 1700;
// Epoch-millisecond timestamps and ids are int8; they fit in a double, so hand them to JS as numbers.
const parseInt8 = (v: string) => Number(v);

const migrationsDir = () => {
  // Bundled builds (dist/server) ship migrations beside the bundle; tsx runs from the source tree.
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'migrations'), path.join(here, 'db', 'migrations')];
  const found = candidates.find((dir) => fs.existsSync(dir));
  if (!found) throw new Error(`No migrations folder near ${here}`);
  return found;
};

interface MigrationTarget {
  query(sql: string): Promise<unknown[]>;
  exec(script: string): Promise<void>;
}

async function migrate(target: MigrationTarget, schema: string): Promise<void> {
  const postgrator = new Postgrator({
    migrationPattern: path.join(migrationsDir(), '*.sql'),
    driver: 'pg',
    schemaTable: 'schemaversion',
    // Without it Postgrator's "does the version table exist" check sees other schemas' tables too.
    currentSchema: schema,
    execQuery: async (sql) => ({ rows: await target.query(sql) }),
    execSqlScript: (script) => target.exec(script),
  });
  await postgrator.migrate();
}

const MIGRATION_LOCK = 7_263_251;

/** Replicas sharing one PostgreSQL may start together: migrate on one connection under an advisory lock. */
async function migratePostgres(config: pg.ClientConfig, schema: string): Promise<void> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrate({ query: async (sql) => (await client.query(sql)).rows, exec: async (script) => void (await client.query(script)) }, schema);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    await client.end();
  }
}

class PGliteDb implements Db {
  readonly kind = 'pglite' as const;
  private readonly prepared: PreparedStatements;

  constructor(private readonly pgl: PGlite) {
    this.prepared = new PreparedStatements(pgl);
  }

  /** A copy of the whole database; tests clone a migrated template instead of migrating again (0.9 s vs 3 s). */
  async clone(): Promise<PGliteDb> {
    return new PGliteDb((await this.pgl.clone()) as PGlite);
  }

  async exec(script: string) {
    await this.pgl.exec(script);
  }

  async query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<T[]> {
    if (options?.prepare) return this.prepared.query<T>(options.prepare, sql, params ?? []);
    const result = await this.pgl.query<T>(sql, params as unknown[] | undefined);
    return result.rows;
  }

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.pgl.transaction(async (t) =>
      fn({ query: async <R>(sql: string, params?: unknown[]) => (await t.query<R>(sql, params)).rows }),
    );
  }

  async listen(channel: string, onPayload: (payload: string) => void) {
    const unlisten = await this.pgl.listen(channel, onPayload);
    return () => unlisten();
  }

  async notify(channel: string, payload: string) {
    await this.pgl.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  // PGlite runs its listeners in this process as the NOTIFY's query completes: nothing to add.
  announce(channel: string, payload: string) {
    return this.notify(channel, payload);
  }

  close() {
    return this.pgl.close();
  }
}

class PostgresDb implements Db {
  readonly kind = 'postgres' as const;
  private listenClient: pg.Client | null = null;
  private closed = false;
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly clientConfig: pg.ClientConfig,
  ) {
    // An idle client that loses its connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    // And no pool client may ever emit 'error' with nobody listening: an unhandled 'error' event (FATAL 57P01 on
    // an idle pg Client, not in a query, after pg_terminate_backend) crashes the server (robustness/db-faults.test.ts).
    // Errors still reach queries, and the pool still discards broken clients.
    pool.on('connect', (client) => client.on('error', () => {}));
  }

  async exec(script: string) {
    await this.pool.query(script);
  }

  async query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<T[]> {
    const values = params as unknown[] | undefined;
    const result = await (options?.prepare ? this.pool.query({ name: options.prepare, text: sql, values }) : this.pool.query(sql, values));
    return result.rows as T[];
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // While checked out, a client has no 'error' listener of the pool's: a connection killed under a transaction
    // (server restart, pg_terminate_backend) would otherwise crash the process. Such a client is discarded.
    let broken: Error | undefined;
    const onError = (error: Error) => void (broken ??= error);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const value = await fn({ query: async <R>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[] });
      await client.query('COMMIT');
      return value;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      if (isConnectionLost(error)) broken ??= error as Error;
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /** One LISTEN connection at a time: connecting is shared, and errors of a replaced connection are ignored. */
  private connectingListen: Promise<pg.Client> | null = null;

  private ensureListenClient(): Promise<pg.Client> {
    if (this.listenClient) return Promise.resolve(this.listenClient);
    this.connectingListen ??= (async () => {
      const client = new pg.Client(this.clientConfig);
      client.on('notification', (msg) => {
        if (client !== this.listenClient) return;
        for (const cb of this.listeners.get(msg.channel) ?? []) cb(msg.payload ?? '');
      });
      client.on('error', () => {
        // pg reports a killed connection twice (the server's FATAL message, then the socket's end): reconnect once.
        if (client !== this.listenClient || this.closed) return;
        // Reconnect and re-LISTEN; events published while down are recovered by clients' REST refetch.
        this.listenClient = null;
        client.end().catch(() => {});
        setTimeout(() => void this.relisten(), 500).unref();
      });
      try {
        await client.connect();
      } catch (error) {
        client.end().catch(() => {});
        throw error;
      }
      this.listenClient = client;
      return client;
    })().finally(() => {
      this.connectingListen = null;
    });
    return this.connectingListen;
  }

  private async relisten() {
    if (this.closed || this.listenClient) return;
    try {
      const client = await this.ensureListenClient();
      for (const channel of this.listeners.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch {
      const failed = this.listenClient as pg.Client | null;
      this.listenClient = null;
      failed?.end().catch(() => {});
      setTimeout(() => void this.relisten(), 1000).unref();
    }
  }

  async listen(channel: string, onPayload: (payload: string) => void) {
    const client = await this.ensureListenClient();
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    set.add(onPayload);
    return async () => {
      set.delete(onPayload);
    };
  }

  async notify(channel: string, payload: string) {
    await this.pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async announce(channel: string, payload: string) {
    await this.notify(channel, payload);
    // The echo comes back on the LISTEN connection some time later (seen: a revoked interface still answering one
    // more request under load); this process's listeners act now.
    for (const cb of [...(this.listeners.get(channel) ?? [])]) cb(payload);
  }

  async openSession(): Promise<pg.Client> {
    const client = new pg.Client({ ...this.clientConfig, keepAlive: true, connectionTimeoutMillis: 5000 });
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => {});
      throw error;
    }
    return client;
  }

  async close() {
    this.closed = true;
    const client = this.listenClient;
    this.listenClient = null;
    if (client) {
      client.removeAllListeners('error');
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
    await this.pool.end();
  }
}

/** The connection itself is gone (killed backend, server restart, network): the client cannot be reused. */
function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: string; severity?: string; message?: string } | null;
  if (!e) return false;
  return e.severity === 'FATAL' || (typeof e.code === 'string' && e.code.startsWith('57P')) || /Connection terminated|ECONNRESET|EPIPE/.test(e.message ?? '');
}

export async function cloneDb(db: Db): Promise<Db> {
  if (!(db instanceof PGliteDb)) throw new Error('Only an embedded database can be cloned');
  return db.clone();
}

export interface OpenDbOptions {
  /** postgres://… to use a real server; otherwise PGlite. */
  databaseUrl?: string | null;
  /** PGlite data directory; omitted means in memory. */
  dataDir?: string | null;
  /** Real PostgreSQL only: a schema to create and use (isolates test runs sharing one database). */
  schema?: string | null;
}

export async function openDb(options: OpenDbOptions = {}): Promise<Db> {
  if (options.databaseUrl) {
    const types = {
      getTypeParser: (oid: number, format?: string) =>
        oid === INT8 || oid === NUMERIC ? parseInt8 : pg.types.getTypeParser(oid, format as 'text'),
    };
    const clientConfig: pg.ClientConfig = {
      connectionString: options.databaseUrl,
      types: types as pg.CustomTypesConfig,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    };
    if (options.schema) {
      const admin = new pg.Client({ connectionString: options.databaseUrl });
      await admin.connect();
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(options.schema)}`);
      await admin.end();
    }
    await migratePostgres(clientConfig, options.schema ?? 'public');
    return new PostgresDb(new pg.Pool({ ...clientConfig, max: 10 }), clientConfig);
  } else {
    if (options.dataDir) fs.mkdirSync(options.dataDir, { recursive: true });
    const pgl = await PGlite.create(options.dataDir ?? undefined, {
      parsers: { [INT8]: parseInt8, [NUMERIC]: parseInt8 },
    });
    const db = new PGliteDb(pgl);
    await migrate(db, 'public');
    return db;
  }
}

/** Drops a test schema created by openDb({schema}). */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await admin.end();
}
