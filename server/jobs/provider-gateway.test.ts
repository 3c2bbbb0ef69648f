import { afterEach, describe, expect, test, vi } from 'vitest';
import { build, type TestApp } from '../test/app';
import { createJob, getJob, statuses, webApp } from '../test/jobs';
import { FAST, POLL, StubProvider, freePort, waitForState, waitForStatus } from '../test/provider';
import type { Job } from '../../contract/jobs';
import { backoffDelay } from '../provider/kit/backoff';
import { prefixWithin } from '../provider/kit/bulk';

// Core → provider calls when the provider fails or cannot be reached (contract §5): the user's request still
// succeeds, the job says what went wrong, and the call is retried with backoff until it goes through.

let t: TestApp | undefined;
let stub: StubProvider | null = null;
afterEach(async () => {
  await stub?.close();
  stub = null;
});

describe('a provider that cannot be reached', () => {
  test('create still succeeds, the job carries a status line, and the call is retried until the provider is back', async () => {
    const port = await freePort();
    t = await build({ ...FAST, providerUrls: { example: `http://127.0.0.1:${port}` }, verifyIntervalMs: 50 });

    const created = await t.call('POST', '/api/jobs', t.tokens.user, { items: [webApp()] });
    expect(created.statusCode).toBe(200);
    const id = (created.json() as { responses: { id: string }[] }).responses[0]!.id;

    const waiting = await waitForStatus(t, id, /^Provider 'example' could not be reached \(ECONNREFUSED/);
    expect(waiting.status.state).toBe('IN_QUEUE');
    expect(statuses(waiting).at(-1)).toMatch(/when asked to start the job\. Jobdeck keeps retrying automatically\.$/);

    // The provider comes up on the configured address; the retry delivers the create and the job runs.
    stub = new StubProvider();
    stub.mode = 'up';
    stub.target = t.app;
    await stub.listen(port);
    const running = await waitForState(t, id, 'RUNNING');
    const answered = statuses(running).find((s) => s.startsWith("Provider 'example' answered after"));
    expect(answered).toMatch(/^Provider 'example' answered after \d+ attempts; the request to start the job went through\.$/);
    expect(Number(/after (\d+) attempts/.exec(answered!)![1])).toBeGreaterThanOrEqual(2);
    // One line for the outage, not one per retry.
    expect(statuses(running).filter((s) => s.includes('could not be reached'))).toHaveLength(1);
  });
});

describe('a provider that fails', () => {
  test('retries with backoff while it answers 503; verify never reports the job as unknown meanwhile; terminate is retried too', async () => {
    stub = new StubProvider();
    t = await stub.front({ ...FAST, verifyIntervalMs: 30 });

    // One job the provider has, so verify sweeps have something to send while the other one waits.
    stub.mode = 'up';
    const known = await createJob(t, webApp());
    await waitForState(t, known, 'RUNNING');

    stub.mode = 'down';
    const id = await createJob(t, webApp());
    await waitForStatus(t, id, /^Provider 'example' failed \(503: The provider is down for maintenance\) when asked to start the job/);
    await expect.poll(() => stub!.callsTo('/ucloud/example/jobs').length, POLL).toBeGreaterThanOrEqual(4);
    await expect.poll(() => stub!.callsTo('/jobs/verify').length, POLL).toBeGreaterThanOrEqual(3);

    // The waiting job was never sent to verify (the provider has not answered for it), so it is not failed.
    const verified = stub.callsTo('/jobs/verify').flatMap((c) => (c.body as { items: Job[] }).items.map((j) => j.id));
    expect(verified).toContain(known);
    expect(verified).not.toContain(id);
    expect((await getJob(t, id)).status.state).toBe('IN_QUEUE');

    // Terminating the known job while the provider is down: accepted, reported, retried.
    const terminate = await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id: known }] });
    expect(terminate.statusCode).toBe(200);
    await waitForStatus(t, known, /^Provider 'example' failed \(503: .*\) when asked to stop the job/);

    stub.mode = 'up';
    await waitForState(t, id, 'RUNNING');
    const ended = await waitForStatus(t, known, /^Provider 'example' (answered after \d+ attempts|is answering again); the request to stop the job went through\.$/);
    expect(ended.status.state).toBe('SUCCESS');
    expect(statuses(ended)).toContain('Terminated by user');
  });

  /** An app whose provider is down, with these retry delays; returns when each call reached the provider. */
  async function downProvider(retryMs: number, retryMaxMs: number): Promise<{ app: TestApp; times: number[] }> {
    stub = new StubProvider();
    const app = await stub.front({ ...FAST, providerRetryMs: retryMs, providerRetryMaxMs: retryMaxMs });
    t = app;
    stub.mode = 'down';
    const times: number[] = [];
    const original = stub.calls.push.bind(stub.calls);
    stub.calls.push = (...items) => {
      times.push(Date.now());
      return original(...items);
    };
    return { app, times };
  }

  test('retries wait longer and longer', async () => {
    const { app, times } = await downProvider(20, 160);
    await createJob(app, webApp());
    await expect.poll(() => times.length, POLL).toBeGreaterThanOrEqual(7);
    const gaps = times.slice(1).map((time, i) => time - times[i]!);
    // Scheduled 20, 40, 80, 160, 160… ms, each at least 80 % of that. A loaded machine can only make gaps
    // longer, so only the lower bounds are checked here; the cap is checked on backoffDelay itself.
    const floor = (i: number) => Math.min(20 * 2 ** i, 160) * 0.8 - 10;
    gaps.slice(0, 6).forEach((gap, i) => expect(gap, `gap ${i}`).toBeGreaterThanOrEqual(floor(i)));
  });

  test("another process's NOTIFY of queued calls, arriving during a failing delivery or a backoff, does not cut the backoff short", async () => {
    const { app, times } = await downProvider(100, 100);
    const gateway = app.parts.gateway!;
    await createJob(app, webApp());
    // The user's call is tried at once (by whichever delivery runs first); from its first failure on, it backs off.
    await expect.poll(() => times.length, POLL).toBeGreaterThanOrEqual(1);
    // What a PostgreSQL leg sees when other apps share the database's NOTIFY channel: a stream of "calls queued".
    const noise = setInterval(() => gateway.notified(JSON.stringify({ from: 'another-process', provider: 'example' })), 3);
    try {
      await expect.poll(() => times.length, POLL).toBeGreaterThanOrEqual(6);
    } finally {
      clearInterval(noise);
    }
    const gaps = times.slice(1, 6).map((time, i) => time - times[i]!);
    // Every retry waits its backoff (100 ms ± 20 %), however many notifications came meanwhile.
    for (const [i, gap] of gaps.entries()) expect(gap, `gap ${i}`).toBeGreaterThanOrEqual(70);
  });

  test('backoffDelay doubles from the base, is capped, and is jittered by ±20 %', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, 1000, 60_000, mid))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000]);
    expect(backoffDelay(3, 1000, 60_000, () => 0)).toBeCloseTo(3200);
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBeCloseTo(4800);
    expect(backoffDelay(50, 1000, 60_000, () => 1)).toBeCloseTo(72_000);
  });

  test('a provider that refuses a job (4xx) is not asked again; verify then lets the provider decide, so no job is stuck', async () => {
    stub = new StubProvider();
    t = await stub.front({ ...FAST, verifyIntervalMs: 30 });
    stub.mode = 'refuse-create';
    const id = await createJob(t, webApp());
    await waitForStatus(t, id, /^Provider 'example' refused to start the job \(400: items\[0\]\.specification: this provider cannot run the job\)\.$/);
    // The provider never accepted the job, so verify shows it to the provider, which fails it.
    const failed = await waitForState(t, id, 'FAILURE');
    expect(statuses(failed).at(-1)).toBe('Your job is no longer available');
    expect(stub.callsTo('/ucloud/example/jobs')).toHaveLength(1);
  });
});

describe('request size', () => {
  test('bulk bodies are split below the 1 MiB request limit', () => {
    const big = 'x'.repeat(300 * 1024);
    expect(prefixWithin([big, big, big, big])).toBe(2);
    expect(prefixWithin(['{}', '{}'])).toBe(2);
    // A single item is always sent, so it gets a clear answer rather than waiting forever.
    expect(prefixWithin(['x'.repeat(2 * 1024 * 1024)])).toBe(1);
  });
});

describe('claims on queued calls (several processes share the queue)', () => {
  test('a call claimed by another live process is not sent; once that process is gone it is sent, once', async () => {
    stub = new StubProvider();
    stub.mode = 'up';
    t = await stub.front({ ...FAST, verifyIntervalMs: 0 });
    const gateway = t.parts.gateway!;

    // Queue a create while delivery is stopped, and claim it as another process would, under a session of its own.
    await gateway.stop();
    const id = await createJob(t, webApp());
    await expect.poll(async () => (await t!.db.query('SELECT 1 FROM provider_calls')).length, POLL).toBe(1);
    const other = t.db.openSession ? await t.db.openSession() : null;
    const session = other ? (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid : null;
    await t.db.query(`UPDATE provider_calls SET claimed_by = 'another-process', claimed_session = $1, claimed_until = $2`, [session, Date.now() + 60_000]);
    await gateway.start();

    if (other) {
      // PostgreSQL: while the other process's session lives, its claim holds, however often the queue is looked at.
      // Each look is seen happen (the claim of the queue's head ran, and claimed nothing), so "nothing was sent"
      // below is a statement about those looks, not about how long a sleep lasted.
      const looks: number[] = [];
      const query = t.db.query.bind(t.db);
      vi.spyOn(t.db, 'query').mockImplementation(async (sql: string, params?: unknown[]) => {
        const rows = await query(sql, params);
        if (/FROM provider_calls WHERE provider = \$1 ORDER BY id LIMIT 1000 FOR UPDATE/.test(sql)) looks.push(rows.length);
        return rows as never;
      });
      for (let i = 0; i < 3; i++) {
        const before = looks.length;
        gateway.deliverQueued('example');
        await gateway.settled();
        expect(looks.length).toBeGreaterThan(before);
      }
      expect(looks.every((claimed) => claimed === 0)).toBe(true);
      vi.restoreAllMocks();
      expect(stub.callsTo('/ucloud/example/jobs')).toHaveLength(0);
      expect((await getJob(t, id)).status.state).toBe('IN_QUEUE');
      // It dies: its claim goes with its session, long before the lease would have run out.
      await other.end();
      await expect.poll(async () => (await t!.db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [session])).length, POLL).toBe(0);
      gateway.deliverQueued('example');
    }
    // (PGlite: one process, so a claim it did not make is cleared when delivery starts.)
    await waitForState(t, id, 'RUNNING');
    expect(stub.callsTo('/ucloud/example/jobs')).toHaveLength(1);
    expect(await t.db.query('SELECT 1 FROM provider_calls')).toHaveLength(0);
  });
});
