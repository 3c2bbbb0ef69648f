import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedApp, build } from '../test/app';
import { control, createJob, databaseSpec } from '../test/jobs';
import { TestSocket } from '../test/socket';

let alice: string;
let bob: string;

async function addUser(username: string) {
  const response = await t.call('POST', '/api/admin/users', t.tokens.admin, { username });
  return response.json().token as string;
}

async function createTask(owner: string) {
  const response = await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: `Task of ${owner}`, owner, initialStatus: null });
  expect(response.statusCode).toBe(200);
  return response.json().jobId as string;
}

async function post(jobId: string, messageToAppend: string) {
  const response = await t.call('POST', '/api/tasks/postStatus', t.tokens.ucloud, { update: { jobId, messageToAppend } });
  expect(response.statusCode).toBe(200);
}

const t = sharedApp({ wsMaxStreamsPerSocket: 8 });
beforeAll(async () => {
  alice = await addUser('alice');
  bob = await addUser('bob');
});

describe('tasks.listen', () => {
  it("streams every update of the caller's tasks as message frames, with the server's seq", async () => {
    const client = await TestSocket.inject(t.app);
    client.call('tasks.listen', '0', {}, alice);
    await client.sync(alice);
    const id = await createTask('alice');
    await post(id, 'one');
    await t.call('POST', '/api/tasks/postStatus', t.tokens.ucloud, {
      update: { jobId: id, newTitle: 'Renamed', progress: { title: 'p', current: 1, maximum: 2 }, speeds: [{ title: 's', speed: 1.5, unit: 'MB/s', asText: '1.5 MB/s' }] },
    });
    await t.call('POST', '/api/tasks/markAsComplete', t.tokens.ucloud, { id });
    await client.waitMessages('0', 3);
    expect(client.on('0')).toEqual([
      { type: 'message', streamId: '0', payload: { jobId: id, newTitle: null, speeds: null, progress: null, complete: null, messageToAppend: 'one', newStatus: null, seq: 1 } },
      {
        type: 'message',
        streamId: '0',
        payload: {
          jobId: id,
          newTitle: 'Renamed',
          speeds: [{ title: 's', speed: 1.5, unit: 'MB/s', asText: '1.5 MB/s' }],
          progress: { title: 'p', current: 1, maximum: 2 },
          complete: null,
          messageToAppend: null,
          newStatus: null,
          seq: 2,
        },
      },
      { type: 'message', streamId: '0', payload: { jobId: id, newTitle: null, speeds: [], progress: null, complete: true, messageToAppend: null, newStatus: null, seq: 3 } },
    ]);
    await client.close();
  });

  it("never sends user B user A's updates, and B gets 404 on A's tasks", async () => {
    const a = await TestSocket.inject(t.app);
    const b = await TestSocket.inject(t.app);
    a.call('tasks.listen', 'a', {}, alice);
    b.call('tasks.listen', 'b', {}, bob);
    await a.sync(alice);
    await b.sync(bob);
    const aliceTask = await createTask('alice');
    const bobTask = await createTask('bob');
    for (let i = 0; i < 5; i++) await post(aliceTask, `secret ${i}`);
    // Events go out in commit order on each socket: once B has its own later update, A's would have come first.
    await post(bobTask, 'for bob');
    const received = await b.waitMessages('b', 1);
    await a.waitMessages('a', 5);
    expect(received.map((u) => u.jobId)).toEqual([bobTask]);
    expect(b.frames.filter((f) => JSON.stringify(f).includes(aliceTask))).toEqual([]);
    expect(a.messages('a').map((u) => u.jobId)).toEqual(Array(5).fill(aliceTask));
    expect((await t.call('GET', `/api/tasks/retrieve?id=${aliceTask}`, bob)).statusCode).toBe(404);
    await a.close();
    await b.close();
  });

  it('delivers to every listener of the owner: several sockets, and several streams on one socket', async () => {
    const one = await TestSocket.inject(t.app);
    const two = await TestSocket.inject(t.app);
    one.call('tasks.listen', 'x', {}, alice);
    one.call('tasks.listen', 'y', {}, alice);
    two.call('tasks.listen', 'z', {}, alice);
    await one.sync(alice);
    await two.sync(alice);
    const id = await createTask('alice');
    await post(id, 'everyone');
    for (const [client, stream] of [[one, 'x'], [one, 'y'], [two, 'z']] as const) {
      expect((await client.waitMessages(stream, 1)).map((u) => u.messageToAppend)).toEqual(['everyone']);
    }
    await one.close();
    await two.close();
  });
});

describe('tasks.listen with {batch: true} (extension)', () => {
  it('sends the updates of one commit as one {updates} message, in seq order, alongside a plain listener', async () => {
    const client = await TestSocket.inject(t.app);
    client.call('tasks.listen', 'batched', { batch: true }, alice);
    client.call('tasks.listen', 'plain', {}, alice);
    await client.sync(alice);
    const id = await createTask('alice');
    // Concurrent posts land in the writer's same group commit, so they share a message.
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
    await Promise.all(lines.map((line) => post(id, line)));
    await client.waitMessages('plain', 40);
    const batched = await client.until(() => {
      const got = client.messages('batched').flatMap((m) => (m as { updates: unknown[] }).updates);
      return got.length >= 40 ? got : undefined;
    }, '40 batched updates');
    const messages = client.messages('batched');
    expect(messages.length).toBeLessThan(40);
    for (const m of messages) expect(Object.keys(m as object)).toEqual(['updates']);
    expect(batched.map((u) => (u as { seq: number }).seq)).toEqual(lines.map((_, i) => i + 1));
    // The same updates, byte for byte, as the contract's one-per-message stream, in the same order.
    expect(batched).toEqual(client.messages('plain'));
    expect(batched.map((u) => (u as { messageToAppend: string }).messageToAppend).sort()).toEqual([...lines].sort());
    await client.close();
  });

  it("never batches another user's updates in, and a bad batch flag is a 400 naming it", async () => {
    const client = await TestSocket.inject(t.app);
    client.call('tasks.listen', 'mine', { batch: true }, bob);
    client.call('tasks.listen', 'bad', { batch: 'yes' }, bob);
    await client.sync(bob);
    expect(client.on('bad')).toEqual([{ type: 'response', streamId: 'bad', status: 400, payload: { why: expect.stringMatching(/^payload\.batch: /), errorCode: null } }]);
    const aliceTask = await createTask('alice');
    const bobTask = await createTask('bob');
    await Promise.all([post(aliceTask, 'for alice'), post(bobTask, 'for bob'), post(aliceTask, 'for alice again')]);
    const [message] = await client.waitMessages('mine', 1);
    expect(message).toEqual({ updates: [expect.objectContaining({ jobId: bobTask, messageToAppend: 'for bob' })] });
    await client.close();
  });
});

describe('frames that are not a valid call get a response frame naming the problem', () => {
  let client: TestSocket;
  beforeAll(async () => {
    client = await TestSocket.inject(t.app);
  });
  afterAll(() => client.close());

  const ask = async (frame: unknown) => {
    const before = client.frames.length;
    client.send(frame);
    await client.until(() => client.frames.length > before, 'an answer');
    return client.frames[before]!;
  };

  it.each([
    ['malformed JSON', '{"call": ', '', 400, /^\(frame\): malformed JSON/],
    ['a frame that is not an object', '[1,2]', '', 400, /^\(frame\): must be an object/],
    ['a missing call', { streamId: 's1', payload: {}, bearer: 'x' }, 's1', 400, /^call: /],
    ['an empty call', { call: '', streamId: 's2', payload: {}, bearer: 'x' }, 's2', 400, /^call: must not be empty/],
    ['a missing streamId', { call: 'tasks.listen', payload: {}, bearer: 'x' }, '', 400, /^streamId: /],
    ['a streamId that is not a string', { call: 'tasks.listen', streamId: 3, payload: {}, bearer: 'x' }, '', 400, /^streamId: must be a non-empty string/],
    ['a missing bearer', { call: 'tasks.listen', streamId: 's3', payload: {} }, 's3', 401, /^bearer: a bearer token is required/],
    ['a missing payload', { call: 'tasks.listen', streamId: 's4', bearer: 'x' }, 's4', 400, /^payload: /],
    ['an unknown field', { call: 'tasks.listen', streamId: 's5', payload: {}, bearer: 'x', token: 'y' }, 's5', 400, /^token: unknown field/],
    ['an unknown call', { call: 'tasks.subscribe', streamId: 's6', payload: {}, bearer: 'x' }, 's6', 400, /^call: unknown call 'tasks\.subscribe'; expected one of tasks\.listen, jobs\.follow, jobs\.listen$/],
    ['an unknown bearer', { call: 'tasks.listen', streamId: 's7', payload: {}, bearer: 'nope' }, 's7', 401, /bearer token is unknown/],
    ['an empty bearer', { call: 'tasks.listen', streamId: 's8', payload: {}, bearer: '' }, 's8', 401, /bearer token is required/],
    ['a streamId over 128 characters', { call: 'tasks.listen', streamId: 'x'.repeat(129), payload: {}, bearer: 'x' }, 'x'.repeat(128), 400, /^streamId: must be at most 128/],
  ])('%s', async (_label, frame, streamId, status, why) => {
    const answer = await ask(frame);
    expect(answer).toEqual({ type: 'response', streamId, status, payload: { why: expect.stringMatching(why), errorCode: null } });
  });

  it('a bearer of a role that may not listen gets 403', async () => {
    for (const [call, payload] of [['tasks.listen', {}], ['jobs.listen', {}], ['jobs.follow', { id: '1' }]] as const) {
      const answer = await ask({ call, streamId: `r-${call}`, payload, bearer: t.tokens.ucloud });
      expect(answer).toMatchObject({ type: 'response', streamId: `r-${call}`, status: 403 });
    }
    expect(await ask({ call: 'tasks.listen', streamId: 'r-p', payload: {}, bearer: t.tokens.provider })).toMatchObject({ status: 403 });
  });

  it.each([
    ['tasks.listen with a field in its payload', 'tasks.listen', { all: true }, /^payload\.all: unknown field/],
    ['tasks.listen with a null payload', 'tasks.listen', null, /^payload: must be an object/],
    ['jobs.listen with a field in its payload', 'jobs.listen', { id: '1' }, /^payload\.id: unknown field/],
    ['jobs.follow without an id', 'jobs.follow', {}, /^payload\.id: /],
    ['jobs.follow with an empty id', 'jobs.follow', { id: '' }, /^payload\.id: must not be empty/],
    ['jobs.follow with a numeric id', 'jobs.follow', { id: 5 }, /^payload\.id: must be a non-empty string/],
  ])('%s', async (label, call, payload, why) => {
    const answer = await ask({ call, streamId: label, payload, bearer: alice });
    expect(answer).toEqual({ type: 'response', streamId: label, status: 400, payload: { why: expect.stringMatching(why), errorCode: null } });
  });

  it('a binary frame', async () => {
    const answer = await ask(Buffer.from([1, 2, 3]));
    expect(answer).toMatchObject({ type: 'response', streamId: '', status: 400, payload: { why: expect.stringMatching(/^\(frame\): must be a text frame/) } });
  });

  it('a streamId already open on the socket ends that call too', async () => {
    client.call('tasks.listen', 'dup', {}, alice);
    await client.sync(alice);
    const answer = await ask({ call: 'tasks.listen', streamId: 'dup', payload: {}, bearer: alice });
    expect(answer).toMatchObject({ type: 'response', streamId: 'dup', status: 400, payload: { why: expect.stringMatching(/^streamId: a call with stream id 'dup' is already open/) } });
    const id = await createTask('alice');
    await post(id, 'after the duplicate');
    // The socket is still fine, and 'dup' is gone: a fresh stream gets the next update, 'dup' does not.
    client.call('tasks.listen', 'fresh', {}, alice);
    await client.sync(alice);
    await post(id, 'later');
    await client.waitMessages('fresh', 1);
    expect(client.messages('dup')).toEqual([]);
    // The id is free again: opening it now succeeds (no second response).
    client.call('tasks.listen', 'dup', {}, alice);
    await client.sync(alice);
    expect(client.on('dup').filter((f) => f.type === 'response')).toHaveLength(1);
  });

  it('a frame over 64 KiB closes the socket (1009)', async () => {
    const big = await TestSocket.inject(t.app);
    big.send({ call: 'tasks.listen', streamId: 'big', payload: {}, bearer: 'x'.repeat(70_000) });
    expect((await big.closed).code).toBe(1009);
  });
});

it('closes a socket (1008) that sends far more frames than it waits answers for', async () => {
  const flood = await TestSocket.inject(t.app);
  for (let i = 0; i < 3000; i++) flood.call('tasks.listen', `f${i}`, {}, `unknown-${i}`);
  expect((await flood.closed).code).toBe(1008);
});

it('limits the calls open on one socket', async () => {
  const client = await TestSocket.inject(t.app);
  for (let i = 0; i < 8; i++) client.call('tasks.listen', `s${i}`, {}, alice);
  client.call('tasks.listen', 'one-too-many', {}, alice);
  const answer = await client.waitResponse('one-too-many');
  expect(answer).toMatchObject({ status: 400, payload: { why: 'streamId: at most 8 calls can be open on one socket' } });
  await client.close();
});

it('makes room by ending the oldest jobs.follow (there is no cancel call), never a listen', async () => {
  const id = await createJob(t, databaseSpec('/limit/follow'), alice);
  const client = await TestSocket.inject(t.app, '/api/jobs');
  client.call('jobs.listen', 'listen', {}, alice);
  // A client that opens a follow per page it visits, and never closes them.
  for (let i = 0; i < 10; i++) client.call('jobs.follow', `page-${i}`, { id }, alice);
  await client.waitMessages('page-9', 1);
  // 8 calls fit: the listen and the 7 newest follows; the 3 oldest follows were ended, oldest first.
  expect(client.frames.filter((f) => f.type === 'response').map((f) => [f.streamId, f.status])).toEqual([
    ['page-0', 200],
    ['page-1', 200],
    ['page-2', 200],
  ]);
  await control(t, id, { state: 'RUNNING' });
  expect((await client.waitMessages('listen', 1))[0].job.status.state).toBe('RUNNING');
  expect((await client.waitMessages('page-9', 2))[1].newStatus.state).toBe('RUNNING');
  expect(client.messages('page-0')).toHaveLength(1);
  await client.close();
});

describe('jobs.follow', () => {
  it('sends initialJob (with its updates) first, then {updates, newStatus} as updates land', async () => {
    const id = await createJob(t, databaseSpec('/follow/a'), alice);
    await control(t, id, { state: 'RUNNING', status: 'Up' });
    const client = await TestSocket.inject(t.app, '/api/jobs');
    client.call('jobs.follow', 'f', { id }, alice);
    const [first] = await client.waitMessages('f', 1);
    expect(Object.keys(first)).toEqual(['initialJob']);
    expect(first.initialJob).toMatchObject({ id, status: { state: 'RUNNING' }, owner: { createdBy: 'alice' } });
    expect(first.initialJob.updates.map((u: { state: string; status: string }) => [u.state, u.status])).toEqual([['RUNNING', 'Up']]);

    await control(t, id, { status: 'Still up' });
    await control(t, id, { state: 'SUCCESS', status: 'Done' });
    const messages = await client.until(() => {
      const all = client.messages('f').slice(1);
      return all.flatMap((m) => m.updates).length >= 2 ? all : undefined;
    }, 'two updates');
    for (const message of messages) expect(Object.keys(message).sort()).toEqual(['newStatus', 'updates']);
    expect(messages.flatMap((m) => m.updates).map((u: { status: string }) => u.status)).toEqual(['Still up', 'Done']);
    expect(messages.at(-1).newStatus).toMatchObject({ state: 'SUCCESS' });
    await client.close();
  });

  it('loses and repeats nothing between the initial read and the live stream, even when updates race the subscription', async () => {
    const id = await createJob(t, databaseSpec('/follow/race'), alice);
    const client = await TestSocket.inject(t.app, '/api/jobs');
    const total = 40;
    const writer = (async () => {
      for (let i = 0; i < total; i++) await control(t, id, { status: `step ${i}` });
    })();
    // Subscribe while the writer is mid-way.
    await control(t, id, { status: 'before' });
    client.call('jobs.follow', 'race', { id }, alice);
    await writer;
    const seen = await client.until(() => {
      const [initial, ...rest] = client.messages('race');
      if (!initial) return undefined;
      const all = [...initial.initialJob.updates, ...rest.flatMap((m) => m.updates)];
      return all.length >= total + 1 ? all : undefined;
    }, 'every update');
    const server = (await t.call('GET', `/api/jobs/retrieve?id=${id}&includeUpdates=true`, alice)).json();
    expect(seen).toEqual(server.updates);
    await client.close();
  });

  it("answers 404 for someone else's job and for a job that does not exist", async () => {
    const id = await createJob(t, databaseSpec('/follow/b'), alice);
    const client = await TestSocket.inject(t.app, '/api/jobs');
    client.call('jobs.follow', 'theirs', { id }, bob);
    client.call('jobs.follow', 'missing', { id: '999999' }, bob);
    expect(await client.waitResponse('theirs')).toMatchObject({ status: 404, payload: { why: `id: no job '${id}'` } });
    expect(await client.waitResponse('missing')).toMatchObject({ status: 404 });
    expect(client.messages('theirs')).toEqual([]);
    await client.close();
  });
});

describe('jobs.listen', () => {
  it("sends {job} on every change of any of the caller's jobs, and nothing of other users' jobs", async () => {
    const a = await TestSocket.inject(t.app, '/api/jobs');
    const b = await TestSocket.inject(t.app, '/api/jobs');
    a.call('jobs.listen', 'l', {}, alice);
    b.call('jobs.listen', 'l', {}, bob);
    await a.sync(alice);
    await b.sync(bob);
    const id = await createJob(t, databaseSpec('/listen/a'), alice);
    await control(t, id, { state: 'RUNNING' });
    await control(t, id, { state: 'SUCCESS', status: 'Terminated by user' });
    const bobsJob = await createJob(t, databaseSpec('/listen/b'), bob);
    const messages = await a.waitMessages('l', 3);
    for (const message of messages) expect(Object.keys(message)).toEqual(['job']);
    expect(messages.map((m) => [m.job.id, m.job.status.state])).toEqual([
      [id, 'IN_QUEUE'],
      [id, 'RUNNING'],
      [id, 'SUCCESS'],
    ]);
    // Each job carries the updates its change appended, so a list can tell a terminated job from a finished one.
    expect(messages[2].job.updates.map((u: { state: string | null; status: string | null }) => [u.state, u.status])).toEqual([
      ['SUCCESS', 'Terminated by user'],
    ]);
    const bobs = await b.waitMessages('l', 1);
    expect(bobs.map((m) => m.job.id)).toEqual([bobsJob]);
    expect(a.messages('l').map((m) => m.job.id)).not.toContain(bobsJob);
    await a.close();
    await b.close();
  });

  // The SPA keeps all its streams on one socket to /api/jobs; other clients open tasks.listen on /api/tasks.
  it.each(['/api/tasks', '/api/jobs'])('shares one socket with tasks.listen, jobs.listen and jobs.follow on %s', async (path) => {
    const id = await createJob(t, databaseSpec(`/listen/shared${path}`), alice);
    const client = await TestSocket.inject(t.app, path);
    client.call('tasks.listen', 'tasks', {}, alice);
    client.call('jobs.listen', 'jobs', {}, alice);
    client.call('jobs.follow', 'follow', { id }, alice);
    await client.waitMessages('follow', 1);
    await client.sync(alice);
    const task = await createTask('alice');
    await post(task, 'shared');
    await control(t, id, { state: 'RUNNING' });
    expect((await client.waitMessages('tasks', 1))[0].messageToAppend).toBe('shared');
    expect((await client.waitMessages('jobs', 1))[0].job.status.state).toBe('RUNNING');
    expect((await client.waitMessages('follow', 2))[1].newStatus.state).toBe('RUNNING');
    await client.close();
  });
});

describe('the HTTP side of the socket paths', () => {
  it('GET /api/jobs without an upgrade is a 400 that says it is a WebSocket; POST /api/jobs still creates jobs', async () => {
    const response = await t.call('GET', '/api/jobs', alice);
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(/WebSocket/);
    expect(await createJob(t, databaseSpec('/http/post'), alice)).toMatch(/^\d+$/);
  });
});

describe('liveness and bounded memory', () => {
  let host: string;
  const s = sharedApp({ wsPingIntervalMs: 100 });
  beforeAll(async () => {
    host = (await s.app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  });

  it('pings every client, and disconnects one that stops answering pings', async () => {
    const client = await TestSocket.connect(`${host}/api/tasks`);
    await new Promise((resolve) => client.ws.once('ping', resolve));
    await client.close();

    const silent = await TestSocket.connect(`${host}/api/tasks`, { autoPong: false });
    expect((await silent.closed).code).toBe(1006);
  });

  it("ends a stream with 401 at the next ping once its token is revoked", async () => {
    const revocable = (await s.call('POST', '/api/admin/users', s.tokens.admin, { username: 'dave' })).json().token;
    const client = await TestSocket.connect(`${host}/api/tasks`);
    client.call('tasks.listen', 'r', {}, revocable);
    await client.sync(revocable);
    expect((await s.call('POST', '/api/admin/tokens/revoke', s.tokens.admin, { username: 'dave' })).statusCode).toBe(200);
    expect(await client.waitResponse('r')).toMatchObject({ type: 'response', streamId: 'r', status: 401 });
    await client.close();
  });

  it('disconnects a client that does not read once its send buffer passes the bound', async () => {
    // Default ping interval here: a paused client also stops answering pings, and that must not be why it goes.
    const s = await build({ wsMaxBufferedBytes: 256 * 1024 });
    const host = (await s.app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
    const token = (await s.call('POST', '/api/admin/users', s.tokens.admin, { username: 'erin' })).json().token;
    const slow = await TestSocket.connect(`${host}/api/tasks`);
    const listening = await TestSocket.connect(`${host}/api/tasks`);
    slow.call('tasks.listen', 'slow', {}, token);
    listening.call('tasks.listen', 'ok', {}, token);
    await slow.sync(token);
    await listening.sync(token);
    const id = (await s.call('PUT', '/api/tasks', s.tokens.ucloud, { title: 'Big', owner: 'erin', initialStatus: null })).json().jobId;
    slow.ws.pause();
    const message = 'x'.repeat(60_000);
    let posted = 0;
    // Keep posting until the hub drops the slow socket (or far more than loopback's buffers could hold).
    while (s.app.services.live.stats().sockets > 1 && posted < 2000) {
      await Promise.all(
        Array.from({ length: 20 }, () => s.call('POST', '/api/tasks/postStatus', s.tokens.ucloud, { update: { jobId: id, messageToAppend: message } })),
      );
      posted += 20;
    }
    slow.ws.resume();
    expect((await slow.closed).code).toBe(1006);
    expect(slow.messages('slow').length).toBeLessThan(posted);
    // The client that keeps up is unaffected and gets every update.
    expect((await listening.waitMessages('ok', posted, 30_000)).length).toBe(posted);
    await listening.close();
    await s.close();
  });

  it('app.close() ends open sockets', async () => {
    const other = await build();
    const url = (await other.app.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
    const client = await TestSocket.connect(`${url}/api/jobs`);
    client.call('jobs.listen', 'l', {}, other.tokens.user);
    await client.sync(other.tokens.user);
    await other.close();
    expect([1000, 1001, 1005, 1006]).toContain((await client.closed).code);
  });
});
