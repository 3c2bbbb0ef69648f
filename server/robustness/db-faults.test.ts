import { afterAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { TestSocket } from '../test/socket';
import { freshDatabase, POSTGRES_TEST_URL, skipWithoutPostgres, startServer, type ServerProcess } from '../live/server-process';

/*
 * The database connection drops and comes back (durability). Two real server processes
 * (`server/main.ts`) share a fresh PostgreSQL database; every backend of that database is killed with
 * pg_terminate_backend — the pool's connections and the LISTEN connection of both processes, idle or mid-query —
 * while clients keep posting task updates and creating jobs.
 *
 * What the user sees:
 *   - a request that was in flight when its connection died answers 503 "The database is unavailable right now; try
 *     again in a few seconds" (or succeeds, on a connection the pool had already replaced); none hangs, none is a 500;
 *   - the processes stay up, and REST works again on both at once (the test allows 10 s);
 *   - an open tasks.listen / jobs.listen socket stays open, and a client that reconnects gets live events again,
 *     also events written through the OTHER process (LISTEN/NOTIFY is re-established);
 *   - every write that was acknowledged (200) is in the database afterwards; events written while a process's
 *     LISTEN connection was down are not replayed to its sockets (clients recover them by refetching over REST).
 */

const BASE_URL = POSTGRES_TEST_URL;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** No request may hang: each one gets this long before the test counts it as a hang. */
const REQUEST_LIMIT_MS = 10_000;

interface Answer {
  status: number;
  body: Record<string, unknown> | null;
}

async function call(base: string, method: string, url: string, token: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(REQUEST_LIMIT_MS),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

const jobBody = (label: string) => ({
  items: [
    {
      application: { name: 'acme-batch', version: '1.0.0' },
      product: { id: 'example-compute', category: 'example-compute', provider: 'example' },
      replicas: 1,
      allowDuplicateJob: true,
      name: label,
      parameters: { value: { type: 'text', value: label } },
    },
  ],
});

const wsUrl = (server: ServerProcess, path: string) => `${server.base.replace('http', 'ws')}${path}`;

async function terminateBackends(dbName: string): Promise<number> {
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  try {
    const rows = await admin.query('SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
    return rows.rows.filter((r) => r.killed).length;
  } finally {
    await admin.end();
  }
}

describe('the PostgreSQL connection drops and comes back', () => {
  it('requests answer (never hang), REST and live events recover, no acknowledged write is lost', async (ctx) => {
    await skipWithoutPostgres(ctx, BASE_URL, 'the database-fault test');
    const db = await freshDatabase(BASE_URL, 'jobdeck_fault');
    cleanups.push(db.drop);
    const dbName = new URL(db.url).pathname.slice(1);
    // One after the other: the first one migrates the fresh database.
    const a = await startServer({ DATABASE_URL: db.url });
    cleanups.push(a.stop);
    const b = await startServer({ DATABASE_URL: db.url });
    cleanups.push(b.stop);
    const { ucloud, user } = a.credentials;

    // One task per writer: a task shows its latest 1000 messages, and each writer stays under that.
    const newTask = async (title: string) => {
      const created = await call(a.base, 'PUT', '/api/tasks', ucloud, { title, owner: 'user', initialStatus: null });
      expect(created.status).toBe(200);
      return created.body!.jobId as string;
    };
    const taskId = await newTask('Database drops');

    // A socket opened before the fault, on A (the process the writes go to).
    const before = await TestSocket.connect(wsUrl(a, '/api/tasks'));
    cleanups.push(() => before.close());
    before.call('tasks.listen', 't', {}, user);
    await before.sync(user);
    expect((await call(a.base, 'POST', '/api/tasks/postStatus', ucloud, { update: { jobId: taskId, messageToAppend: 'before' } })).status).toBe(200);
    await before.waitMessages('t', 1);

    // Writers keep posting through the fault: task updates to A and B, job creations to A.
    const acked = new Map<string, string[]>();
    const ackedJobs: string[] = [];
    const failures: Answer[] = [];
    const hangs: string[] = [];
    let ackedCount = 0;
    let stop = false;
    const record = (answer: Answer, onOk: () => void) => {
      if (answer.status === 200) {
        ackedCount += 1;
        onOk();
      } else failures.push(answer);
    };
    const pace = () => new Promise((resolve) => setTimeout(resolve, 5));
    const poster = async (server: ServerProcess, w: string) => {
      const id = await newTask(`writer ${w}`);
      const mine: string[] = [];
      acked.set(id, mine);
      for (let n = 0; !stop && n < 900; n++) {
        const message = `${w}-${n}`;
        try {
          record(await call(server.base, 'POST', '/api/tasks/postStatus', ucloud, { update: { jobId: id, messageToAppend: message } }), () => mine.push(message));
        } catch (error) {
          hangs.push(`${message}: ${(error as Error).message}`);
        }
        await pace();
      }
    };
    const jobMaker = async () => {
      for (let n = 0; !stop; n++) {
        try {
          const answer = await call(a.base, 'POST', '/api/jobs', user, jobBody(`fault-${n}`));
          record(answer, () => ackedJobs.push((answer.body!.responses as { id: string }[])[0]!.id));
        } catch (error) {
          hangs.push(`job ${n}: ${(error as Error).message}`);
        }
        await pace();
      }
    };
    const workers = [
      ...Array.from({ length: 4 }, (_, i) => poster(a, `a${i}`)),
      ...Array.from({ length: 2 }, (_, i) => poster(b, `b${i}`)),
      jobMaker(),
    ];
    await vi.waitFor(() => expect(ackedCount).toBeGreaterThan(50), { timeout: 20_000, interval: 20 });

    // The fault: every backend of this database, twice (the second catches connections opened in between).
    const killed = await terminateBackends(dbName);
    await vi.waitFor(() => expect(failures.length + ackedCount).toBeGreaterThan(60), { timeout: 10_000, interval: 10 });
    const killedAgain = await terminateBackends(dbName);
    console.log(`db-faults: terminated ${killed} + ${killedAgain} PostgreSQL backends of ${dbName}`);
    expect(killed).toBeGreaterThanOrEqual(2); // at least each process's LISTEN connection

    // Both processes are still up, and REST answers 200 again within a few seconds.
    for (const server of [a, b]) {
      await vi.waitFor(
        async () => {
          expect(server.child.exitCode, `server exited:\n${server.output()}`).toBeNull();
          expect((await call(server.base, 'GET', '/api/tasks?itemsPerPage=10&page=0', user)).status).toBe(200);
        },
        // Typically at once; the bound leaves room for a machine shared with other test runs.
        { timeout: 10_000, interval: 100 },
      );
    }
    const ackedAtRecovery = ackedCount;
    await vi.waitFor(() => expect(ackedCount).toBeGreaterThan(ackedAtRecovery + 20), { timeout: 15_000, interval: 20 });
    stop = true;
    await Promise.all(workers);

    // Nothing hung; every failure was a 503 saying the database is unavailable (an outage, not a bug: no 500).
    expect(hangs).toEqual([]);
    for (const failure of failures) {
      expect(failure.status).toBe(503);
      expect(failure.body).toEqual({ why: expect.stringMatching(/database is unavailable/), errorCode: 'DATABASE_UNAVAILABLE' });
    }
    const statuses = [...new Set(failures.map((f) => `${f.status} ${String(f.body?.why)}`))];
    console.log(`db-faults: ${ackedCount - ackedJobs.length} task updates and ${ackedJobs.length} job creations acknowledged; ${failures.length} requests failed during the fault (${statuses.join('; ') || 'none'}); 0 hung`);

    // The socket opened before the fault is still open and still hears this process's writes.
    expect((await call(a.base, 'POST', '/api/tasks/postStatus', ucloud, { update: { jobId: taskId, messageToAppend: 'after-a' } })).status).toBe(200);
    await before.until(() => before.messages('t').some((m) => m.messageToAppend === 'after-a'), 'after-a on the socket opened before the fault');

    // A client reconnecting after the fault gets live events again, on both processes and across them
    // (B's LISTEN connection was killed too and must have been re-established).
    await vi.waitFor(
      async () => {
        const onB = await TestSocket.connect(wsUrl(b, '/api/tasks'));
        try {
          onB.call('tasks.listen', 't', {}, user);
          onB.call('jobs.listen', 'j', {}, user);
          await onB.sync(user);
          const marker = `cross-${Date.now()}`;
          expect((await call(a.base, 'POST', '/api/tasks/postStatus', ucloud, { update: { jobId: taskId, messageToAppend: marker } })).status).toBe(200);
          await onB.until(() => onB.messages('t').some((m) => m.messageToAppend === marker), `${marker} on B`, 1_000);
          const job = await call(a.base, 'POST', '/api/jobs', user, jobBody('after-fault'));
          expect(job.status).toBe(200);
          const jobId = (job.body!.responses as { id: string }[])[0]!.id;
          await onB.until(() => onB.messages('j').some((m) => m.job?.id === jobId), `job ${jobId} on B`, 1_000);
        } finally {
          await onB.close();
        }
      },
      { timeout: 10_000, interval: 250 },
    );
    const onA = await TestSocket.connect(wsUrl(a, '/api/jobs'));
    cleanups.push(() => onA.close());
    onA.call('tasks.listen', 't', {}, user);
    await onA.sync(user);
    expect((await call(b.base, 'POST', '/api/tasks/postStatus', ucloud, { update: { jobId: taskId, messageToAppend: 'from-b' } })).status).toBe(200);
    await onA.until(() => onA.messages('t').some((m) => m.messageToAppend === 'from-b'), 'from-b on A');
    // Once, not twice: a killed LISTEN connection is replaced by exactly one new one.
    const second = `from-b-2`;
    expect((await call(b.base, 'POST', '/api/tasks/postStatus', ucloud, { update: { jobId: taskId, messageToAppend: second } })).status).toBe(200);
    await onA.until(() => onA.messages('t').some((m) => m.messageToAppend === second), 'from-b-2 on A');
    await onA.sync(user);
    expect(onA.messages('t').filter((m) => m.messageToAppend === 'from-b' || m.messageToAppend === second)).toHaveLength(2);

    // No acknowledged write was lost: every acknowledged message is in its task's log, once, in order, and seq agrees.
    for (const [id, mine] of acked) {
      const view = await call(a.base, 'GET', `/api/tasks/retrieve?id=${id}`, user);
      expect(view.status).toBe(200);
      const messages = view.body!.messages as string[];
      expect(new Set(messages).size).toBe(messages.length);
      expect(view.body!.seq).toBe(messages.length);
      const logged = new Set(messages);
      expect(mine.filter((m) => !logged.has(m))).toEqual([]);
    }
    for (const id of ackedJobs) {
      const job = await call(b.base, 'GET', `/api/jobs/retrieve?id=${encodeURIComponent(id)}`, user);
      expect(job.status, `acknowledged job ${id}`).toBe(200);
    }
    expect(ackedJobs.length).toBeGreaterThan(0);
  }, 120_000);
});
