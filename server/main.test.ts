import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-main-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

/** Starts `server/main.ts` as a user would (embedded PGlite in a data dir) and waits for its sign-in link. */
function startServer(): Promise<{ child: ChildProcess; base: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: { ...process.env, PORT: '0', JOBDECK_DATA_DIR: dataDir, LOG_LEVEL: 'warn', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    child.stdout!.on('data', () => {
      const match = /Jobdeck is running at (\S+)/.exec(out);
      if (match && /Sign in as 'user'/.test(out)) {
        clearTimeout(timer);
        resolve({ child, base: match[1]!, output: () => out });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

describe('the server process', () => {
  it('prints a sign-in link, stops cleanly on SIGTERM, and starts again with its data', async () => {
    const first = await startServer();
    const creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8'));
    expect(first.output()).toContain(`${first.base}/#token=${creds.user}`);
    const health = await fetch(`${first.base}/api/health`);
    expect(await health.json()).toMatchObject({ status: 'ok', database: 'pglite', leader: true, load: { taskQueue: 0 } });
    const created = await fetch(`${first.base}/api/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${creds.user}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ application: { name: 'acme-batch', version: '1.0.0' }, product: { id: 'example-compute', category: 'example-compute', provider: 'example' }, replicas: 1, allowDuplicateJob: false, parameters: { value: { type: 'text', value: 'hi' } } }] }),
    });
    const id = (await created.json()).responses[0].id;

    const stopped = exited(first.child);
    const t0 = Date.now();
    first.child.kill('SIGTERM');
    expect(await stopped).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);

    const second = await startServer();
    const job = await fetch(`${second.base}/api/jobs/retrieve?id=${id}`, { headers: { authorization: `Bearer ${creds.user}` } });
    expect(job.status).toBe(200);
    const secondStopped = exited(second.child);
    second.child.kill('SIGINT');
    expect(await secondStopped).toBe(0);
  }, 180_000);
});
