import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Db, Queryable } from './index';

/*
 * The embedded database (PGlite) runs in a worker thread (pglite-worker.mjs): its statements execute synchronously in
 * WebAssembly, and on the main thread each would stop every request and socket for as long as it runs. Here each
 * database is a handle that sends its statements to that thread. A database and its clones share one thread.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
// Beside this module in the source tree, and beside the server bundle (scripts/build-server.mjs).
const WORKER = path.join(here, 'pglite-worker.mjs');

type Reply = { id: number; result?: unknown; error?: Record<string, unknown> } | { notify: number; payload: string };

/** A database error as the worker described it: the same message, code, detail and position as PGlite's own. */
function rebuild(fields: Record<string, unknown>): Error {
  const error = new Error(String(fields.message));
  Object.assign(error, fields);
  return error;
}

/** The worker thread, shared by a database and its clones. */
class DbThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly listeners = new Map<number, (payload: string) => void>();
  private nextId = 1;
  private handles = 0;
  private dead: Error | null = null;

  constructor() {
    this.worker = new Worker(WORKER);
    // Idle, the thread keeps nobody alive; a request in flight does (see request).
    this.worker.unref();
    this.worker.on('message', (m: Reply) => {
      if ('notify' in m) return this.listeners.get(m.notify)?.(m.payload);
      const waiter = this.waiting.get(m.id);
      if (!waiter) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (m.error) waiter.reject(rebuild(m.error));
      else waiter.resolve(m.result);
    });
    const die = (error: Error) => {
      this.dead = error;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    this.worker.on('error', (error) => die(new Error(`the embedded database's thread failed: ${error.message}`)));
    this.worker.on('exit', (code) => die(new Error(`the embedded database's thread exited (code ${code})`)));
  }

  request<T>(message: Record<string, unknown>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, ...message });
    });
  }

  newListener(onPayload: (payload: string) => void): number {
    const id = this.nextId++;
    this.listeners.set(id, onPayload);
    return id;
  }

  removeListener(id: number) {
    this.listeners.delete(id);
  }

  opened() {
    this.handles += 1;
  }

  async closed() {
    this.handles -= 1;
    if (this.handles === 0) await this.worker.terminate();
  }
}

export class PGliteDb implements Db {
  readonly kind = 'pglite' as const;
  private constructor(
    private readonly thread: DbThread,
    private readonly id: number,
  ) {
    thread.opened();
  }

  /** `dataDir` null: in memory. */
  static async open(dataDir: string | null): Promise<PGliteDb> {
    const thread = new DbThread();
    try {
      return new PGliteDb(thread, await thread.request<number>({ op: 'open', dataDir }));
    } catch (error) {
      thread.opened();
      await thread.closed();
      throw error;
    }
  }

  /** A copy of the whole database; tests clone a migrated template instead of migrating again (0.9 s vs 3 s). */
  async clone(): Promise<PGliteDb> {
    return new PGliteDb(this.thread, await this.thread.request<number>({ op: 'clone', db: this.id }));
  }

  async exec(script: string) {
    await this.thread.request({ op: 'exec', db: this.id, script });
  }

  query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.thread.request<T[]>({ op: 'query', db: this.id, sql, params });
  }

  async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const tx = await this.thread.request<number>({ op: 'txBegin', db: this.id });
    let result: T;
    try {
      result = await fn({ query: <R>(sql: string, params?: unknown[]) => this.thread.request<R[]>({ op: 'query', tx, sql, params }) });
    } catch (error) {
      await this.thread.request({ op: 'txEnd', tx, commit: false });
      throw error;
    }
    await this.thread.request({ op: 'txEnd', tx, commit: true });
    return result;
  }

  async listen(channel: string, onPayload: (payload: string) => void) {
    // Registered before the thread subscribes: a notification may come before the reply does.
    const listener = this.thread.newListener(onPayload);
    try {
      await this.thread.request({ op: 'listen', db: this.id, channel, listener });
    } catch (error) {
      this.thread.removeListener(listener);
      throw error;
    }
    return async () => {
      this.thread.removeListener(listener);
      await this.thread.request({ op: 'unlisten', listener });
    };
  }

  async notify(channel: string, payload: string) {
    await this.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  // PGlite runs its listeners as the NOTIFY's query completes, and the thread sends them before the query's reply:
  // this process's listeners have run when this resolves.
  announce(channel: string, payload: string) {
    return this.notify(channel, payload);
  }

  private isClosed = false;

  async close() {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      await this.thread.request({ op: 'close', db: this.id });
    } finally {
      await this.thread.closed();
    }
  }
}
