import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { openDb, dropSchema, cloneDb, type Db } from '../db/index';
import { buildApp, type BuildOptions } from '../app';
import type { Config } from '../config';
import type { Credentials } from '../auth/bootstrap';
import type { AppParts } from '../context';

/** Set by the test runner for the PostgreSQL leg; otherwise tests use an in-memory PGlite. */
export const TEST_DATABASE_URL = process.env.JOBDECK_TEST_DATABASE_URL || null;

export interface TestApp {
  app: FastifyInstance;
  db: Db;
  tokens: Credentials;
  dataDir: string;
  parts: AppParts;
  /** inject with a bearer token and a JSON body. */
  call(method: InjectOptions['method'], url: string, token: string | null, body?: unknown): Promise<LightMyRequestResponse>;
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

export async function buildTestApp(config: Partial<Config> = {}, options: Pick<BuildOptions, 'lagSource' | 'logger'> = {}): Promise<TestApp> {
  const { db, cleanup } = await openTestDb();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-test-'));
  // The example provider accepts jobs but leaves them IN_QUEUE (tests drive states with control/update), and
  // its image-pull tasks would land in every test's task streams; tests that want either ask for it. Shedding on
  // event-loop lag is off: on a machine loaded by other runs a PGlite clone can stall the loop past any limit, and
  // a 503 there would say nothing about the code under test (server/tasks/load-shed.test.ts turns it on).
  const parts: AppParts = {};
  const app = await buildApp({
    ...options,
    db,
    parts,
    // The simulator unless a test asks for real processes (exampleBackend: 'local'): most tests are about the core.
    // No slurm provider unless a test names a cluster (slurmUrl), whatever JOBDECK_SLURM_URL says.
    config: { dataDir, publicDir: null, slurmUrl: null, exampleBackend: 'simulator', exampleImagePull: false, exampleQueueDelayMs: 3_600_000, shedLagMs: 0, ...config },
  });
  await app.ready();
  const tokens = app.services.credentials;
  return {
    app,
    db,
    tokens,
    dataDir,
    parts,
    call: injectCaller(app),
    close: async () => {
      await app.close();
      await cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
