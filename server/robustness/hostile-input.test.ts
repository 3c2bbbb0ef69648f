import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { databaseSpec, product, update } from '../test/jobs';
import { seedPayloads } from '../../contract/fixtures/seed-payloads';

/*
 * Property-based hostile input: random JSON, wrong types, huge strings, deep nesting, unicode, numbers at their
 * bounds and mutated valid bodies, against every endpoint's body and query. Every answer must be a 2xx or a 4xx
 * with a {why, errorCode} body — never a 5xx — and the server must stay healthy.
 */

type Caller = 'user' | 'ucloud' | 'provider' | 'admin';
interface Endpoint {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  caller: Caller;
  /** A valid body to mutate (POST/PUT), or null for query-only endpoints. */
  valid: unknown;
}

/** A job with a text value, so "every string field" covers name, openedFile, a file path and a text value. */
const batchSpec = {
  application: { name: 'acme-batch', version: '1.0.0' },
  product,
  name: 'fuzz-batch',
  replicas: 1,
  allowDuplicateJob: true,
  parameters: { value: { type: 'text', value: 'some text' } },
  resources: null,
  timeAllocation: null,
  };

export const bodyEndpoints: Endpoint[] = [
  { method: 'POST', url: '/api/jobs', caller: 'user', valid: { items: [{ ...databaseSpec('/fuzz/a'), allowDuplicateJob: true, openedFile: 'notes.txt' }, batchSpec] } },
  { method: 'POST', url: '/api/jobs/terminate', caller: 'user', valid: { items: [{ id: '1' }] } },
  { method: 'POST', url: '/api/jobs/extend', caller: 'user', valid: { items: [{ jobId: '1', requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] } },
  { method: 'POST', url: '/api/jobs/control/update', caller: 'provider', valid: { items: [{ id: '1', update: update({ status: 'fuzz' }) }] } },
  { method: 'POST', url: '/api/admin/users', caller: 'admin', valid: { username: 'fuzzer' } },
  { method: 'POST', url: '/api/admin/tokens/issue', caller: 'admin', valid: { username: 'user' } },
  { method: 'PUT', url: '/api/tasks', caller: 'ucloud', valid: { title: 'fuzz', owner: 'user', initialStatus: null } },
  { method: 'POST', url: '/api/tasks/postStatus', caller: 'ucloud', valid: { update: { jobId: '00000000-0000-4000-8000-000000000000', newTitle: null, speeds: [{ title: 'Down', speed: 1.5, unit: 'MB/s', asText: '1.5 MB/s' }], progress: { title: 'p', current: 1, maximum: 2 }, complete: false, messageToAppend: 'm', newStatus: null } } },
  { method: 'POST', url: '/api/tasks/markAsComplete', caller: 'ucloud', valid: { id: '00000000-0000-4000-8000-000000000000' } },
  { method: 'POST', url: '/ucloud/example/jobs/verify', caller: 'ucloud', valid: seedPayloads().find((c) => c.call === 'provider.jobs.verify')!.body },
  { method: 'POST', url: '/ucloud/example/admin/forget', caller: 'admin', valid: { id: '1' } },
];

export const queryEndpoints: Endpoint[] = [
  { method: 'GET', url: '/api/jobs/browse', caller: 'user', valid: null },
  { method: 'GET', url: '/api/jobs/retrieve', caller: 'user', valid: null },
  { method: 'GET', url: '/api/jobs/browseConnected', caller: 'user', valid: null },
  { method: 'GET', url: '/api/jobs/control/browse', caller: 'provider', valid: null },
  { method: 'GET', url: '/api/hpc/apps/browse', caller: 'user', valid: null },
  { method: 'GET', url: '/api/hpc/apps/retrieve', caller: 'user', valid: null },
  { method: 'GET', url: '/api/products/browse', caller: 'user', valid: null },
  { method: 'GET', url: '/api/jobs/firewall', caller: 'user', valid: null },
  { method: 'GET', url: '/api/tasks', caller: 'user', valid: null },
  { method: 'GET', url: '/api/tasks/retrieve', caller: 'user', valid: null },
  { method: 'GET', url: '/ucloud/example/jobs/firewall', caller: 'ucloud', valid: null },
  { method: 'GET', url: '/ucloud/example/jobs/retrieve', caller: 'ucloud', valid: null },
];

const boundNumbers = fc.constantFrom(0, -0, -1, 1, 0.5, 2 ** 31, -(2 ** 31), 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e308, -1e308, Number.MIN_VALUE);
/** Lone UTF-16 surrogates (valid JSON as `\ud800` escapes, not storable in jsonb), alone or inside other text. */
const loneSurrogate = fc.oneof(fc.integer({ min: 0xd800, max: 0xdbff }), fc.integer({ min: 0xdc00, max: 0xdfff })).map((c) => String.fromCharCode(c));
const withLoneSurrogate = fc.tuple(fc.string({ maxLength: 20 }), loneSurrogate, fc.string({ maxLength: 20 })).map(([a, s, b]) => a + s + b);
/** Long text, past any btree index row (2704 bytes) and up to a third of the body limit; multi-byte too. */
// Repeated units and pseudo-random text (from the case's seed, so fast-check can replay it): PostgreSQL compresses
// a repeated character far below an index row's limit, random text it cannot.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzé𝒥 \n<>&"';
const randomText = ([n, seed]: [number, number]) => {
  const chars = [...ALPHABET];
  const out: string[] = [];
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out.push(chars[(x >>> 0) % chars.length]!);
  }
  return out.join('');
};
const longString = fc.oneof(
  fc.tuple(fc.integer({ min: 2_000, max: 300_000 }), fc.constantFrom('x', 'é', '𝒥', ' ', '\n')).map(([n, unit]) => unit.repeat(Math.ceil(n / unit.length))),
  fc.tuple(fc.integer({ min: 2_000, max: 100_000 }), fc.integer()).map(randomText),
);
const nastyStrings = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  withLoneSurrogate,
  longString,
  fc.constantFrom('', ' ', '\u0000', '../../etc/passwd', '<img src=x onerror=alert(1)>', "'; DROP TABLE jobs; --", '\uFEFF', '𝒥𝑜𝒷', '%00', 'null'),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => 'x'.repeat(n)),
);
const leaf = fc.oneof(boundNumbers, nastyStrings, fc.boolean(), fc.constant(null), fc.integer(), fc.double());
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('tree'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('tree'), { maxKeys: 4 })),
}));
// As JSON text, so a failing case can still be printed by fast-check.
const deepNesting = fc.integer({ min: 50, max: 20_000 }).map((depth) => `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`);

/** Replaces one node of a valid document (chosen by a path of random indices) with a hostile value. */
function mutate(valid: unknown, choices: number[], replacement: unknown): unknown {
  if (choices.length === 0 || valid === null || typeof valid !== 'object') return replacement;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(valid) ? [...valid] : { ...(valid as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return replacement;
  const key = keys[choices[0]! % keys.length]!;
  (copy as Record<string, unknown>)[key] = mutate((copy as Record<string, unknown>)[key], choices.slice(1), replacement);
  return copy;
}

/** Hostile bodies as JSON text. */
const hostileBody = (valid: unknown) =>
  fc.oneof(
    tree.map((v) => JSON.stringify(v) ?? 'null'),
    deepNesting,
    fc.tuple(fc.array(fc.nat(), { maxLength: 6 }), fc.oneof(leaf, tree)).map(([path, value]) => JSON.stringify(mutate(valid, path, value)) ?? 'null'),
    fc.tuple(fc.array(fc.nat(), { maxLength: 6 }), fc.string({ maxLength: 10 })).map(([path, key]) => JSON.stringify(mutate(valid, path, { [key]: 1 })) ?? 'null'),
    // Deep nesting planted inside an otherwise valid body, where validators and the database must cope with it.
    fc.tuple(fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 100, max: 1500 })).map(([path, depth]) => {
      let deep: unknown = 1;
      for (let i = 0; i < depth; i++) deep = i % 2 ? [deep] : { a: deep };
      return JSON.stringify(mutate(valid, path, deep)) ?? 'null';
    }),
  );

const hostileQuery = fc.dictionary(
  fc.oneof(fc.constantFrom('id', 'itemsPerPage', 'next', 'page', 'filterState', 'includeUpdates', 'sortDirection', 'name', 'version', 'filterProvider'), fc.string({ maxLength: 12 })),
  fc.oneof(nastyStrings, boundNumbers.map(String)),
  { maxKeys: 4 },
);

const t = sharedApp();
let cases = 0;
afterAll(() => console.log(`hostile input: ${cases} cases tried`));

function expectClientAnswer(response: { statusCode: number; json(): unknown }, label: string) {
  cases += 1;
  if (response.statusCode >= 500) throw new Error(`${label} answered ${response.statusCode}: ${JSON.stringify(response.json())}`);
  if (response.statusCode >= 400) {
    expect(response.json(), label).toEqual({ why: expect.any(String), errorCode: expect.toBeOneOf([null, expect.any(String)]) });
  }
}

describe('hostile bodies', () => {
  it.each(bodyEndpoints)('$method $url never answers 5xx', async ({ method, url, caller, valid }) => {
    await fc.assert(
      fc.asyncProperty(hostileBody(valid), async (body) => {
        const response = await t.call(method, url, t.tokens[caller], body);
        expectClientAnswer(response, `${method} ${url}`);
      }),
      { numRuns: 150 },
    );
  });

  it.each(bodyEndpoints)('$method $url refuses a body over 1 MiB with 413', async ({ method, url, caller }) => {
    const response = await t.call(method, url, t.tokens[caller], JSON.stringify({ items: ['x'.repeat(1024 * 1024)] }));
    expectClientAnswer(response, url);
    expect(response.statusCode).toBe(413);
  });

  it.each(bodyEndpoints)('$method $url refuses raw non-JSON bytes with 400', async ({ method, url, caller }) => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }), async (raw) => {
        const response = await t.call(method, url, t.tokens[caller], raw);
        expectClientAnswer(response, url);
        expect(response.statusCode).toBe(400);
      }),
      { numRuns: 40 },
    );
  });
});

/** Every path to a string leaf of a document. */
function stringPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringPaths(item, [...path, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...path, k]));
  return [];
}
function setAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[path[0]!] = setAt(copy[path[0]!], path.slice(1), replacement);
  return copy;
}
const pathText = (path: (string | number)[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

describe.each([
  ['a NUL character', 'before\u0000after', /must not contain the NUL character/],
  ['a lone high surrogate', 'a\ud800', /must not contain a lone UTF-16 surrogate/],
  ['a lone low surrogate', '\udc00b', /must not contain a lone UTF-16 surrogate/],
])('%s in any string field', (_label, text, own) => {
  it.each(bodyEndpoints)('$method $url refuses it with a 400 naming the field', async ({ method, url, caller, valid }) => {
    const paths = stringPaths(valid);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      const body = setAt(valid, path, text);
      const response = await t.call(method, url, t.tokens[caller], JSON.stringify(body));
      expectClientAnswer(response, `${url} ${pathText(path)}`);
      expect(response.statusCode, pathText(path)).toBe(400);
      const why = response.json().why as string;
      // A field with a pattern or a fixed set of values refuses it as it refuses any other text; the rest say why.
      expect(why, pathText(path)).toMatch(new RegExp(`${own.source}|must be|may contain only|unknown`));
      if (own.test(why)) expect(why.startsWith(pathText(path)), `${why} names ${pathText(path)}`).toBe(true);
    }
  });
});

describe('long strings and lone surrogates in every string field', () => {
  const hostileText = fc.oneof(withLoneSurrogate, longString, fc.tuple(longString, loneSurrogate).map(([a, b]) => a + b));
  it.each(bodyEndpoints)('$method $url never answers 5xx', async ({ method, url, caller, valid }) => {
    const paths = stringPaths(valid);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), hostileText, async (path, text) => {
        const response = await t.call(method, url, t.tokens[caller], JSON.stringify(setAt(valid, path, text)));
        expectClientAnswer(response, `${method} ${url} ${pathText(path)}`);
      }),
      { numRuns: 40 },
    );
  });

  it('a long text value, name and file path are stored (the duplicate check indexes a hash of the parameters)', async () => {
    // Random text: PostgreSQL compresses a repeated character far below an index row's 2704-byte limit.
    const long = `é ${randomBytes(3_000).toString('base64')}`;
    const spec = { ...batchSpec, allowDuplicateJob: false, name: 'é'.repeat(200), parameters: { value: { type: 'text', value: long } } };
    const first = await t.call('POST', '/api/jobs', t.tokens.user, { items: [spec] });
    expect(first.statusCode, first.body).toBe(200);
    const id = first.json().responses[0].id as string;
    const job = (await t.call('GET', `/api/jobs/retrieve?id=${id}`, t.tokens.user)).json();
    expect(job.specification.parameters.value.value).toBe(long);
    expect(job.specification.name).toBe('é'.repeat(200));
    // The same parameters again are a duplicate (409), found through the hashed index.
    const again = await t.call('POST', '/api/jobs', t.tokens.user, { items: [spec] });
    expect(again.statusCode).toBe(409);
    const path = await t.call('POST', '/api/jobs', t.tokens.user, { items: [{ ...databaseSpec(`/123/${randomBytes(1_500).toString('hex')}`), allowDuplicateJob: true }] });
    expect(path.statusCode, path.body).toBe(200);
  });
});

describe('hostile queries', () => {
  it.each(queryEndpoints)('$method $url never answers 5xx', async ({ method, url, caller }) => {
    await fc.assert(
      fc.asyncProperty(hostileQuery, async (query) => {
        const response = await t.call(method, `${url}?${new URLSearchParams(query as Record<string, string>)}`, t.tokens[caller]);
        expectClientAnswer(response, `${method} ${url}`);
      }),
      { numRuns: 150 },
    );
  });
});

describe('afterwards', () => {
  it('the server is still healthy and still answers valid requests', async () => {
    expect((await t.call('GET', '/api/health', null)).json()).toMatchObject({ status: 'ok' });
    const created = await t.call('POST', '/api/jobs', t.tokens.user, { items: [{ ...databaseSpec('/after/fuzz'), allowDuplicateJob: true }] });
    expect(created.statusCode).toBe(200);
  });
});
