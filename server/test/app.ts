import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { openDb, dropSchema, cloneDb, type Db } from '../db/index';
import { buildApp, type BuildOptions } from '../app';
import type { Config } from '../config';
import type { AppParts } from '../context';
import type { Credentials } from '../auth/bootstrap';

/** Set by the test runner for the PostgreSQL leg; otherwise tests use an in-memory PGlite. */
export const TEST_DATABASE_URL = process.env.JOBDECK_TEST_DATABASE_URL || null;

/** What a test may pass to buildApp besides the database, the config and the parts (those the helper owns). */
export type AppOptions = Omit<BuildOptions, 'db' | 'config' | 'parts'>;

export interface TestApp {
  app: FastifyInstance;
  db: Db;
  /** The bootstrap principals' tokens: `user`, `admin`, `provider`, `ucloud`, … (server/auth/bootstrap.ts). */
  tokens: Credentials;
  dataDir: string;
  /** What the plugins built: the gateway, the verify loop, the providers, the interface service (server/context.ts). */
  parts: AppParts;
  /** inject with a bearer token and a JSON body (a string is sent as is). */
  call(method: InjectOptions['method'], url: string, token: string | null, body?: unknown): Promise<LightMyRequestResponse>;
  /**
   * Closes the app, then drops its database and data directory. The teardown calls it anyway; call it yourself only
   * to stop the app in the middle of a test. A second call does nothing more.
   */
  close(): Promise<void>;
}

/** `call(method, url, token, body)`: inject with a bearer token and a JSON body (a string is sent as is). */
export function injectCaller(app: FastifyInstance): TestApp['call'] {
  return (method, url, token, body) =>
    app.inject({
      method,
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
}

let template: Promise<Db> | undefined;

/**
 * A fresh, migrated database: a clone of a PGlite template, or a new schema in JOBDECK_TEST_DATABASE_URL. For tests of
 * the database layer itself; `cleanup` closes and drops it (the caller's job: no app owns it).
 */
export async function openTestDb(): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  if (TEST_DATABASE_URL) {
    const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
    const db = await openDb({ databaseUrl: TEST_DATABASE_URL, schema });
    return { db, cleanup: async () => { await db.close(); await dropSchema(TEST_DATABASE_URL, schema); } };
  }
  template ??= openDb({});
  const db = await cloneDb(await template);
  return { db, cleanup: () => db.close() };
}

/** Runs `fn` once, however many times the result is called; every call waits for that one run. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

async function startApp(db: Db, config: Partial<Config>, options: AppOptions) {
  const parts: AppParts = {};
  const app = await buildApp({ ...options, db, config, parts });
  await app.ready();
  return { app, parts, closeApp: once(() => app.close()) };
}

/** Builds an app whose teardown is the caller's: build() and sharedApp() register it. */
async function openTestApp(config: Partial<Config>, options: AppOptions): Promise<TestApp> {
  const { db, cleanup } = await openTestDb();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-test-'));
  const removeAll = async () => {
    await cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  // The example provider accepts jobs but leaves them IN_QUEUE (tests drive states with control/update), and
  // its image-pull tasks would land in every test's task streams; tests that want either ask for it. Shedding on
  // event-loop lag is off: on a machine loaded by other runs a PGlite clone can stall the loop past any limit, and
  // a 503 there would say nothing about the code under test (server/tasks/load-shed.test.ts turns it on).
  // The simulator unless a test asks for real processes (exampleBackend: 'local'): most tests are about the core.
  // No slurm provider unless a test names a cluster (slurmUrl), whatever JOBDECK_SLURM_URL says.
  const defaults: Partial<Config> = {
    dataDir,
    publicDir: null,
    slurmUrl: null,
    exampleBackend: 'simulator',
    exampleImagePull: false,
    exampleQueueDelayMs: 3_600_000,
    shedLagMs: 0,
  };
  let started;
  try {
    started = await startApp(db, { ...defaults, ...config }, options);
  } catch (error) {
    await removeAll();
    throw error;
  }
  const { app, parts, closeApp } = started;
  return {
    app,
    db,
    tokens: app.services.credentials,
    dataDir,
    parts,
    call: injectCaller(app),
    close: once(async () => {
      await closeApp();
      await removeAll();
    }),
  };
}

/**
 * An app on a fresh database for the current test: call it in the test or in a `beforeEach`. It is closed, and its
 * database and data directory removed, when the test finishes (after the `afterEach` hooks), pass or fail.
 */
export async function build(config: Partial<Config> = {}, options: AppOptions = {}): Promise<TestApp> {
  const teardown: (() => Promise<void>)[] = [];
  // Registered first: outside a test this throws before anything is opened.
  onTestFinished(async () => {
    for (const close of teardown) await close();
  });
  const built = await openTestApp(config, options);
  teardown.push(built.close);
  return built;
}

/**
 * One app for every test of the enclosing `describe` block (or of the file, at top level): built in a `beforeAll`,
 * closed in an `afterAll`. Call it where you would call `beforeAll`; the object it returns is filled in when that hook
 * runs, so a later `beforeAll` of the same block can already use it. `config` may be a function, read when the hook
 * runs (for a file or a directory an earlier `beforeAll` makes). `timeoutMs` bounds both hooks (vitest's default else).
 */
export function sharedApp(config: Partial<Config> | (() => Partial<Config>) = {}, options: AppOptions = {}, timeoutMs?: number): TestApp {
  const shared = {} as TestApp;
  let built: TestApp | undefined;
  beforeAll(async () => {
    built = await openTestApp(typeof config === 'function' ? config() : config, options);
    Object.assign(shared, built);
  }, timeoutMs);
  afterAll(() => built?.close(), timeoutMs);
  return shared;
}

/**
 * In a test: stops the app (its provider and loops included) and builds a new one on the same database and data
 * directory, as a restart of the server would. `between` runs while nothing is running. The new app is closed when the
 * test finishes, before the database goes.
 */
export async function restart(t: TestApp, config: Partial<Config>, between?: () => Promise<void>): Promise<TestApp> {
  const appsToClose: (() => Promise<void>)[] = [];
  const close = once(async () => {
    for (const closeApp of appsToClose) await closeApp();
    await t.close();
  });
  onTestFinished(close);
  await t.app.close();
  await between?.();
  const started = await startApp(t.db, { dataDir: t.dataDir, publicDir: null, exampleImagePull: false, ...config }, {});
  appsToClose.push(started.closeApp);
  return { ...t, app: started.app, parts: started.parts, call: injectCaller(started.app), close };
}
