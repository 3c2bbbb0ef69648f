import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from './catalog';
import { optionLikeValue, renderArgs } from './run';
import { sharedApp } from '../test/app';

const catalog = loadCatalog();
const app = (name: string) => catalog.findApplication(name, '1.0.0')!;
const run = (name: string) => catalog.findRun(name, '1.0.0')!;

describe('run definitions', () => {
  it('builds seed 000\'s command line as separate arguments, the flag only when set', () => {
    const values = { debug: { type: 'boolean' as const, value: true }, value: { type: 'text' as const, value: 'Hello, World!' } };
    expect(renderArgs(app('acme-batch'), run('acme-batch'), values)).toEqual(['--debug', 'Hello, World!']);
    const quiet = { value: { type: 'text' as const, value: 'a; rm -rf / $(id)' } };
    // A shell would see three commands here; an argv entry is one argument, whatever it holds.
    expect(renderArgs(app('acme-batch'), run('acme-batch'), quiet)).toEqual(['a; rm -rf / $(id)']);
  });

  it('fills file parameters with what the provider says the path stands for', () => {
    const values = { dataStore: { type: 'file' as const, path: '/123/acme-database', readOnly: false } };
    const args = renderArgs(app('acme-database'), run('acme-database'), values, (_, v) => (v.type === 'file' ? `/srv/u${v.path}` : ''));
    expect(args).toEqual(['--data=/srv/u/123/acme-database', '--port=5432']);
  });

  it('names a value that would stand alone and start with "-"', () => {
    expect(optionLikeValue(app('acme-batch'), run('acme-batch'), { value: { type: 'text', value: '--help' } })).toBe('value');
    expect(optionLikeValue(app('acme-batch'), run('acme-batch'), { value: { type: 'text', value: 'a-b' } })).toBeNull();
  });

  it('is not part of the wire format', () => {
    expect(Object.keys(app('acme-web-app'))).not.toContain('run');
    expect(run('acme-web-app').webPort).toBe(8080);
  });
});

describe('a catalog file with run blocks', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-catalog-'));
  const write = (body: string) => {
    const file = path.join(dir, `${Math.random()}.yaml`);
    fs.writeFileSync(file, body);
    return file;
  };
  const head = `applications:\n  - name: x\n    version: '1'\n    title: X\n    parameters:\n      - { name: n, type: text, title: N }\n`;

  it.each([
    ['a placeholder that names no parameter', `    run: { program: x.mjs, args: ["{nope}"] }\n`, /applications\[0\]\.run\.args\[0\]: 'nope' is not a parameter of x/],
    ['a flag on a text parameter', `    run: { program: x.mjs, args: [{ flag: --f, when: n }] }\n`, /args\[0\]\.when: 'n' must be a boolean parameter/],
    ['both program and command', `    run: { program: x.mjs, command: /bin/true }\n`, /give exactly one of 'program' and 'command'/],
    ['a program with a path', `    run: { program: ../x.mjs }\n`, /applications\[0\]\.run\.program/],
    ['an unknown field', `    run: { program: x.mjs, shell: "echo hi" }\n`, /applications\[0\]\.run\.shell/],
  ])('refuses %s, naming the field', (_name, runBlock, message) => {
    expect(() => loadCatalog(write(`${head}${runBlock}products: []\n`))).toThrow(message);
  });
});

describe('the core refuses a value that would become an option', () => {
  const t = sharedApp();

  it('answers 400 naming the parameter', async () => {
    const response = await t.call('POST', '/api/jobs', t.tokens.user, {
      items: [
        {
          application: { name: 'acme-batch', version: '1.0.0' },
          product: { id: 'example-compute', category: 'example-compute', provider: 'example' },
          replicas: 1,
          allowDuplicateJob: true,
          parameters: { value: { type: 'text', value: '--debug' } },
        },
      ],
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(/^items\[0\]\.parameters\.value\.value: must not start with '-'/);
  });
});
