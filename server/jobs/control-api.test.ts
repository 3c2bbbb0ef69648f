import { beforeAll, describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { control, createJob, databaseSpec, retrieve, update } from '../test/jobs';

let otherProvider: string;
let n = 0;
const newJob = () => createJob(t, databaseSpec(`/control/${n++}`));

const t = sharedApp();
beforeAll(async () => {
  otherProvider = (await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'other-provider', role: 'PROVIDER' })).json().token;
});

describe('POST /api/jobs/control/update', () => {
  it('RUNNING sets startedAt and expiresAt = startedAt + allocation; the server stamps the time', async () => {
    const id = await createJob(t, { ...databaseSpec('/control/alloc'), timeAllocation: { hours: 2, minutes: 30, seconds: 0 } });
    const before = Date.now();
    expect((await control(t, id, { state: 'RUNNING', status: 'Started', timestamp: 5 })).json()).toEqual({});
    const job = await retrieve(t, id);
    expect(job.status.startedAt).toBeGreaterThanOrEqual(before);
    expect(job.status.expiresAt).toBe(job.status.startedAt + 2.5 * 3600_000);
    expect(job.updates).toEqual([expect.objectContaining({ state: 'RUNNING', status: 'Started', timestamp: job.status.startedAt })]);
  });

  it('uses the application\'s default allocation when the spec has none, and newTimeAllocation replaces it', async () => {
    const id = await newJob();
    await control(t, id, { state: 'RUNNING' });
    const started = await retrieve(t, id);
    expect(started.status.expiresAt - started.status.startedAt).toBe(8 * 3600_000);
    await control(t, id, { newTimeAllocation: 10 * 3600_000, status: 'Extended' });
    const extended = await retrieve(t, id);
    expect(extended.status.expiresAt).toBe(started.status.startedAt + 10 * 3600_000);
    expect(extended.status.startedAt).toBe(started.status.startedAt);
  });

  it('a newTimeAllocation past 2^53 ms is a 400 naming the field, not a 500 (hostile-input found 2^63)', async () => {
    const id = await newJob();
    const response = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, {
      items: [{ id, update: update({ newTimeAllocation: 9223372036854776000 }) }],
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(/^items\[0\]\.update\.newTimeAllocation: must be at most 2592000000 ms/);
  });

  it('outputFolder sets output.outputFolder', async () => {
    const id = await newJob();
    await control(t, id, { outputFolder: '/output/1' });
    expect((await retrieve(t, id)).output).toEqual({ outputFolder: '/output/1' });
  });

  it('applies expectedState only when it matches, and drops the update otherwise', async () => {
    const id = await newJob();
    await control(t, id, { state: 'RUNNING', expectedState: 'SUSPENDED' });
    expect((await retrieve(t, id)).status.state).toBe('IN_QUEUE');
    await control(t, id, { state: 'RUNNING', expectedState: 'IN_QUEUE' });
    const job = await retrieve(t, id);
    expect(job.status.state).toBe('RUNNING');
    expect(job.updates).toHaveLength(1);
  });

  it('applies expectedDifferentState only when the state differs', async () => {
    const id = await newJob();
    await control(t, id, { state: 'RUNNING' });
    await control(t, id, { state: 'RUNNING', status: 'again', expectedDifferentState: true });
    expect((await retrieve(t, id)).updates.map((u: { status: string }) => u.status)).toEqual([null]);
  });

  it('keeps final states final', async () => {
    const id = await newJob();
    await control(t, id, { state: 'SUCCESS' });
    await control(t, id, { state: 'RUNNING' });
    await control(t, id, { state: 'FAILURE' });
    const job = await retrieve(t, id);
    expect(job.status.state).toBe('SUCCESS');
    expect(job.updates.map((u: { state: string }) => u.state)).toEqual(['SUCCESS']);
  });

  it('applies a batch\'s updates to one job in order', async () => {
    const id = await newJob();
    const response = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, {
      items: [
        { id, update: update({ state: 'RUNNING', status: 'one' }) },
        { id, update: update({ state: 'SUCCESS', status: 'two', expectedState: 'RUNNING' }) },
      ],
    });
    expect(response.statusCode).toBe(200);
    const job = await retrieve(t, id);
    expect(job.status.state).toBe('SUCCESS');
    expect(job.updates.map((u: { status: string }) => u.status)).toEqual(['one', 'two']);
  });

  it('refuses the whole batch with 404 when one job is not the caller\'s, and applies nothing', async () => {
    const mine = await newJob();
    for (const foreignId of ['99999999', 'abc']) {
      const response = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, {
        items: [{ id: mine, update: update({ state: 'RUNNING' }) }, { id: foreignId, update: update({ state: 'RUNNING' }) }],
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().why).toMatch(/^items\[1\]\.id/);
    }
    // Another provider may not touch example's jobs, and learns nothing about them.
    const foreign = await control(t, mine, { state: 'RUNNING' }, otherProvider);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().why).toBe(`items[0].id: no job '${mine}' on provider 'other-provider'`);
    const job = await retrieve(t, mine);
    expect(job.status.state).toBe('IN_QUEUE');
    expect(job.updates).toEqual([]);
  });

  it('is for providers only', async () => {
    const id = await newJob();
    for (const token of [t.tokens.user, t.tokens.ucloud, t.tokens.admin]) {
      expect((await control(t, id, { state: 'RUNNING' }, token)).statusCode).toBe(403);
    }
    expect((await control(t, id, { state: 'RUNNING' }, 'nope')).statusCode).toBe(401);
  });

  it.each([
    ['an unknown state', { items: [{ id: '1', update: update({ state: 'DANCING' }) }] }, /^items\[0\]\.update\.state/],
    ['a missing update', { items: [{ id: '1' }] }, /^items\[0\]\.update/],
    ['a string timestamp', { items: [{ id: '1', update: update({ timestamp: 'now' }) }] }, /^items\[0\]\.update\.timestamp/],
    ['an unknown field', { items: [{ id: '1', update: update({ colour: 'red' }) }] }, /^items\[0\]\.update\.colour/],
  ])('refuses %s with 400', async (_name, body, why) => {
    const response = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, body);
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(why);
  });
});

describe('GET /api/jobs/control/browse', () => {
  it('lists only the calling provider\'s jobs, page by page, oldest first', async () => {
    const ids: string[] = [];
    let next: string | null = null;
    do {
      const page: { items: { id: string }[]; next: string | null } = (await t.call('GET', `/api/jobs/control/browse?itemsPerPage=4${next ? `&next=${next}` : ''}`, t.tokens.provider)).json();
      ids.push(...page.items.map((j: { id: string }) => j.id));
      next = page.next;
    } while (next);
    expect(ids.length).toBeGreaterThanOrEqual(n);
    expect(ids.map(Number)).toEqual([...ids.map(Number)].sort((a, b) => a - b));
    const other = (await t.call('GET', '/api/jobs/control/browse', otherProvider)).json();
    expect(other.items).toEqual([]);
    expect((await t.call('GET', '/api/jobs/control/browse', t.tokens.user)).statusCode).toBe(403);
    expect((await t.call('GET', '/api/jobs/control/browse?filterState=NOPE', t.tokens.provider)).statusCode).toBe(400);
  });
});
