import { beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../contract/jobs';
import { sharedApp } from '../test/app';
import { databaseSpec, product, update, webAppSpec } from '../test/jobs';

/*
 * Extension `sortBy` on GET /api/jobs/browse: every order, both directions, walked page by page over a set of
 * jobs with many ties (same names, same application, same state, same update time), must return each of the
 * caller's jobs exactly once, in the documented order, and nobody else's.
 */

let otherUser: string;
let foreignIds: string[];

const JOBS = 41;
// Ties on purpose: repeated names in different cases, nulls, an empty name; numbered names for natural order
// (`batch-2`, `batch-12`, `batch-102`, and `Batch-012`, which ties with `batch-12`).
const NAMES = ['beta', 'Alpha', null, 'batch-102', 'alpha', 'gamma', 'batch-12', 'beta', null, '', 'batch-2', 'Beta', 'Batch-012'];
const STATE_ORDER = ['IN_QUEUE', 'RUNNING', 'SUSPENDED', 'SUCCESS', 'FAILURE', 'EXPIRED'];

function spec(i: number) {
  const name = NAMES[i % NAMES.length];
  const extra = { name, allowDuplicateJob: true, timeAllocation: { hours: 1 + (i % 3), minutes: 0, seconds: 0 } };
  if (i % 3 === 0) return webAppSpec([], extra);
  if (i % 3 === 1) return databaseSpec(`/sort/${i}`, extra);
  return {
    application: { name: 'acme-batch', version: '1.0.0' },
    product,
    replicas: 1,
    parameters: { value: { type: 'text', value: String(i) } },
    resources: null,
    ...extra,
  };
}

const t = sharedApp();
beforeAll(async () => {
  otherUser = (await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'sorter-other' })).json().token;
  const created = await t.call('POST', '/api/jobs', t.tokens.user, { items: Array.from({ length: JOBS }, (_, i) => spec(i)) });
  expect(created.statusCode).toBe(200);
  const ids: string[] = created.json().responses.map((r: { id: string }) => r.id);
  // Another user's jobs with names that would sort first: they must never show up.
  const foreign = await t.call('POST', '/api/jobs', otherUser, { items: [spec(1), spec(2), spec(3)].map((s) => ({ ...s, name: 'aaa' })) });
  foreignIds = foreign.json().responses.map((r: { id: string }) => r.id);
  // States in three batches: each batch's jobs share one update time (ties for lastUpdate and expiresAt).
  const batch = (state: string, pick: (i: number) => boolean) => ({
    items: ids.filter((_, i) => pick(i)).map((id) => ({ id, update: update({ state }) })),
  });
  for (const body of [
    batch('RUNNING', (i) => i % 4 !== 0),
    batch('SUCCESS', (i) => i % 4 === 1),
    batch('FAILURE', (i) => i % 8 === 2),
    batch('SUSPENDED', (i) => i % 8 === 3),
  ]) {
    const response = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, body);
    expect(response.statusCode).toBe(200);
  }
});

async function browse(query: string) {
  const response = await t.call('GET', `/api/jobs/browse?${query}`, t.tokens.user);
  return { status: response.statusCode, body: response.json() as { items: Job[]; next: string | null; why?: string } };
}

/** Every page of a query, with `itemsPerPage` jobs per page. */
async function walk(query: string, itemsPerPage: number): Promise<{ jobs: Job[]; pages: number }> {
  const jobs: Job[] = [];
  let next: string | null = null;
  let pages = 0;
  do {
    const { status, body }: Awaited<ReturnType<typeof browse>> = await browse(
      `${query}&includeUpdates=true&itemsPerPage=${itemsPerPage}${next ? `&next=${encodeURIComponent(next)}` : ''}`,
    );
    expect(status, body.why).toBe(200);
    expect(body.items.length).toBeLessThanOrEqual(itemsPerPage);
    jobs.push(...body.items);
    next = body.next;
    pages++;
    if (pages > 100) throw new Error('too many pages');
  } while (next);
  return { jobs, pages };
}

type Key = (string | number | boolean)[];
const compareKeys = (a: Key, b: Key) => {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return 0;
};
const natural = (name: string) => name.toLowerCase().replace(/[0-9]+/g, (d) => d.padStart(20, '0'));
const lastUpdate = (j: Job) => Math.max(j.createdAt, ...j.updates.map((u) => u.timestamp));

// The documented orders, written independently of the server's SQL (ASCII names, so lower-casing agrees).
const ascendingKey: Record<string, (j: Job) => Key> = {
  createdAt: (j) => [Number(j.id)],
  // Null and empty names alike sort last.
  // Natural: digit runs by value (padded to 20 digits here; the server uses a length prefix).
  name: (j) => [j.specification.name ? 0 : 1, natural(j.specification.name ?? ''), Number(j.id)],
  application: (j) => [j.specification.application.name, j.specification.application.version, Number(j.id)],
  state: (j) => [STATE_ORDER.indexOf(j.status.state), Number(j.id)],
  lastUpdate: (j) => [lastUpdate(j), Number(j.id)],
  expiresAt: (j) => [j.status.expiresAt == null ? 1 : 0, j.status.expiresAt ?? 0, Number(j.id)],
};

function expectedOrder(all: Job[], sortBy: string, direction: 'ascending' | 'descending'): string[] {
  const key = ascendingKey[sortBy]!;
  const nullsLastFlag = sortBy === 'name' || sortBy === 'expiresAt';
  return [...all]
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      if (direction === 'ascending') return compareKeys(ka, kb);
      // Descending reverses everything but the nulls-last flag.
      if (nullsLastFlag && ka[0] !== kb[0]) return compareKeys(ka.slice(0, 1), kb.slice(0, 1));
      return compareKeys(kb, ka);
    })
    .map((j) => j.id);
}

describe('GET /api/jobs/browse?sortBy (extension)', () => {
  let all: Job[];
  beforeAll(async () => {
    all = (await browse('itemsPerPage=1000&includeUpdates=true')).body.items;
    expect(all).toHaveLength(JOBS);
  });

  it('the fixture really has ties in every order', () => {
    const distinct = (f: (j: Job) => unknown) => new Set(all.map(f)).size;
    expect(distinct((j) => j.specification.name?.toLowerCase() ?? null)).toBeLessThan(12);
    expect(distinct((j) => j.status.state)).toBeLessThan(6);
    expect(distinct(lastUpdate)).toBeLessThan(10);
    expect(distinct((j) => j.status.expiresAt)).toBeLessThan(15);
    expect(all.some((j) => j.status.expiresAt == null)).toBe(true);
  });

  for (const sortBy of Object.keys(ascendingKey)) {
    for (const direction of ['ascending', 'descending'] as const) {
      it(`sortBy=${sortBy} ${direction}: every job exactly once, in order, over several pages`, async () => {
        const { jobs, pages } = await walk(`sortBy=${sortBy}&sortDirection=${direction}`, 4);
        expect(pages).toBeGreaterThan(5);
        const ids = jobs.map((j) => j.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toEqual(expectedOrder(all, sortBy, direction));
        expect(ids.some((id) => foreignIds.includes(id))).toBe(false);
      });
    }
  }

  it('sorts names naturally: batch-2, batch-12 (and Batch-012), batch-102', async () => {
    const { jobs } = await walk('sortBy=name&sortDirection=ascending', 7);
    const names = [...new Set(jobs.map((j) => j.specification.name).filter((n) => n?.toLowerCase().startsWith('batch')))];
    expect(names).toEqual(['batch-2', 'batch-12', 'Batch-012', 'batch-102']);
  });

  it('filterQuery finds jobs by name (any case, any part) or by id, and only the caller\'s', async () => {
    const byName = await browse('filterQuery=ATCH-1&itemsPerPage=1000');
    expect(byName.status).toBe(200);
    const expected = all.filter((j) => j.specification.name?.toLowerCase().includes('atch-1')).map((j) => j.id);
    expect(expected.length).toBeGreaterThan(2);
    expect(byName.body.items.map((j) => j.id).sort()).toEqual(expected.sort());
    const target = all[17]!;
    for (const q of [target.id, `#${target.id}`]) {
      const byId = await browse(`filterQuery=${encodeURIComponent(q)}`);
      expect(byId.body.items.map((j) => j.id)).toContain(target.id);
    }
    const foreign = await browse(`filterQuery=${foreignIds[0]}`);
    expect(foreign.body.items.map((j) => j.id)).not.toContain(foreignIds[0]);
    expect((await browse('filterQuery=aaa')).body.items).toEqual([]);
    const tooLong = await browse(`filterQuery=${'x'.repeat(201)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.why).toMatch(/^filterQuery/);
  });

  it('keeps exact pages when a filter is combined with a sort', async () => {
    const { jobs } = await walk('sortBy=name&sortDirection=descending&filterState=RUNNING', 2);
    const running = all.filter((j) => j.status.state === 'RUNNING');
    expect(running.length).toBeGreaterThan(3);
    expect(jobs.map((j) => j.id)).toEqual(expectedOrder(running, 'name', 'descending'));
  });

  it('defaults to newest first by creation, with the bare-id token as before', async () => {
    const first = await browse('itemsPerPage=5');
    expect(first.body.items.map((j) => j.id)).toEqual(expectedOrder(all, 'createdAt', 'descending').slice(0, 5));
    expect(first.body.next).toMatch(/^[0-9]+$/);
    const second = await browse(`itemsPerPage=5&sortBy=createdAt&next=${first.body.next}`);
    expect(second.body.items.map((j) => j.id)).toEqual(expectedOrder(all, 'createdAt', 'descending').slice(5, 10));
  });

  it('another user sees only their own jobs in every order', async () => {
    for (const sortBy of Object.keys(ascendingKey)) {
      const response = await t.call('GET', `/api/jobs/browse?sortBy=${sortBy}&itemsPerPage=1000`, otherUser);
      expect(response.statusCode).toBe(200);
      expect(response.json().items.map((j: Job) => j.id).sort()).toEqual([...foreignIds].sort());
    }
  });

  describe('bad input is a 400 naming the field', () => {
    const tokenFor = async (query: string) => (await browse(`itemsPerPage=2&${query}`)).body.next!;

    it('an unknown sortBy', async () => {
      const { status, body } = await browse('sortBy=colour');
      expect(status).toBe(400);
      expect(body.why).toMatch(/^sortBy: must be one of 'createdAt', 'name', 'application', 'state', 'lastUpdate', 'expiresAt'/);
    });

    it('a token from another sortBy', async () => {
      const token = await tokenFor('sortBy=name');
      const { status, body } = await browse(`sortBy=state&next=${token}`);
      expect(status).toBe(400);
      expect(body.why).toMatch(/^next: this page token belongs to sortBy 'name' descending, not sortBy 'state' descending/);
    });

    it('a token from another sortDirection', async () => {
      const token = await tokenFor('sortBy=application&sortDirection=ascending');
      const { status, body } = await browse(`sortBy=application&sortDirection=descending&next=${token}`);
      expect(status).toBe(400);
      expect(body.why).toMatch(/^next: .*sortBy 'application' ascending, not sortBy 'application' descending/);
    });

    it('a creation-order token with another sortBy, and a sorted token without one', async () => {
      const idToken = await tokenFor('');
      const withName = await browse(`sortBy=name&next=${idToken}`);
      expect(withName.status).toBe(400);
      expect(withName.body.why).toMatch(/^next: this page token belongs to sortBy 'createdAt', not sortBy 'name'/);
      const nameToken = await tokenFor('sortBy=name');
      const plain = await browse(`next=${nameToken}`);
      expect(plain.status).toBe(400);
      expect(plain.body.why).toMatch(/^next: .*not sortBy 'createdAt'/);
    });

    const forged = (sortBy: string, dir: string, value: unknown) => `${sortBy}.${dir}.${Buffer.from(JSON.stringify(value)).toString('base64url')}`;
    it.each([
      ['garbage', 'abc'],
      ['an unknown order in the token', forged('colour', 'd', ['x', 1])],
      ['not base64 JSON', 'name.d.!!!'],
      ['JSON that is not an array', forged('name', 'd', { a: 1 })],
      ['too few values', forged('name', 'd', [5])],
      ['a wrong type', forged('lastUpdate', 'd', ['yesterday', 5])],
      ['an id that is not an integer', forged('name', 'd', ['x', 1.5])],
      ['a null where none can be', forged('application', 'd', [null, '1.0.0', 5])],
      ['a state that does not exist', forged('state', 'd', ['DANCING', 5])],
      ['a NUL character', forged('name', 'd', ['a\u0000b', 5])],
    ])('a forged token: %s', async (_label, token) => {
      const sortBy = token.includes('.') ? token.split('.')[0] : 'name';
      const known = Object.keys(ascendingKey).includes(sortBy!) ? sortBy : 'name';
      const { status, body } = await browse(`sortBy=${known}&next=${encodeURIComponent(token)}`);
      expect(status).toBe(400);
      expect(body.why).toMatch(/^next: /);
    });
  });
});
