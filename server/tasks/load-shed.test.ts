import crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildTestApp, type TestApp } from '../test/helpers';
import type { Config } from '../config';

// Load shedding on the task write paths (issue 7): past a queue depth or an event-loop lag, postStatus answers
// 503 with Retry-After and a `why`, writes nothing of the refused update, and accepts again once the load is gone.

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function setUp(config: Partial<Config>) {
  t = await buildTestApp(config);
  // A name of its own: on the PostgreSQL leg every test schema shares one database, so one NOTIFY channel, and a
  // listener for 'alice' in another test file heard this file's updates (tasks-api saw 45 extra seqs 1..45).
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

describe('load shedding on postStatus', () => {
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

  it('while the event loop runs late, write paths answer 503 before reading the body; reads still answer', async () => {
    // The limit is well above what other test runs on a shared machine cause; the block is well above the limit.
    const limit = 300;
    const { app, owner, id } = await setUp({ shedLagMs: limit, shedRetryAfterS: 1 });
    const shedder = app.app.services.shedder;
    const calm = () => vi.waitFor(() => expect(shedder.lag.lagMs()).toBeLessThan(limit), { timeout: 15_000, interval: 20 });
    await calm();
    expect((await post(app, id, 'before')).statusCode).toBe(200);
    // Block the loop for a second, as a long synchronous piece of work would.
    const until = performance.now() + 1000;
    while (performance.now() < until) {
      // busy
    }
    const shed = await post(app, id, 'during');
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['retry-after']).toBe('1');
    expect(shed.json()).toMatchObject({ why: expect.stringMatching(/event loop is \d+ ms behind, the limit is 300 ms/), errorCode: 'OVERLOADED' });
    expect((await app.call('GET', `/api/tasks/retrieve?id=${id}`, owner)).statusCode).toBe(200);
    // Once the loop has caught up (a condition, not a fixed pause: the machine may be busy), writes go through again.
    await calm();
    expect((await post(app, id, 'after')).statusCode).toBe(200);
    expect((await messagesOf(app, owner, id)).messages).toEqual(['before', 'after']);
  });
});
