import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freshDatabase, POSTGRES_TEST_URL, request, skipWithoutPostgres, startServer, type ServerProcess } from '../live/server-process';

/*
 * Two real server processes on one PostgreSQL database, both with the built-in provider `example`: only
 * the leader runs the background loops, so every core → provider call is received exactly once and verify runs in
 * one process. Then the leader is SIGKILLed; the other process takes over, delivers what was queued, and jobs
 * still start. Deliveries are counted from the provider's log line per call received ("create received").
 */

const BASE_URL = POSTGRES_TEST_URL;

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

const ENV = {
  JOBDECK_EXAMPLE_PROVIDER: 'on',
  JOBDECK_EXAMPLE_BACKEND: 'simulator',
  JOBDECK_EXAMPLE_IMAGE_PULL: 'off',
  JOBDECK_EXAMPLE_QUEUE_MS: '300',
  // Jobs stay RUNNING until terminated.
  JOBDECK_EXAMPLE_BATCH_MS: '3600000',
  JOBDECK_VERIFY_INTERVAL_MS: '1000',
  JOBDECK_LEADER_RETRY_MS: '500',
  LOG_LEVEL: 'info',
};

const JOB = {
  application: { name: 'acme-batch', version: '1.0.0' },
  product: { id: 'example-compute', category: 'example-compute', provider: 'example' },
  replicas: 1,
  allowDuplicateJob: true,
  parameters: { value: { type: 'text', value: 'replica test' } },
};

interface LogLine {
  msg?: string;
  received?: string;
  jobIds?: string[];
}

function logLines(server: ServerProcess): LogLine[] {
  return server
    .output()
    .split('\n')
    .flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
}

/** How many times the provider received `op` for each job id, over every process's log. */
function received(servers: ServerProcess[], op: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const server of servers) {
    for (const line of logLines(server)) {
      if (line.received !== op) continue;
      for (const id of line.jobIds ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Warnings and errors of both processes, for a failure's message: a retried call says why it was retried. */
const trouble = (servers: ServerProcess[]) =>
  servers.flatMap((server, i) => logLines(server).filter((l) => ((l as { level?: number }).level ?? 0) >= 40).map((l) => `${'ab'[i]}: ${JSON.stringify(l)}`)).join('\n');

const sweeps = (server: ServerProcess) => logLines(server).filter((l) => l.msg === 'verify sweep done').length;

async function health(server: ServerProcess): Promise<{ leader?: boolean }> {
  const response = await fetch(`${server.base}/api/health`);
  return (await response.json()) as { leader?: boolean };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function createJobs(server: ServerProcess, count: number): Promise<string[]> {
  const responses = await Promise.all(
    Array.from({ length: count }, () => request(server.base, 'POST', '/api/jobs', server.credentials.user, { items: [JOB] })),
  );
  return responses.map((r) => {
    expect(r.status).toBe(200);
    return (r.body!.responses as { id: string }[])[0]!.id;
  });
}

async function statesOf(server: ServerProcess, ids: string[]): Promise<string[]> {
  return Promise.all(
    ids.map(async (id) => {
      const r = await request(server.base, 'GET', `/api/jobs/retrieve?id=${id}`, server.credentials.user);
      return (r.body!.status as { state: string }).state;
    }),
  );
}

const allIn = (server: ServerProcess, ids: string[], state: string) => async () =>
  (await statesOf(server, ids)).every((s) => s === state);

describe('several server processes on one PostgreSQL elect one leader', () => {
  it('send each provider call once, verify in one process, and hand over to the other after a SIGKILL', async (ctx) => {
    await skipWithoutPostgres(ctx, BASE_URL, 'the leader election test');
    const db = await freshDatabase(BASE_URL, 'jobdeck_leader');
    cleanups.push(db.drop);
    // One after the other: the first one migrates the fresh database and becomes the leader.
    const a = await startServer({ ...ENV, DATABASE_URL: db.url });
    cleanups.push(a.kill);
    await until('A to lead', 10_000, async () => (await health(a)).leader);
    const b = await startServer({ ...ENV, DATABASE_URL: db.url });
    cleanups.push(b.kill);
    expect(await health(b)).toMatchObject({ status: 'ok', database: 'postgres', leader: false });

    // 40 jobs, half through each process; the follower only queues its calls, the leader sends them.
    const ids = [...(await createJobs(a, 20)), ...(await createJobs(b, 20))];
    await until('40 jobs RUNNING', 60_000, allIn(a, ids, 'RUNNING'));
    // Terminate ten, five through each process.
    const terminated = [...ids.slice(0, 5), ...ids.slice(20, 25)];
    for (const [server, some] of [[a, ids.slice(0, 5)], [b, ids.slice(20, 25)]] as const) {
      const r = await request(server.base, 'POST', '/api/jobs/terminate', server.credentials.user, { items: some.map((id) => ({ id })) });
      expect(r.status).toBe(200);
    }
    await until('10 jobs terminated', 30_000, allIn(b, terminated, 'SUCCESS'));
    // Let a few verify sweeps run (every second), so a second sweeper would show.
    await until('three verify sweeps', 20_000, async () => sweeps(a) >= 3);

    const creates = received([a, b], 'create');
    const terminates = received([a, b], 'terminate');
    expect([...creates.keys()].sort()).toEqual([...ids].sort());
    expect([...creates.values()].every((n) => n === 1), trouble([a, b])).toBe(true);
    expect([...terminates.keys()].sort()).toEqual([...terminated].sort());
    expect([...terminates.values()].every((n) => n === 1), trouble([a, b])).toBe(true);
    expect(sweeps(b)).toBe(0);
    expect(await health(b)).toMatchObject({ leader: false });

    // SIGKILL the leader, and queue calls through the follower at once: nobody sends them until it takes over.
    const killedAt = Date.now();
    await a.kill();
    const late = await createJobs(b, 10);
    await until('B to lead', 20_000, async () => (await health(b)).leader);
    const takeoverMs = Date.now() - killedAt;
    await until('the 10 late jobs RUNNING', 30_000, allIn(b, late, 'RUNNING'));
    const runningMs = Date.now() - killedAt;
    await until('a verify sweep on B', 10_000, async () => sweeps(b) >= 1);
    console.log(`leader takeover after SIGKILL: ${takeoverMs} ms to lead, ${runningMs} ms until the 10 queued jobs were RUNNING (JOBDECK_LEADER_RETRY_MS=500)`);
    expect(takeoverMs).toBeLessThan(10_000);

    const after = received([a, b], 'create');
    for (const id of late) expect(after.get(id), trouble([a, b])).toBe(1);
    // Nothing is left queued, and the jobs of before the kill are as they were.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect((await client.query('SELECT count(*)::int AS n FROM provider_calls')).rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
    expect(await statesOf(b, ids.slice(5, 20))).toEqual(Array(15).fill('RUNNING'));
  }, 180_000);
});
