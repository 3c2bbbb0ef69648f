import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Credentials } from '../auth/bootstrap';

/** Test and bench helpers: real server processes (`node --import tsx server/main.ts`) and throw-away PostgreSQL databases. */

/** Why PostgreSQL at `url` cannot be used, or null when it can. */
export async function postgresUnreachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The PostgreSQL of the tests that need one whatever the leg (several server processes on one database): the
 * PostgreSQL leg's JOBDECK_TEST_DATABASE_URL, else JOBDECK_TEST_POSTGRES_URL (scripts/test.mjs sets it on the PGlite
 * leg, which must not see JOBDECK_TEST_DATABASE_URL), else the default.
 */
export const POSTGRES_TEST_URL =
  process.env.JOBDECK_TEST_DATABASE_URL || process.env.JOBDECK_TEST_POSTGRES_URL || 'postgres://root@127.0.0.1:5432/test';

/**
 * For tests that need a real PostgreSQL: when none answers at `url`, skips the test, saying why (a user's machine
 * may have none), except under CI, where it fails: CI always has one, and a green run must not hide that these
 * tests never ran. The URL is printed without credentials.
 */
export async function skipWithoutPostgres(ctx: { skip: (note?: string) => void }, url: string, what: string): Promise<void> {
  const unreachable = await postgresUnreachable(url);
  if (!unreachable) return;
  const where = url.replace(/\/\/[^@/]*@/, '//');
  if (process.env.CI) throw new Error(`CI: no PostgreSQL reachable at ${where} for ${what} (${unreachable}); CI must run it, not skip it`);
  console.warn(`Skipping ${what}: no PostgreSQL reachable at ${where} (${unreachable})`);
  ctx.skip(`no PostgreSQL reachable at ${where}: ${unreachable}`);
}

/** A fresh database on the server of `baseUrl`; drop() removes it, disconnecting whoever is left. */
export async function freshDatabase(baseUrl: string, prefix = 'jobdeck_t'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      await client.end();
    },
  };
}

export interface ServerProcess {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:41234 */
  base: string;
  dataDir: string;
  credentials: Credentials;
  output: () => string;
  /** SIGTERM, and wait for the exit. */
  stop: () => Promise<number | null>;
  /** SIGKILL, and wait for the exit: no shutdown code runs. */
  kill: () => Promise<void>;
}

/** Starts `server/main.ts` on a free port with its own data directory, and waits until it listens. */
export function startServer(
  env: Record<string, string>,
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-proc-')),
  /** Run the server under this account (tests of what an unprivileged server can do). */
  as?: { uid: number; gid: number },
): Promise<ServerProcess> {
  // One process: tsx's CLI would run the server in a child of its own, which a SIGKILL of the CLI leaves running
  // (an orphan still holding its port, its database connections and, here, the leader lock).
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      JOBDECK_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      JOBDECK_EXAMPLE_PROVIDER: 'off',
      DATABASE_URL: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(as ?? {}),
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60 s:\n${out}`)), 60_000);
    const onData = () => {
      const match = /Jobdeck is running at (\S+)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      const credentials = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as Credentials;
      resolve({
        child,
        base: match[1]!,
        dataDir,
        credentials,
        output: () => out,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
        kill: async () => {
          if (child.exitCode === null) child.kill('SIGKILL');
          await exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
}

/** fetch with a bearer and a JSON body, returning status and parsed body. */
export async function request(base: string, method: string, url: string, token: string, body?: unknown) {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}
