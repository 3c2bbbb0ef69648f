import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, dropSchema, type OpenDbOptions } from './db/index';
import { buildApp } from './app';
import { TEST_DATABASE_URL } from './test/app';
import { databaseSpec } from './test/jobs';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-restart-'));
const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
const dbOptions: OpenDbOptions = TEST_DATABASE_URL ? { databaseUrl: TEST_DATABASE_URL, schema } : { dataDir: path.join(dataDir, 'db') };

afterAll(async () => {
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (TEST_DATABASE_URL) await dropSchema(TEST_DATABASE_URL, schema);
});

async function start(log?: Writable) {
  const db = await openDb(dbOptions);
  const app = await buildApp({ db, config: { dataDir, publicDir: null, exampleBackend: 'simulator' }, ...(log ? { logger: { level: 'info', stream: log } } : {}) });
  await app.ready();
  const call = (method: 'GET' | 'POST', url: string, token: string, body?: unknown) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(body ? { payload: body as object } : {}) });
  return { app, call, close: async () => { await app.close(); await db.close(); } };
}

// The simulator runs the example provider's jobs: this file is about the core's persistence, and a real job
// started here would outlive both servers (jobs survive a restart by design) and this file's data directory.
// Opening PGlite on disk takes seconds, and far longer on a loaded machine.
describe(`a restart (${TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite on disk'})`, { timeout: 120_000 }, () => {
  it('loses no job, no update and no token, and keeps the same credentials', async () => {
    const first = await start();
    const creds = first.app.services.credentials;
    const created = await first.call('POST', '/api/jobs', creds.user, { items: [databaseSpec('/restart/a')] });
    const id = created.json().responses[0].id;
    await first.call('POST', '/api/jobs/control/update', creds.provider, {
      items: [{ id, update: { state: 'RUNNING', status: 'Up', outputFolder: '/out', expectedState: null, expectedDifferentState: null, newTimeAllocation: null, timestamp: 0 } }],
    });
    const before = (await first.call('GET', `/api/jobs/retrieve?id=${id}`, creds.user)).json();
    await first.close();

    const second = await start();
    expect(second.app.services.credentials).toEqual(creds);
    const after = await second.call('GET', `/api/jobs/retrieve?id=${id}`, creds.user);
    expect(after.statusCode).toBe(200);
    // Nothing acknowledged is lost. The provider may legitimately have added updates since, so compare as a prefix.
    const job = after.json();
    expect(job.updates.slice(0, before.updates.length)).toEqual(before.updates);
    expect(job.updates.length).toBeGreaterThanOrEqual(before.updates.length);
    for (const field of ['id', 'owner', 'specification', 'createdAt'] as const) expect(job[field]).toEqual(before[field]);
    expect(job.status.startedAt).toBe(before.status.startedAt);
    expect(job.output).toEqual({ outputFolder: '/out' });
    // The job's version (status.version) is stored with it: it carries on from where it was, never starting over.
    expect(job.status.version).toBeGreaterThanOrEqual(before.status.version);
    await second.call('POST', '/api/jobs/control/update', creds.provider, {
      items: [{ id, update: { state: null, status: 'After the restart', outputFolder: null, expectedState: null, expectedDifferentState: null, newTimeAllocation: null, timestamp: 0 } }],
    });
    const later = (await second.call('GET', `/api/jobs/retrieve?id=${id}`, creds.user)).json();
    expect(later.status.version).toBeGreaterThan(job.status.version);
    // The id sequence carries on rather than reusing ids.
    const next = await second.call('POST', '/api/jobs', creds.user, { items: [databaseSpec('/restart/b')] });
    expect(next.json(), next.body).toHaveProperty('responses');
    expect(Number(next.json().responses[0].id)).toBeGreaterThan(Number(id));
    await second.close();
  });

  it('never writes a token to the log', async () => {
    const chunks: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { chunks.push(String(chunk)); done(); } });
    const server = await start(sink);
    const creds = server.app.services.credentials;
    await server.call('GET', '/api/jobs/browse', creds.user);
    await server.call('POST', '/api/jobs', creds.user, { items: [{ nonsense: true }] });
    await server.call('GET', '/api/jobs/browse', 'not-a-real-token-but-secret');
    await server.close();
    const log = chunks.join('');
    expect(log).toMatch(/"url":"\/api\/jobs\/browse"/);
    for (const secret of [...Object.values(creds), 'not-a-real-token-but-secret']) expect(log).not.toContain(secret);
  });
});
