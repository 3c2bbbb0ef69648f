import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { TEST_DATABASE_URL } from '../test/app';
import { webApp } from '../test/jobs';
import { freePort } from '../test/provider';
import { readCredentials, type Credentials } from '../auth/bootstrap';
import { runCli } from '../cli';
import type { Job, JobState } from '../../contract/jobs';

// The whole server as a real process: killed with SIGKILL while jobs run, then started again on the same data.
const VERIFY_INTERVAL_MS = 1500;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-restart-'));
let databaseUrl = '';
let databaseName: string | null = null;
let server: { child: ChildProcess; base: string } | null = null;

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL! });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (TEST_DATABASE_URL) {
    // A database of its own: the server uses DATABASE_URL as it stands, in its default schema.
    databaseName = `jobdeck_restart_${crypto.randomBytes(5).toString('hex')}`;
    await admin(`CREATE DATABASE ${databaseName}`);
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${databaseName}`;
    databaseUrl = url.toString();
  }
});

afterAll(async () => {
  if (server) await kill(server.child);
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (databaseName) await admin(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
});

async function start(): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'server/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      JOBDECK_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      JOBDECK_PUBLIC_DIR: path.join(dataDir, 'no-spa'),
      LOG_LEVEL: 'warn',
      JOBDECK_VERIFY_INTERVAL_MS: String(VERIFY_INTERVAL_MS),
      // The durability of the provider's and the core's state across SIGKILLs; real jobs across a restart are
      // local/real-jobs.test.ts's (a SIGKILLed server here would leave its real jobs running).
      JOBDECK_EXAMPLE_BACKEND: 'simulator',
      JOBDECK_EXAMPLE_QUEUE_MS: '300',
      JOBDECK_EXAMPLE_TICK_MS: '25',
      JOBDECK_PROVIDER_RETRY_MS: '100',
      JOBDECK_PROVIDER_RETRY_MAX_MS: '500',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so SIGKILL reaches tsx's child process too.
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    child.stdout!.on('data', () => {
      const match = /Jobdeck is running at (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, base: match[1]! });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
}

async function kill(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
}

describe('killing the server while jobs run', () => {
  let credentials: Credentials;
  const call = async (method: string, url: string, token: string, body?: unknown) => {
    const response = await fetch(server!.base + url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const job = async (id: string) => (await call('GET', `/api/jobs/retrieve?id=${id}&includeUpdates=true`, credentials.user)).body as unknown as Job;
  const create = async (fields = {}) => {
    const response = await call('POST', '/api/jobs', credentials.user, { items: [webApp(fields)] });
    expect(response.status).toBe(200);
    return (response.body.responses as { id: string }[])[0]!.id;
  };
  const poll = { timeout: 20_000, interval: 50 };
  const waitFor = (id: string, state: JobState) => expect.poll(async () => (await job(id)).status.state, poll).toBe(state);

  test('loses no job, and within one verify interval every job agrees with the provider', { timeout: 180_000 }, async () => {
    server = await start();
    credentials = readCredentials(dataDir)!;

    const service = await create();
    const shortLived = await create({ timeAllocation: { hours: 0, minutes: 0, seconds: 2 } });
    const forgotten = await create();
    await waitFor(service, 'RUNNING');
    await waitFor(shortLived, 'RUNNING');
    await waitFor(forgotten, 'RUNNING');
    const expiresAt = (await job(shortLived)).status.expiresAt!;

    // The operator makes the provider forget a job (contract §8), and the server dies before verify runs.
    const lines: string[] = [];
    await runCli(['provider', 'forget', forgotten], { baseUrl: server.base, credentials, out: (l) => lines.push(l) });
    expect(lines).toEqual([`Provider 'example' forgot job ${forgotten}; the next verify sweep marks it FAILURE ("Your job is no longer available").`]);
    // A job created a moment before the crash, while its create call may still be under way.
    const lastMinute = await create();
    const serviceBefore = await job(service);
    await kill(server.child);

    // Stay down past the short job's end, so it expires while the provider is offline.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(expiresAt + 2_500), { timeout: 10_000, interval: 100 });
    server = await start();
    const restartedAt = Date.now();

    // No job is lost.
    const browse = await call('GET', '/api/jobs/browse?itemsPerPage=50', credentials.user);
    expect((browse.body.items as Job[]).map((j) => j.id).sort()).toEqual([service, shortLived, forgotten, lastMinute].sort());

    // Within one verify interval (plus the time to notice it), the core agrees with the provider on every job.
    const agreement = async () => {
      const views: string[] = [];
      for (const id of [service, shortLived, forgotten, lastMinute]) {
        const core = await job(id);
        const provider = await call('GET', `/ucloud/example/jobs/retrieve?id=${id}`, credentials.ucloud);
        const providerState = provider.status === 404 ? 'FAILURE (unknown to the provider)' : (provider.body.state as string);
        const coreState = core.status.state === 'FAILURE' && provider.status === 404 ? 'FAILURE (unknown to the provider)' : core.status.state;
        views.push(`${id}: core ${coreState}, provider ${providerState}`);
      }
      return views;
    };
    const expected = [
      `${service}: core RUNNING, provider RUNNING`,
      `${shortLived}: core EXPIRED, provider EXPIRED`,
      `${forgotten}: core FAILURE (unknown to the provider), provider FAILURE (unknown to the provider)`,
      `${lastMinute}: core RUNNING, provider RUNNING`,
    ];
    await expect.poll(agreement, { timeout: VERIFY_INTERVAL_MS + 5_000, interval: 50 }).toEqual(expected);
    expect(Date.now() - restartedAt).toBeLessThan(VERIFY_INTERVAL_MS + 5_000);

    const expired = await job(shortLived);
    expect(expired.updates.at(-1)!.status).toMatch(/^Time allocation of 2 s ran out at \S+ while the provider was offline; the job has expired$/);
    expect((await job(forgotten)).updates.at(-1)!.status).toBe('Your job is no longer available');
    // The running service kept its history and its times across the crash.
    const serviceAfter = await job(service);
    expect(serviceAfter.status).toEqual(serviceBefore.status);
    expect(serviceAfter.updates).toEqual(serviceBefore.updates);
  });
});
