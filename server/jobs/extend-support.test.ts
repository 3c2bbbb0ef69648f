import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { control, createJob, databaseSpec } from '../test/jobs';

// A catalog with one more product on the same provider whose scheduler cannot extend (as a Slurm partition
// is for a plain account): the core, not the provider, must refuse the extend, naming the reason.
let dir: string;
let catalogFile: string;
const fixed = { id: 'fixed-limit', category: 'fixed-limit', provider: 'example' };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-catalog-'));
  const base = fs.readFileSync(path.join(__dirname, '../catalog/default-catalog.yaml'), 'utf8');
  const extra = `  - id: fixed-limit\n    category: fixed-limit\n    provider: example\n    description: No extension here.\n` +
    `    cpu: 1\n    memoryInGigs: 1\n    gpu: 0\n    supportsPeers: true\n    supportsTimeExtension: false\n`;
  catalogFile = path.join(dir, 'catalog.yaml');
  fs.writeFileSync(catalogFile, `${base.trimEnd()}\n${extra}`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const t = sharedApp(() => ({ catalogFile }));

describe('a product that does not support time extension', () => {
  it('says so in products.browse', async () => {
    const products = (await t.call('GET', '/api/products/browse?filterProvider=example', t.tokens.user)).json();
    const flags = Object.fromEntries(products.items.map((p: { id: string; supportsTimeExtension: boolean }) => [p.id, p.supportsTimeExtension]));
    expect(flags).toEqual({ 'example-compute': true, 'example-compute-1': true, 'fixed-limit': false });
  });

  it('has extend refused with a 400 that names the item and says why, and the job keeps its allocation', async () => {
    const id = await createJob(t, databaseSpec('/fixed/one', { product: fixed }));
    await control(t, id, { state: 'RUNNING' });
    const before = (await t.call('GET', `/api/jobs/retrieve?id=${id}`, t.tokens.user)).json();
    const extend = await t.call('POST', '/api/jobs/extend', t.tokens.user, {
      items: [{ jobId: id, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }],
    });
    expect(extend.statusCode).toBe(400);
    expect(extend.json().why).toMatch(/^items\[0\]\.jobId: time extension is not supported by this provider/);
    const after = (await t.call('GET', `/api/jobs/retrieve?id=${id}`, t.tokens.user)).json();
    expect(after.specification.timeAllocation).toEqual(before.specification.timeAllocation);
    expect(after.status.expiresAt).toEqual(before.status.expiresAt);
  });

  it('still lets a job on an extendable product be extended', async () => {
    const id = await createJob(t, databaseSpec('/fixed/two'));
    await control(t, id, { state: 'RUNNING' });
    const extend = await t.call('POST', '/api/jobs/extend', t.tokens.user, {
      items: [{ jobId: id, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }],
    });
    expect(extend.statusCode).toBe(200);
  });
});
