import { afterAll, describe, expect, it } from 'vitest';
import { TestSocket } from '../test/socket';
import { freshDatabase, POSTGRES_TEST_URL, skipWithoutPostgres, request, startServer, type ServerProcess } from './server-process';

// Runs whenever a PostgreSQL is reachable: the one of the PostgreSQL test leg, else this machine's default.
const BASE_URL = POSTGRES_TEST_URL;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

const wsUrl = (server: ServerProcess, path: string) => `${server.base.replace('http', 'ws')}${path}`;

describe('two server processes on one PostgreSQL', () => {
  it('deliver each other\'s live events over LISTEN/NOTIFY, once each, whatever their size', async (ctx) => {
    await skipWithoutPostgres(ctx, BASE_URL, 'the two-process test');
    const db = await freshDatabase(BASE_URL, 'jobdeck_mp');
    cleanups.push(db.drop);
    // One after the other: the first one migrates the fresh database.
    const a = await startServer({ DATABASE_URL: db.url });
    cleanups.push(a.stop);
    const b = await startServer({ DATABASE_URL: db.url });
    cleanups.push(b.stop);

    // Each process issued its own tokens for the shared principals; both sets work on both.
    const onA = await TestSocket.connect(wsUrl(a, '/api/tasks'));
    const onB = await TestSocket.connect(wsUrl(b, '/api/tasks'));
    cleanups.push(() => onA.close(), () => onB.close());
    onA.call('tasks.listen', 'a', {}, a.credentials.user);
    onB.call('tasks.listen', 'b', {}, b.credentials.user);
    await onA.sync(a.credentials.user);
    await onB.sync(b.credentials.user);

    const created = await request(a.base, 'PUT', '/api/tasks', a.credentials.ucloud, { title: 'Across processes', owner: 'user', initialStatus: null });
    expect(created.status).toBe(200);
    const id = created.body!.jobId as string;

    // Posted to A: B's listener hears it through NOTIFY, A's own listener directly.
    expect((await request(a.base, 'POST', '/api/tasks/postStatus', a.credentials.ucloud, { update: { jobId: id, messageToAppend: 'posted to A' } })).status).toBe(200);
    expect((await onB.waitMessages('b', 1))[0]).toMatchObject({ jobId: id, messageToAppend: 'posted to A', seq: 1 });

    // Posted to B: A hears it. A never hears its own update a second time (its NOTIFY comes back to it too).
    expect((await request(b.base, 'POST', '/api/tasks/postStatus', b.credentials.ucloud, { update: { jobId: id, messageToAppend: 'posted to B' } })).status).toBe(200);
    await onA.waitMessages('a', 2);
    await onB.waitMessages('b', 2);

    // An update far over NOTIFY's 8000-byte limit, with multi-byte text, arrives whole.
    const big = `${'ü€😀'.repeat(4000)}end`;
    expect((await request(a.base, 'POST', '/api/tasks/postStatus', a.credentials.ucloud, { update: { jobId: id, messageToAppend: big } })).status).toBe(200);
    await onB.waitMessages('b', 3);
    await onA.waitMessages('a', 3);
    await onA.sync(a.credentials.user);
    await onB.sync(b.credentials.user);
    for (const listener of [onA, onB]) {
      const messages = listener.messages(listener === onA ? 'a' : 'b');
      expect(messages.map((m) => [m.seq, m.messageToAppend])).toEqual([
        [1, 'posted to A'],
        [2, 'posted to B'],
        [3, big],
      ]);
    }

    // A burst on three tasks, posted to both processes at once: their writes conflict and are retried, and the small
    // updates of one batch share NOTIFYs. Each listener still sees every update of every task exactly once. Not in
    // seq order across the two writers: a process's own updates reach its listeners at once, the other's a NOTIFY
    // later, and a client orders them by seq (contract §6).
    const burst: string[] = [];
    for (let i = 0; i < 3; i++) {
      const made = await request(a.base, 'PUT', '/api/tasks', a.credentials.ucloud, { title: `Burst ${i}`, owner: 'user', initialStatus: null });
      burst.push(made.body!.jobId as string);
    }
    const perTask = 40;
    const posts = burst.flatMap((taskId) =>
      Array.from({ length: perTask }, (_, n) => {
        const server = n % 2 === 0 ? a : b;
        return request(server.base, 'POST', '/api/tasks/postStatus', server.credentials.ucloud, { update: { jobId: taskId, messageToAppend: `${taskId} ${n}` } });
      }),
    );
    expect((await Promise.all(posts)).map((r) => r.status)).toEqual(posts.map(() => 200));
    for (const [listener, stream] of [[onA, 'a'], [onB, 'b']] as const) {
      await listener.waitMessages(stream, 3 + burst.length * perTask);
      await listener.sync(listener === onA ? a.credentials.user : b.credentials.user);
      const received = listener.messages(stream).slice(3);
      expect(received).toHaveLength(burst.length * perTask);
      for (const taskId of burst) {
        const ofTask = received.filter((m) => m.jobId === taskId);
        expect(ofTask.map((m) => m.seq as number).sort((x, y) => x - y)).toEqual(Array.from({ length: perTask }, (_, i) => i + 1));
        expect(new Set(ofTask.map((m) => m.messageToAppend)).size).toBe(perTask);
      }
    }

    // Job events cross too: a job created through A reaches jobs.listen on B.
    const jobsOnB = await TestSocket.connect(wsUrl(b, '/api/jobs'));
    cleanups.push(() => jobsOnB.close());
    jobsOnB.call('jobs.listen', 'jobs', {}, b.credentials.user);
    await jobsOnB.sync(b.credentials.user);
    const job = await request(a.base, 'POST', '/api/jobs', a.credentials.user, {
      items: [{ application: { name: 'acme-batch', version: '1.0.0' }, product: { id: 'example-compute', category: 'example-compute', provider: 'example' }, replicas: 1, allowDuplicateJob: true, parameters: { value: { type: 'text', value: 'hi' } } }],
    });
    expect(job.status).toBe(200);
    const jobId = (job.body!.responses as { id: string }[])[0]!.id;
    expect((await jobsOnB.waitMessages('jobs', 1))[0].job).toMatchObject({ id: jobId, status: { state: 'IN_QUEUE' } });

    // A token revoked through A stops working on B at once, although B had it in its token cache.
    const added = await request(a.base, 'POST', '/api/admin/users', a.credentials.admin, { username: 'revokee' });
    const revokee = added.body!.token as string;
    expect((await request(b.base, 'GET', '/api/tasks', revokee)).status).toBe(200);
    expect((await request(a.base, 'POST', '/api/admin/tokens/revoke', a.credentials.admin, { username: 'revokee' })).status).toBe(200);
    // The NOTIFY is on its way before the revoke answers; allow B a moment to read it, and no more.
    const deadline = Date.now() + 2000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) status = (await request(b.base, 'GET', '/api/tasks', revokee)).status;
    expect(status).toBe(401);
  }, 120_000);
});
