import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app';
import { sharedApp } from '../test/app';
import { createJob, databaseSpec } from '../test/jobs';
import { TestSocket } from '../test/socket';

let alice: string;
let bob: string;
let provider2: string;

async function addUser(username: string, role?: string) {
  const response = await t.call('POST', '/api/admin/users', t.tokens.admin, { username, ...(role ? { role } : {}) });
  expect(response.statusCode).toBe(200);
  return response.json().token as string;
}

const t = sharedApp({ taskRetentionMs: 60_000 });
beforeAll(async () => {
  alice = await addUser('alice');
  bob = await addUser('bob');
  provider2 = await addUser('other-provider', 'PROVIDER');
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function create(owner = 'alice', token = t.tokens.ucloud, extra: Record<string, unknown> = {}) {
  const response = await t.call('PUT', '/api/tasks', token, { title: 'A task', owner, initialStatus: null, ...extra });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as { jobId: string } & Record<string, unknown>;
}

const post = (token: string, update: Record<string, unknown>) => t.call('POST', '/api/tasks/postStatus', token, { update });
const complete = (token: string, id: string) => t.call('POST', '/api/tasks/markAsComplete', token, { id });
const view = (token: string, id: string) => t.call('GET', `/api/tasks/retrieve?id=${encodeURIComponent(id)}`, token);

function expectError(response: { statusCode: number; json(): unknown }, status: number, why: RegExp) {
  expect(response.statusCode).toBe(status);
  const body = response.json() as { why: string; errorCode: unknown };
  expect(body.why).toMatch(why);
  expect(body.errorCode === null || typeof body.errorCode === 'string').toBe(true);
}

describe('PUT /api/tasks (create)', () => {
  it('creates a task processed by _ucloud when the core service asks, with the extensions filled in', async () => {
    const before = Date.now();
    const task = await create('alice', t.tokens.ucloud, { title: 'Copying files', initialStatus: 'Starting' });
    expect(task).toEqual({
      jobId: expect.stringMatching(UUID),
      owner: 'alice',
      processor: '_ucloud',
      title: 'Copying files',
      status: 'Starting',
      complete: false,
      startedAt: expect.any(Number),
      modifiedAt: expect.any(Number),
      progress: null,
      speeds: [],
      messages: [],
      seq: 0,
    });
    expect(task.startedAt).toBeGreaterThanOrEqual(before);
    expect((await view(alice, task.jobId)).json()).toEqual(task);
  });

  it('lets a provider create a task for a user who has a job on it, processed under its own id', async () => {
    await createJob(t, databaseSpec('/tasks/provider'), alice);
    const task = await create('alice', t.tokens.provider);
    expect(task.processor).toBe('example');
  });

  it('refuses a provider a task for a user without a job on it, with the same answer as for a missing user', async () => {
    expectError(await t.call('PUT', '/api/tasks', t.tokens.provider, { title: 'x', owner: 'bob', initialStatus: null }), 400, /^owner: no user 'bob' with a job on provider 'example'$/);
    expectError(await t.call('PUT', '/api/tasks', t.tokens.provider, { title: 'x', owner: 'nobody', initialStatus: null }), 400, /^owner: no user 'nobody' with a job on provider 'example'$/);
    expectError(await t.call('PUT', '/api/tasks', provider2, { title: 'x', owner: 'alice', initialStatus: null }), 400, /^owner: .*provider 'other-provider'/);
  });

  it('requires the owner to be an existing user', async () => {
    expectError(await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: 'x', owner: 'User#9999', initialStatus: null }), 400, /^owner: no user 'User#9999'$/);
    // A service principal is not someone who can see tasks.
    expectError(await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: 'x', owner: 'admin', initialStatus: null }), 400, /^owner: /);
  });

  it.each([
    ['no token', null, 401],
    ['an unknown token', 'not-a-token', 401],
    ['a user', 'user', 403],
    ['an admin', 'admin', 403],
  ] as const)('refuses %s', async (_label, who, status) => {
    const token = who === null ? null : who === 'not-a-token' ? who : t.tokens[who];
    const response = await t.call('PUT', '/api/tasks', token, { title: 'x', owner: 'alice', initialStatus: null });
    expect(response.statusCode).toBe(status);
  });

  it.each([
    ['a missing title', { owner: 'alice', initialStatus: null }, /^title: /],
    ['a title that is not a string', { title: 5, owner: 'alice', initialStatus: null }, /^title: must be a string/],
    ['an unknown field', { title: 'x', owner: 'alice', initialStatus: null, colour: 'red' }, /^colour: unknown field/],
    ['an owner with characters a username cannot have', { title: 'x', owner: 'a b', initialStatus: null }, /^owner: /],
    ['a missing owner', { title: 'x', initialStatus: null }, /^owner: /],
    ['an initialStatus that is not a string', { title: 'x', owner: 'alice', initialStatus: 1 }, /^initialStatus: /],
    ['a title with a NUL character', { title: 'a\u0000b', owner: 'alice', initialStatus: null }, /^title: must not contain (the )?NUL/],
    ['a title with an unpaired surrogate', { title: 'a\ud800b', owner: 'alice', initialStatus: null }, /^title: must not contain a lone UTF-16 surrogate/],
    ['a title over 4096 characters', { title: 'x'.repeat(4097), owner: 'alice', initialStatus: null }, /^title: must be at most 4096/],
    ['a body that is an array', [], /^\(body\): /],
  ])('answers 400 naming the field for %s', async (_label, body, why) => {
    expectError(await t.call('PUT', '/api/tasks', t.tokens.ucloud, body), 400, why);
  });

  it('answers 400 for malformed JSON and for an empty body', async () => {
    expectError(await t.call('PUT', '/api/tasks', t.tokens.ucloud, '{"title": '), 400, /^\(body\): malformed JSON/);
    expectError(await t.call('PUT', '/api/tasks', t.tokens.ucloud, ''), 400, /^\(body\): /);
  });
});

describe('POST /api/tasks/postStatus', () => {
  it('replaces title and status, keeps the latest progress and speeds, and appends messages in order', async () => {
    const task = await create();
    const speeds = [{ title: 'Download', speed: 12.5, unit: 'MB/s', asText: '12.5 MB/s' }];
    const progress = { title: 'Layers', current: 1, maximum: 3 };
    for (const update of [
      { jobId: task.jobId, newTitle: 'Pulling image', messageToAppend: 'first', progress, speeds },
      { jobId: task.jobId, newStatus: 'Halfway', messageToAppend: 'second', progress: { ...progress, current: 2 } },
      { jobId: task.jobId, newTitle: null, newStatus: null, speeds: [], progress: null, complete: false, messageToAppend: 'third' },
    ]) {
      const response = await post(t.tokens.ucloud, update);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({});
    }
    const after = (await view(alice, task.jobId)).json();
    expect(after).toMatchObject({
      title: 'Pulling image',
      status: 'Halfway',
      complete: false,
      progress: { title: 'Layers', current: 2, maximum: 3 },
      speeds: [],
      messages: ['first', 'second', 'third'],
      seq: 3,
    });
    expect(after.modifiedAt).toBeGreaterThanOrEqual(after.startedAt);
  });

  it('stores any text exactly as posted: quotes, backslashes, SQL, JSON and emoji', async () => {
    const task = await create();
    const texts = [`it's`, `a\\b\\'c`, `'); DELETE FROM tasks; --`, `$$ $tag$ E'\\x00'`, `{"json": ["x"]}`, 'ü€😀 \n\t end'];
    for (const text of texts) {
      const response = await post(t.tokens.ucloud, { jobId: task.jobId, messageToAppend: text, newTitle: text, progress: { title: text, current: 1, maximum: 2 }, speeds: [{ title: text, speed: 1, unit: text, asText: text }] });
      expect(response.statusCode, response.body).toBe(200);
    }
    const after = (await view(alice, task.jobId)).json();
    expect(after.messages).toEqual(texts);
    expect(after.title).toBe(texts.at(-1));
    expect(after.progress.title).toBe(texts.at(-1));
    expect(after.speeds[0].asText).toBe(texts.at(-1));
  });

  it('treats complete: true as markAsComplete; afterwards every update is a 409', async () => {
    const task = await create();
    expect((await post(t.tokens.ucloud, { jobId: task.jobId, messageToAppend: 'done', complete: true })).statusCode).toBe(200);
    expect((await view(alice, task.jobId)).json()).toMatchObject({ complete: true, messages: ['done'], seq: 1 });
    expectError(await post(t.tokens.ucloud, { jobId: task.jobId, messageToAppend: 'late' }), 409, /^update\.jobId: task '.*' is already complete$/);
    expectError(await complete(t.tokens.ucloud, task.jobId), 409, /^id: task '.*' is already complete$/);
    expect((await view(alice, task.jobId)).json()).toMatchObject({ messages: ['done'], seq: 1 });
  });

  it('answers 404 for a task that does not exist, or that another processor created', async () => {
    const ucloudTask = await create();
    const providerTask = await create('alice', t.tokens.provider);
    expectError(await post(t.tokens.provider, { jobId: ucloudTask.jobId, messageToAppend: 'x' }), 404, /^update\.jobId: no task/);
    expectError(await post(t.tokens.ucloud, { jobId: providerTask.jobId, messageToAppend: 'x' }), 404, /^update\.jobId: no task/);
    expectError(await post(provider2, { jobId: providerTask.jobId, messageToAppend: 'x' }), 404, /^update\.jobId: no task/);
    expectError(await post(t.tokens.ucloud, { jobId: '00000000-0000-4000-8000-000000000000', messageToAppend: 'x' }), 404, /^update\.jobId: no task/);
    expectError(await post(t.tokens.ucloud, { jobId: 'not-a-uuid', messageToAppend: 'x' }), 404, /^update\.jobId: no task 'not-a-uuid'/);
    // Nothing was applied to either task.
    expect((await view(alice, ucloudTask.jobId)).json()).toMatchObject({ messages: [], seq: 0 });
    expect((await view(alice, providerTask.jobId)).json()).toMatchObject({ messages: [], seq: 0 });
  });

  it.each([
    ['no token', null, 401],
    ['a user, even the owner', 'alice', 403],
    ['an admin', 'admin', 403],
  ] as const)('refuses %s', async (_label, who, status) => {
    const task = await create();
    const token = who === null ? null : who === 'alice' ? alice : t.tokens[who];
    expect((await post(token as string, { jobId: task.jobId, messageToAppend: 'x' })).statusCode).toBe(status);
    expect((await complete(token as string, task.jobId)).statusCode).toBe(status);
    expect((await view(alice, task.jobId)).json()).toMatchObject({ complete: false, seq: 0 });
  });

  it.each([
    ['a missing update', {}, /^update: /],
    ['a missing jobId', { update: { messageToAppend: 'x' } }, /^update\.jobId: /],
    ['an empty jobId', { update: { jobId: '' } }, /^update\.jobId: must not be empty/],
    ['an unknown field in the update', { update: { jobId: 'x', mesage: 'typo' } }, /^update\.mesage: unknown field/],
    ['a speed that is not a number', { update: { jobId: 'x', speeds: [{ title: 'a', speed: 'fast', unit: 'MB/s', asText: 'x' }] } }, /^update\.speeds\[0\]\.speed: /],
    ['a speed missing asText', { update: { jobId: 'x', speeds: [{ title: 'a', speed: 1, unit: 'MB/s' }] } }, /^update\.speeds\[0\]\.asText: /],
    ['a negative progress', { update: { jobId: 'x', progress: { title: 'a', current: -1, maximum: 3 } } }, /^update\.progress\.current: /],
    ['a fractional progress', { update: { jobId: 'x', progress: { title: 'a', current: 1.5, maximum: 3 } } }, /^update\.progress\.current: /],
    ['complete that is not a boolean', { update: { jobId: 'x', complete: 'yes' } }, /^update\.complete: /],
    ['a message with a NUL character', { update: { jobId: 'x', messageToAppend: 'a\u0000' } }, /^update\.messageToAppend: must not contain (the )?NUL/],
    ['a message over 64 KiB', { update: { jobId: 'x', messageToAppend: 'x'.repeat(65537) } }, /^update\.messageToAppend: must be at most 65536/],
    ['a speed title with an unpaired surrogate', { update: { jobId: 'x', speeds: [{ title: '\udc00', speed: 1, unit: 'u', asText: 'x' }] } }, /^update\.speeds\[0\]\.title: must not contain a lone UTF-16 surrogate/],
    ['an unknown top-level field', { update: { jobId: 'x' }, extra: 1 }, /^extra: unknown field/],
  ])('answers 400 naming the field for %s', async (_label, body, why) => {
    expectError(await t.call('POST', '/api/tasks/postStatus', t.tokens.ucloud, body), 400, why);
  });

  it('keeps the latest 1000 messages, in the order their updates were applied, through concurrent batched posts', async () => {
    const task = await create();
    const client = await TestSocket.inject(t.app);
    client.call('tasks.listen', 'l', {}, alice);
    await client.sync(alice);
    const total = 1260;
    const responses = await Promise.all(
      Array.from({ length: total }, (_, i) => post(t.tokens.ucloud, { jobId: task.jobId, messageToAppend: `m${i}` })),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(responses.map(() => 200));
    const updates = await client.waitMessages('l', total);
    expect(updates.map((u) => u.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const applied = updates.map((u) => u.messageToAppend as string);
    expect(new Set(applied).size).toBe(total);
    const after = (await view(alice, task.jobId)).json();
    expect(after.seq).toBe(total);
    expect(after.messages).toEqual(applied.slice(total - 1000));
    // Storage stays bounded too: older messages are deleted in bulk as the log grows.
    const [stored] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM task_messages WHERE task_id = $1`, [task.jobId]);
    expect(stored!.n).toBeGreaterThanOrEqual(1000);
    expect(stored!.n).toBeLessThan(1260);
    await client.close();
  });
});

describe('two writers on one database (as two server processes would be)', () => {
  it('apply every update exactly once and in each sender\'s order, however their batches interleave', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-second-'));
    const second = await buildApp({ db: t.db, config: { dataDir, publicDir: null } });
    await second.ready();
    try {
      const task = await create();
      const send = (app: FastifyInstance, token: string, message: string) =>
        app.inject({ method: 'POST', url: '/api/tasks/postStatus', headers: { authorization: `Bearer ${token}` }, payload: { update: { jobId: task.jobId, messageToAppend: message } } });
      const sender = async (app: FastifyInstance, token: string, name: string) => {
        for (let round = 0; round < 10; round++) {
          // Several at once per round, so each app's batches hold more than one update.
          const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => send(app, token, `${name}-${round * 10 + i}`)));
          expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
        }
      };
      await Promise.all([sender(t.app, t.tokens.ucloud, 'one'), sender(second, second.services.credentials.ucloud, 'two')]);
      const after = (await view(alice, task.jobId)).json();
      expect(after.seq).toBe(200);
      expect(new Set(after.messages).size).toBe(200);
      for (const name of ['one', 'two']) {
        const rounds = (after.messages as string[]).filter((m) => m.startsWith(`${name}-`)).map((m) => Math.floor(Number(m.split('-')[1]) / 10));
        expect(rounds).toHaveLength(100);
        // Within a round the ten posts race each other; rounds themselves stay in order.
        expect(rounds).toEqual([...rounds].sort((x, y) => x - y));
      }
    } finally {
      await second.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('POST /api/tasks/markAsComplete', () => {
  it('completes the task and answers {}', async () => {
    const task = await create();
    const response = await complete(t.tokens.ucloud, task.jobId);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({});
    expect((await view(alice, task.jobId)).json()).toMatchObject({ complete: true, seq: 1 });
  });

  it('answers 404 for another processor and for an unknown id, 400 for a bad body', async () => {
    const task = await create();
    expectError(await complete(t.tokens.provider, task.jobId), 404, /^id: no task/);
    expectError(await complete(t.tokens.ucloud, 'nope'), 404, /^id: no task 'nope'/);
    expectError(await t.call('POST', '/api/tasks/markAsComplete', t.tokens.ucloud, {}), 400, /^id: /);
    expectError(await t.call('POST', '/api/tasks/markAsComplete', t.tokens.ucloud, { id: 7 }), 400, /^id: must be a/);
    expectError(await t.call('POST', '/api/tasks/markAsComplete', t.tokens.ucloud, { id: task.jobId, why: 1 }), 400, /^why: unknown field/);
    expect((await view(alice, task.jobId)).json()).toMatchObject({ complete: false });
  });
});

describe('GET /api/tasks (list) and /api/tasks/retrieve (view)', () => {
  it("lists only the caller's own tasks, newest first, in the legacy Page shape", async () => {
    const carol = await addUser('carol');
    const first = await create('carol');
    const second = await create('carol', t.tokens.ucloud, { title: 'Second' });
    await post(t.tokens.ucloud, { jobId: second.jobId, messageToAppend: 'hello' });
    await create('bob');
    const page = (await t.call('GET', '/api/tasks', carol)).json();
    expect(page).toEqual({
      itemsInTotal: 2,
      itemsPerPage: 50,
      pageNumber: 0,
      items: [expect.objectContaining({ jobId: second.jobId, title: 'Second', messages: ['hello'], seq: 1 }), expect.objectContaining({ jobId: first.jobId })],
    });
    const paged = (await t.call('GET', '/api/tasks?itemsPerPage=1&page=1', carol)).json();
    expect(paged).toMatchObject({ itemsInTotal: 2, itemsPerPage: 1, pageNumber: 1, items: [{ jobId: first.jobId }] });
    expect((await t.call('GET', '/api/tasks?itemsPerPage=1&page=5', carol)).json()).toMatchObject({ itemsInTotal: 2, items: [] });
  });

  it("answers 404 for someone else's task, for an unknown id and for an id that is not a UUID", async () => {
    const task = await create('alice');
    expectError(await view(bob, task.jobId), 404, /^id: no task/);
    expectError(await view(alice, '00000000-0000-4000-8000-000000000000'), 404, /^id: no task/);
    expectError(await view(alice, 'zzz'), 404, /^id: no task 'zzz'/);
    expect((await t.call('GET', '/api/tasks', bob)).json().items.map((i: { jobId: string }) => i.jobId)).not.toContain(task.jobId);
  });

  it.each([
    ['itemsPerPage that is not a number', '?itemsPerPage=ten', /^itemsPerPage: /],
    ['itemsPerPage of 0', '?itemsPerPage=0', /^itemsPerPage: /],
    ['itemsPerPage over 1000', '?itemsPerPage=1001', /^itemsPerPage: /],
    ['a negative page', '?page=-1', /^page: /],
    ['a fractional page', '?page=1.5', /^page: /],
    ['a huge page', '?page=99999999999', /^page: must be at most/],
    ['an unknown parameter', '?sort=asc', /^sort: unknown field/],
  ])('list answers 400 naming the parameter for %s', async (_label, query, why) => {
    expectError(await t.call('GET', `/api/tasks${query}`, alice), 400, why);
  });

  it('view answers 400 without an id', async () => {
    expectError(await t.call('GET', '/api/tasks/retrieve', alice), 400, /^id: /);
  });

  it.each([
    ['no token', null, 401],
    ['the service', 'ucloud', 403],
    ['a provider', 'provider', 403],
  ] as const)('list and view refuse %s', async (_label, who, status) => {
    const task = await create();
    const token = who === null ? null : t.tokens[who];
    expect((await t.call('GET', '/api/tasks', token)).statusCode).toBe(status);
    expect((await view(token as string, task.jobId)).statusCode).toBe(status);
  });
});

describe('retention', () => {
  it('deletes completed tasks once the retention period has passed, and keeps the rest', async () => {
    const done = await create();
    const running = await create();
    for (const task of [done, running]) expect((await post(t.tokens.ucloud, { jobId: task.jobId, messageToAppend: 'a line' })).statusCode).toBe(200);
    await complete(t.tokens.ucloud, done.jobId);
    const now = Date.now();
    const stored = async (id: string) =>
      (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM task_messages WHERE task_id = $1`, [id]))[0]!.n;
    // Not yet: completed just now, retention is a minute.
    expect(await t.app.services.tasks.sweep(now)).toBe(0);
    expect((await view(alice, done.jobId)).statusCode).toBe(200);
    expect(await t.app.services.tasks.sweep(now + 61_000)).toBeGreaterThanOrEqual(1);
    expectError(await view(alice, done.jobId), 404, /^id: no task/);
    expect((await view(alice, running.jobId)).statusCode).toBe(200);
    // The deleted task's message log goes with it; the kept task keeps its own.
    expect(await stored(done.jobId)).toBe(0);
    expect(await stored(running.jobId)).toBe(1);
    expectError(await post(t.tokens.ucloud, { jobId: done.jobId, messageToAppend: 'x' }), 404, /^update\.jobId: no task/);
  });
});
