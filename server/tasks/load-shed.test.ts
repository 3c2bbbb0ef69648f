import crypto from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { build, openTestDb, type TestApp } from '../test/app';
import type { Config } from '../config';
import { shedMarkedRoutes } from '../http/load-shed';
import { HttpError } from '../http/errors';

// Load shedding on the write paths: past a queue depth or an event-loop lag, postStatus answers 503 with
// Retry-After and a `why`, writes nothing of the refused update, and accepts again once the load is gone.

let t: TestApp | undefined;
// Nothing in this file depends on how fast the machine is, only its time limits, which are generous: a server
// built on PGlite takes a few seconds on an idle machine and over a minute on one shared by several test runs. The
// first PGlite of a worker (its migrations) is paid here, not inside the first test.
const SLOW = { timeout: 300_000 };
beforeAll(async () => {
  await (await openTestDb()).cleanup();
}, SLOW.timeout);

async function setUp(config: Partial<Config>) {
  t = await build(config);
  // A name of its own: on the PostgreSQL leg every test schema shares one database, so one NOTIFY channel, and a
  // listener for a shared name in another test file would hear this file's updates.
  const owner = `shed-${crypto.randomBytes(4).toString('hex')}`;
  const user = await t.call('POST', '/api/admin/users', t.tokens.admin, { username: owner });
  expect(user.statusCode).toBe(200);
  const task = await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: 'Busy task', owner, initialStatus: null });
  expect(task.statusCode).toBe(200);
  return { app: t, owner: user.json().token as string, id: task.json().jobId as string };
}

const post = (t: TestApp, id: string, message: string) =>
  t.call('POST', '/api/tasks/postStatus', t.tokens.ucloud, { update: { jobId: id, messageToAppend: message } });

async function messagesOf(t: TestApp, owner: string, id: string): Promise<{ seq: number; messages: string[] }> {
  const response = await t.call('GET', `/api/tasks/retrieve?id=${id}`, owner);
  expect(response.statusCode).toBe(200);
  return response.json();
}

describe('load shedding on postStatus', SLOW, () => {
  it('sheds nothing below the queue limit', async () => {
    const { app, owner, id } = await setUp({ shedTaskQueue: 100 });
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => post(app, id, `m${i}`)));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(60).fill(200));
    expect((await messagesOf(app, owner, id)).seq).toBe(60);
  });

  it('past the queue limit answers 503 with Retry-After and why, writes none of the refused updates, and recovers', async () => {
    const { app, owner, id } = await setUp({ shedTaskQueue: 5, shedRetryAfterS: 2 });
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => post(app, id, `m${i}`)));
    const shed = responses.filter((r) => r.statusCode === 503);
    const accepted = responses.flatMap((r, i) => (r.statusCode === 200 ? [`m${i}`] : []));
    expect(shed.length).toBeGreaterThan(0);
    expect(accepted.length + shed.length).toBe(60);
    for (const r of shed) {
      expect(r.headers['retry-after']).toBe('2');
      expect(r.json()).toEqual({ why: expect.stringMatching(/^The server is overloaded \(\d+ task updates are waiting to be written, the limit is 5\); nothing was written/), errorCode: 'OVERLOADED' });
    }
    // Exactly the acknowledged updates are there, each once; nothing of a refused one.
    const after = await messagesOf(app, owner, id);
    expect(after.seq).toBe(accepted.length);
    expect([...after.messages].sort()).toEqual([...accepted].sort());

    // The queue has drained: one at a time, every update is accepted again.
    for (let i = 0; i < 10; i++) expect((await post(app, id, `later${i}`)).statusCode).toBe(200);
    expect((await messagesOf(app, owner, id)).seq).toBe(accepted.length + 10);
  });

});

type PressureHandler = ReturnType<typeof shedMarkedRoutes>;
const requestTo = (shed: boolean) => ({ routeOptions: { config: { shed } } }) as unknown as Parameters<PressureHandler>[0];

describe('what a request gets while the event loop runs late', () => {
  const handler = shedMarkedRoutes({ maxLagMs: 300, retryAfterS: 1 });

  it('a route marked to shed gets the 503 OVERLOADED, saying how late the loop is', async () => {
    const error = await (handler(requestTo(true), null, 'eventLoopDelay', 301.4) as Promise<void>).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ statusCode: 503, errorCode: 'OVERLOADED', retryAfterS: 1 });
    expect((error as HttpError).why).toBe('The server is overloaded (its event loop is 302 ms behind, the limit is 300 ms); nothing was written, try again in 1 s');
  });

  it('a lag just over the limit never reads as the limit itself', async () => {
    const error = await (handler(requestTo(true), null, 'eventLoopDelay', 300.2) as Promise<void>).catch((e: unknown) => e);
    expect((error as HttpError).why).toMatch(/its event loop is 301 ms behind, the limit is 300 ms/);
  });

  it('any other route passes', () => {
    expect(handler(requestTo(false), null, 'eventLoopDelay', 5_000)).toBeUndefined();
  });
});

/**
 * Real overload, no mock: one `blockMs` block of synchronous work per turn of this process's event loop, until
 * stopped. Every turn then runs at least `blockMs` late, which is what under-pressure measures; a busier machine
 * only makes it later. Requests still make progress between the blocks.
 */
function keepEventLoopBusy(blockMs: number): { stop: () => Promise<void> } {
  let running = true;
  let finished: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (finished = resolve));
  const turn = () => {
    if (!running) return finished();
    const until = performance.now() + blockMs;
    while (performance.now() < until) {
      // busy, as a long synchronous piece of work would be
    }
    setImmediate(turn);
  };
  setImmediate(turn);
  return {
    stop: () => {
      running = false;
      return stopped;
    },
  };
}

// Waits for a state of the lag sampler, never for a length of time: how soon it gets there depends on the machine.
const WAIT = { timeout: 120_000, interval: 20 };
const lagOf = (t: TestApp) => t.app.memoryUsage().eventLoopDelay;

describe('load shedding on event-loop lag, end to end', SLOW, () => {
  it('while the loop runs late, write paths answer 503 with Retry-After before reading the body; reads still answer', async () => {
    t = await build({ shedLagMs: 200, shedRetryAfterS: 1 });
    const app = t;
    const owner = `shed-${crypto.randomBytes(4).toString('hex')}`;
    const user = await app.call('POST', '/api/admin/users', app.tokens.admin, { username: owner });
    const task = await app.call('PUT', '/api/tasks', app.tokens.ucloud, { title: 'Busy task', owner, initialStatus: null });
    expect(task.statusCode).toBe(200);
    const [token, id] = [user.json().token as string, task.json().jobId as string];
    await vi.waitFor(() => expect(app.app.isUnderPressure()).toBe(false), WAIT);
    expect((await post(app, id, 'before')).statusCode).toBe(200);

    const busy = keepEventLoopBusy(400);
    try {
      await vi.waitFor(() => expect(app.app.isUnderPressure()).toBe(true), WAIT);
      const shed = await post(app, id, 'during');
      expect(shed.statusCode).toBe(503);
      expect(shed.headers['retry-after']).toBe('1');
      expect(shed.json()).toEqual({
        why: expect.stringMatching(/^The server is overloaded \(its event loop is \d+ ms behind, the limit is 200 ms\); nothing was written, try again in 1 s$/),
        errorCode: 'OVERLOADED',
      });
      // Before the body is read: a malformed one gets the 503, not a 400.
      expect((await app.call('POST', '/api/tasks/postStatus', app.tokens.ucloud, '{not json')).statusCode).toBe(503);
      // The other write paths shed too; reads answer, /api/health among them, showing the lag.
      expect((await app.call('PUT', '/api/tasks', app.tokens.ucloud, { title: 'Another', owner, initialStatus: null })).statusCode).toBe(503);
      expect((await app.call('POST', '/api/tasks/markAsComplete', app.tokens.ucloud, { id })).statusCode).toBe(503);
      expect((await app.call('POST', '/api/jobs', token, { type: 'bulk', items: [] })).statusCode).toBe(503);
      expect((await app.call('GET', `/api/tasks/retrieve?id=${id}`, token)).statusCode).toBe(200);
      const health = await app.call('GET', '/api/health', null);
      expect(health.statusCode).toBe(200);
      expect(health.json().load.eventLoopLagMs).toBeGreaterThan(200);
    } finally {
      await busy.stop();
    }

    await vi.waitFor(() => expect(app.app.isUnderPressure()).toBe(false), WAIT);
    expect((await post(app, id, 'after')).statusCode).toBe(200);
    expect((await messagesOf(app, token, id)).messages).toEqual(['before', 'after']);
  });

  it('a lag limit of 0 never sheds, and the lag is still measured', async () => {
    const { app, id } = await setUp({ shedLagMs: 0 });
    const busy = keepEventLoopBusy(400);
    try {
      await vi.waitFor(() => expect(lagOf(app)).toBeGreaterThan(200), WAIT);
      expect((await post(app, id, 'during')).statusCode).toBe(200);
    } finally {
      await busy.stop();
    }
  });
});
