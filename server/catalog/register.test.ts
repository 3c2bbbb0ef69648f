import { describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { createJob } from '../test/jobs';
import { createUser, issueToken } from '../auth/tokens';
import { loadCatalog } from './catalog';
import { RegisteredProducts } from './registered';

/* A provider registers its own products (the slurm provider: its partitions); they join the catalog's. */

const product = (id: string, provider = 'slurm', extra: Record<string, unknown> = {}) => ({
  id,
  category: id,
  provider,
  description: `partition ${id}`,
  cpu: 2,
  memoryInGigs: 8,
  gpu: 0,
  supportsPeers: false,
  supportsTimeExtension: false,
  ...extra,
});

const t = sharedApp();

const register = (items: unknown[], token = t.tokens.slurm) => t.call('POST', '/api/products/control/register', token, { items });
const browse = async (provider: string) =>
  (await t.call('GET', `/api/products/browse?filterProvider=${provider}`, t.tokens.user)).json().items as { id: string }[];

describe('POST /api/products/control/register', () => {
  it("adds the caller's products to the catalog, and a second call replaces them", async () => {
    expect((await register([product('batch'), product('short')])).statusCode).toBe(200);
    expect((await browse('slurm')).map((p) => p.id)).toEqual(['batch', 'short']);
    expect((await browse('example')).length).toBeGreaterThan(0);
    expect((await register([product('batch', 'slurm', { cpu: 4 })])).statusCode).toBe(200);
    expect(await browse('slurm')).toEqual([product('batch', 'slurm', { cpu: 4 })]);
  });

  it('a registered product can be launched on, and the core refuses a peer on it (supportsPeers false)', async () => {
    await register([product('batch')]);
    const spec = {
      application: { name: 'acme-batch', version: '1.0.0' },
      product: { id: 'batch', category: 'batch', provider: 'slurm' },
      name: null,
      replicas: 1,
      allowDuplicateJob: false,
      parameters: { value: { type: 'text', value: 'x' } },
      resources: null,
      timeAllocation: null,
    };
    expect(await createJob(t, spec)).toMatch(/^\d+$/);
    const peer = await t.call('POST', '/api/jobs', t.tokens.user, { items: [{ ...spec, resources: [{ type: 'peer', hostname: 'db', jobId: '1' }] }] });
    expect(peer.statusCode).toBe(400);
  });

  it('is kept in the database: a server restarted on it serves the same products', async () => {
    await register([product('batch'), product('gpu', 'slurm', { gpu: 1 })]);
    // What a restarted server does at start: a fresh catalog from the file, then the registered products.
    const fresh = loadCatalog();
    const unlisten = await new RegisteredProducts(t.db, fresh).start();
    await unlisten();
    expect(fresh.products.filter((p) => p.provider === 'slurm').map((p) => p.id)).toEqual(['batch', 'gpu']);
    expect(fresh.findProduct('gpu', 'gpu', 'slurm')?.gpu).toBe(1);
  });

  it("refuses another provider's products, naming the item", async () => {
    const response = await register([product('batch'), product('x', 'example')]);
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toBe("items[1].provider: you are provider 'slurm', not 'example'");
  });

  it('refuses a product given twice, and a malformed one, naming the field', async () => {
    const twice = await register([product('batch'), product('batch')]);
    expect(twice.statusCode).toBe(400);
    expect(twice.json().why).toMatch(/^items\[1\]\.id: /);
    const bad = await register([{ ...product('batch'), cpu: -1 }]);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().why).toMatch(/items\/0\/cpu|items\[0\]\.cpu/);
  });

  it('is for providers only: a user gets 403, no token 401', async () => {
    expect((await register([product('batch')], t.tokens.user)).statusCode).toBe(403);
    expect((await t.call('POST', '/api/products/control/register', null, { items: [] })).statusCode).toBe(401);
  });

  it('a new provider principal registers under its own name', async () => {
    await createUser(t.db, 'hpc2', 'PROVIDER');
    const token = await issueToken(t.db, 'hpc2');
    expect((await register([product('big', 'hpc2')], token)).statusCode).toBe(200);
    expect((await browse('hpc2')).map((p) => p.id)).toEqual(['big']);
  });
});
