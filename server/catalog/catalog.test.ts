import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { loadCatalog } from './catalog';

const t = sharedApp();

describe('catalog API', () => {
  it('lists the seeds\' applications and products', async () => {
    const apps = (await t.call('GET', '/api/hpc/apps/browse', t.tokens.user)).json();
    expect(apps.items.map((a: { name: string; version: string }) => `${a.name}@${a.version}`)).toEqual([
      'acme-batch@1.0.0',
      'acme-database@1.0.0',
      'acme-web-app@1.0.0',
      'acme-simulation@1.0.0',
    ]);
    expect(apps.next).toBeNull();
    const products = (await t.call('GET', '/api/products/browse?filterProvider=example', t.tokens.user)).json();
    expect(products.items.map((p: { id: string }) => p.id)).toEqual(['example-compute', 'example-compute-1']);
    const none = (await t.call('GET', '/api/products/browse?filterProvider=elsewhere', t.tokens.user)).json();
    expect(none.items).toEqual([]);
  });

  it('retrieves an application with its parameters', async () => {
    const response = await t.call('GET', '/api/hpc/apps/retrieve?name=acme-database&version=1.0.0', t.tokens.user);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      name: 'acme-database',
      allowPeers: true,
      parameters: [{ name: 'dataStore', type: 'input_directory', optional: false }],
    });
    const batch = (await t.call('GET', '/api/hpc/apps/retrieve?name=acme-batch&version=1.0.0', t.tokens.user)).json();
    expect(batch.parameters.map((p: { name: string; type: string }) => `${p.name}:${p.type}`)).toEqual(['debug:boolean', 'value:text']);
    // The typed kinds of parameter, with their ranges, options and defaults in the wire's shape.
    const simulation = (await t.call('GET', '/api/hpc/apps/retrieve?name=acme-simulation&version=1.0.0', t.tokens.user)).json();
    expect(simulation.parameters).toEqual([
      { name: 'steps', type: 'integer', title: 'Steps', description: expect.any(String), optional: false, defaultValue: { type: 'integer', value: 20 }, min: 1, max: 1000, options: null },
      { name: 'rate', type: 'floating_point', title: 'Growth rate', description: expect.any(String), optional: false, defaultValue: { type: 'floating_point', value: 0.1 }, min: 0, max: 1, options: null },
      {
        name: 'model', type: 'enumeration', title: 'Growth model', description: expect.any(String), optional: false, defaultValue: { type: 'text', value: 'exponential' }, min: null, max: null,
        options: [{ name: 'Linear', value: 'linear' }, { name: 'Exponential', value: 'exponential' }, { name: 'Logistic (levels off at 100)', value: 'logistic' }],
      },
      { name: 'noise', type: 'boolean', title: 'Add noise', description: expect.any(String), optional: true, defaultValue: { type: 'boolean', value: false }, min: null, max: null, options: null },
      { name: 'label', type: 'text', title: 'Label', description: expect.any(String), optional: true, defaultValue: null, min: null, max: null, options: null },
    ]);
    expect(simulation).not.toHaveProperty('run');
  });

  it('says which hostname acme-web-app expects for its database (extension expectedPeers)', async () => {
    const web = (await t.call('GET', '/api/hpc/apps/retrieve?name=acme-web-app&version=1.0.0', t.tokens.user)).json();
    expect(web.expectedPeers).toEqual([{ hostname: 'database', title: 'Database', description: expect.any(String), suggestedApplication: 'acme-database' }]);
    const batch = (await t.call('GET', '/api/hpc/apps/retrieve?name=acme-batch&version=1.0.0', t.tokens.user)).json();
    expect(batch.expectedPeers).toBeNull();
  });

  it("says which applications have a web interface (UCloud's applicationType), without their run block", async () => {
    const types: Record<string, unknown> = {};
    for (const name of ['acme-batch', 'acme-database', 'acme-web-app']) {
      const app = (await t.call('GET', `/api/hpc/apps/retrieve?name=${name}&version=1.0.0`, t.tokens.user)).json();
      expect(app).not.toHaveProperty('run');
      types[name] = app.applicationType;
    }
    expect(types).toEqual({ 'acme-batch': 'BATCH', 'acme-database': 'BATCH', 'acme-web-app': 'WEB' });
  });

  it.each([
    ['an unknown application', '/api/hpc/apps/retrieve?name=nope&version=1', 404, /^name: no application 'nope'/],
    ['a missing version', '/api/hpc/apps/retrieve?name=acme-batch', 400, /^version: is required/],
    ['an unknown query field', '/api/hpc/apps/browse?colour=red', 400, /^colour: unknown field/],
    ['a bad itemsPerPage', '/api/products/browse?itemsPerPage=0', 400, /^itemsPerPage/],
  ])('answers %s with a 4xx naming the field', async (_name, url, status, why) => {
    const response = await t.call('GET', url, t.tokens.user);
    expect(response.statusCode).toBe(status);
    expect(response.json().why).toMatch(why);
  });

  it('is for users (contract §1)', async () => {
    expect((await t.call('GET', '/api/hpc/apps/browse', null)).statusCode).toBe(401);
    for (const token of [t.tokens.ucloud, t.tokens.provider, t.tokens.admin]) {
      expect((await t.call('GET', '/api/hpc/apps/browse', token)).statusCode).toBe(403);
    }
  });
});

describe('the catalog file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-catalog-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => {
    const file = path.join(dir, `${Math.random()}.yaml`);
    fs.writeFileSync(file, text);
    return file;
  };

  it('loads an operator\'s edited YAML, filling in what may be left out', () => {
    const catalog = loadCatalog(write(`applications:\n  - name: tool\n    version: "2"\n    title: Tool\n    parameters:\n      - name: n\n        type: integer\n        title: N\n        min: 1\nproducts: []\n`));
    expect(catalog.findApplication('tool', '2')).toMatchObject({ allowPeers: false, parameters: [{ name: 'n', min: 1, max: null, optional: false }] });
  });

  it('refuses a catalog with a bad parameter type, naming the field', () => {
    const file = write(`applications:\n  - name: tool\n    version: "2"\n    title: Tool\n    parameters:\n      - name: n\n        type: colour\n        title: N\nproducts: []\n`);
    expect(() => loadCatalog(file)).toThrow(/applications\[0\]\.parameters\[0\]\.type/);
  });

  it('refuses an application declared WEB without a web port', () => {
    const file = write(`applications:\n  - name: tool\n    version: "2"\n    title: Tool\n    applicationType: WEB\nproducts: []\n`);
    expect(() => loadCatalog(file)).toThrow(/applications\[0\]\.applicationType: WEB needs run\.webPort/);
  });

  it('refuses expected peers that name an unknown application, a bad hostname, or an app without peers', () => {
    const app = (extra: string) => `applications:\n  - name: tool\n    version: "2"\n    title: Tool\n${extra}products: []\n`;
    const peer = (hostname: string, suggested: string) =>
      `    expectedPeers:\n      - hostname: ${hostname}\n        title: Store\n        description: ""\n        suggestedApplication: ${suggested}\n`;
    expect(() => loadCatalog(write(app(`    allowPeers: true\n${peer('store', 'nowhere')}`)))).toThrow(
      /applications\[0\]\.expectedPeers\[0\]\.suggestedApplication: no application 'nowhere'/,
    );
    expect(() => loadCatalog(write(app(`    allowPeers: true\n${peer('Data_Base', 'tool')}`)))).toThrow(/expectedPeers\/0\/hostname|expectedPeers\[0\]\.hostname/);
    expect(() => loadCatalog(write(app(peer('store', 'tool'))))).toThrow(/expectedPeers: the application does not allow peers/);
    expect(loadCatalog(write(app(`    allowPeers: true\n${peer('store', 'tool')}`))).applications[0]!.expectedPeers).toEqual([
      { hostname: 'store', title: 'Store', description: '', suggestedApplication: 'tool' },
    ]);
  });
});
