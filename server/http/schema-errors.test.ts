import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { Maybe, StrictObject, TaggedUnion } from '../../contract/common';
import { seedPayloads } from '../../contract/fixtures/seed-payloads';
import { SEED_REQUEST_SCHEMAS } from '../../contract/fixtures/seed-request-schemas';
import { JobsBrowseQuery, JobsRetrieveQuery } from '../../contract/jobs';
import { JobsFollowMessage, ServerFrame } from '../../contract/socket';
import { check, checkQuery } from './parse';
import { formatPath } from './schema-errors';

describe('formatPath', () => {
  it.each<[(string | number)[], string]>([
    [[], ''],
    [['items', 0, 'resources', 0, 'hostname'], 'items[0].resources[0].hostname'],
    [['items', 0, 'parameters', 'dataStore', 'path'], 'items[0].parameters.dataStore.path'],
    [['items', 0, 'parameters', 'my-param'], 'items[0].parameters["my-param"]'],
    [['parameters', 'with "quotes"'], 'parameters["with \\"quotes\\""]'],
    [['$ok', '_fine', '9lives'], '$ok._fine["9lives"]'],
    [[3, 'x'], '[3].x'],
  ])('%j → %s', (path, expected) => expect(formatPath(path)).toBe(expected));

  it('truncates a huge key so the error does not echo it', () => {
    const formatted = formatPath(['p', 'k'.repeat(10_000)]);
    expect(formatted.length).toBeLessThan(80);
    expect(formatted).toMatch(/^p\["k+…"\]$/);
  });
});

describe('check', () => {
  const Thing = StrictObject({ name: Type.String(), count: Maybe(Type.Integer({ minimum: 1 })) });

  it('returns the value itself when it matches', () => {
    const value = { name: 'a', count: 2 };
    const result = check(Thing, value);
    expect(result.ok && result.value).toBe(value);
  });

  it('labels a root-level failure with the given root', () => {
    expect(check(Thing, 'x')).toEqual({ ok: false, path: '', message: 'must be an object', why: '(body): must be an object' });
    expect(check(Thing, [], '(payload)').ok === false && check(Thing, [], '(payload)')).toMatchObject({
      why: '(payload): must be an object',
    });
  });

  it('says "or null" for a nullable field', () => {
    expect(check(Thing, { name: 'a', count: 'two' })).toMatchObject({ path: 'count', why: 'count: must be an integer >= 1 or null' });
  });

  it('names an unknown tag with the tagged union label, and a generic one with the tag field', () => {
    const Shape = TaggedUnion('shape kind', [
      StrictObject({ kind: Type.Literal('circle'), r: Type.Number() }),
      StrictObject({ kind: Type.Literal('square'), side: Type.Number() }),
    ]);
    expect(check(Shape, { kind: 'blob' })).toMatchObject({
      why: "kind: unknown shape kind 'blob'; expected one of 'circle', 'square'",
    });
    expect(check(Shape, { kind: 'square', side: '2' })).toMatchObject({ why: 'side: must be a number' });
    expect(check(ServerFrame, { type: 'event', streamId: '0', payload: {} })).toMatchObject({
      why: "type: unknown type 'event'; expected one of 'message', 'response'",
    });
    expect(check(ServerFrame, { type: 'response', streamId: '0', status: 'ok', payload: {} })).toMatchObject({
      why: 'status: must be an integer between 100 and 599',
    });
  });

  it('explains an untagged union from the branch the value most resembles', () => {
    expect(check(JobsFollowMessage, { updates: 'none', newStatus: null })).toMatchObject({ why: 'updates: must be an array' });
    expect(check(JobsFollowMessage, { initialJob: 5 })).toMatchObject({ why: 'initialJob: must be an object' });
    expect(check(Type.Union([Type.String(), Type.Integer({ minimum: 0 })]), true)).toMatchObject({
      why: '(body): must be a string or an integer >= 0',
    });
  });

  it('compiles each schema once', () => {
    const schema = StrictObject({ a: Type.String() });
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) check(schema, { a: 'x' });
    expect(performance.now() - started).toBeLessThan(250);
  });
});

describe('checkQuery', () => {
  it('converts numbers and booleans that arrive as strings', () => {
    expect(checkQuery(JobsBrowseQuery, { itemsPerPage: '50', includeUpdates: 'true', filterState: 'RUNNING' })).toEqual({
      ok: true,
      value: { itemsPerPage: 50, includeUpdates: true, filterState: 'RUNNING' },
    });
    expect(checkQuery(JobsRetrieveQuery, { id: '4101' })).toEqual({ ok: true, value: { id: '4101' } });
  });

  it.each([
    [{ itemsPerPage: '1.5' }, 'itemsPerPage: must be an integer between 1 and 1000'],
    [{ itemsPerPage: '' }, 'itemsPerPage: must be an integer between 1 and 1000'],
    [{ itemsPerPage: '5000' }, 'itemsPerPage: must be an integer between 1 and 1000'],
    [{ itemsPerPage: ['1', '2'] }, 'itemsPerPage: must be an integer between 1 and 1000'],
    [{ includeUpdates: 'yes' }, 'includeUpdates: must be a boolean'],
    [{ sortDirection: 'up' }, "sortDirection: must be one of 'ascending', 'descending'"],
    [{ colour: 'red' }, 'colour: unknown field'],
    [JSON.parse('{"__proto__": ["x"]}'), '__proto__: unknown field'],
  ])('refuses %j', (query, why) => expect(checkQuery(JobsBrowseQuery, query)).toMatchObject({ ok: false, why }));

  it('labels the root as the query', () => {
    expect(checkQuery(JobsRetrieveQuery, {})).toMatchObject({ why: 'id: is required' });
    expect(checkQuery(JobsRetrieveQuery, null)).toMatchObject({ why: '(query): must be an object' });
  });
});

describe('every failure of the compiled validator is worded from the schema', () => {
  const REQUESTS = SEED_REQUEST_SCHEMAS;
  const bodies = seedPayloads().map((c) => ({ schema: REQUESTS[c.call], compiled: Compile(REQUESTS[c.call]), body: c.body }));

  type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
  type Step = string | number;

  function paths(value: Json, prefix: Step[] = []): Step[][] {
    const children: [Step, Json][] = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : value !== null && typeof value === 'object'
        ? Object.entries(value)
        : [];
    return [prefix, ...children.flatMap(([k, v]) => paths(v, [...prefix, k]))];
  }

  function mutate(root: Json, path: Step[], replacement: Json | undefined): Json {
    if (path.length === 0) return replacement ?? null;
    const copy = structuredClone(root) as Record<Step, Json>;
    let parent = copy;
    for (const step of path.slice(0, -1)) parent = parent[step] as Record<Step, Json>;
    const last = path.at(-1)!;
    if (replacement === undefined && !Array.isArray(parent)) delete parent[last];
    else parent[last] = replacement ?? null;
    return copy;
  }

  it('for random single-field mutations of the seed requests', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
        (which, where, replacement) => {
          const { schema, compiled, body } = bodies[which % bodies.length]!;
          const all = paths(body as Json);
          const value = mutate(body as Json, all[where % all.length]!, replacement as Json | undefined);
          const valid = compiled.Check(value);
          const result = check(schema, value);
          expect(result.ok).toBe(valid);
          if (!result.ok) {
            expect(result.why).toMatch(/^(\(body\)|[\w$[]).*: \S/);
            // TypeBox's own wording never reaches a client: each keyword the contract uses has a phrase of its own.
            expect(result.message).toMatch(/^(must be |must not be empty|must have at |is required$|unknown )/);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
