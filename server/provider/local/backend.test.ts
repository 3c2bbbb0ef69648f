import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../catalog/catalog';
import { LocalBackend } from './backend';

// The backend alone, without isolation (so it runs the same as root or not): a real supervisor and a real program.
const catalog = loadCatalog();
const POLL = { timeout: 30_000, interval: 20 };
const opened: { backend: LocalBackend; dir: string; jobs: string[] }[] = [];

afterEach(async () => {
  for (const { backend, dir, jobs } of opened.splice(0)) {
    await backend.killAll(jobs.map((jobId) => ({ jobId, slot: null })));
    await backend.close({ teardown: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

async function openBackend() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-backend-'));
  fs.chmodSync(dir, 0o711);
  const backend = await LocalBackend.open({
    dataDir: dir,
    networkIndex: null,
    instance: `bt${process.pid}`,
    loopbackOctet: 200,
    graceMs: 1_000,
    isolation: 'off',
    log: () => undefined,
  });
  const entry = { backend, dir, jobs: [] as string[] };
  opened.push(entry);
  return entry;
}

async function launchWebApp(entry: Awaited<ReturnType<typeof openBackend>>, jobId: string) {
  const application = catalog.applications.find((a) => a.name === 'acme-web-app')!;
  entry.jobs.push(jobId);
  return entry.backend.launch({
    jobId,
    owner: 'user',
    slot: 1,
    application,
    run: catalog.findRun(application.name, application.version)!,
    product: catalog.products[0]!,
    values: {},
    account: null,
    peers: [],
    allowFrom: [],
  });
}

describe('LocalBackend', () => {
  it('tells the reaper when a job has ended, without it reading every job every turn', async () => {
    const entry = await openBackend();
    const { pid } = await launchWebApp(entry, 'w1');
    // The first look sets the watch and says "look"; while the job runs nothing changes in its run folder's exit.
    expect(entry.backend.mayHaveEnded('w1')).toBe(true);
    expect(entry.backend.outcome('w1')).toBeNull();
    expect(entry.backend.mayHaveEnded('w1')).toBe(false);
    process.kill(pid, 'SIGKILL');
    // The supervisor writes exit.json; the watch says so.
    await expect.poll(() => entry.backend.mayHaveEnded('w1'), POLL).toBe(true);
    expect(entry.backend.outcome('w1')).toEqual({ code: null, signal: 'SIGKILL', error: null });
  });
});
