import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, build, type TestApp } from '../test/app';
import type { Config } from '../config';
import { EventLoopLag, LoadShedder, type LagSource } from '../http/load-shed';
import { HttpError } from '../http/errors';

// Load shedding on the task write paths (issue 7): past a queue depth or an event-loop lag, postStatus answers
// 503 with Retry-After and a `why`, writes nothing of the refused update, and accepts again once the load is gone.

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

// The lag-based decision is tested with a lag of the test's choosing, never with the machine's: how late this
// process's event loop runs depends on what else the machine is doing, and a test must not.
class FakeLag implements LagSource {
  constructor(public value = 0) {}
  lagMs(): number {
    return this.value;
  }
  stop(): void {}
}

describe('the shedding decision on event-loop lag', () => {
  const limits = { maxLagMs: 300, retryAfterS: 1 };

  it('sheds only past the limit, counts what it shed, and says how late the loop is', () => {
    const lag = new FakeLag(0);
    const shedder = new LoadShedder(limits, lag);
    for (const value of [0, 299, 300]) {
      lag.value = value;
      expect(() => shedder.check()).not.toThrow();
    }
    lag.value = 301.4;
    let error: unknown;
    try {
      shedder.check();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ statusCode: 503, errorCode: 'OVERLOADED', retryAfterS: 1 });
    expect((error as HttpError).why).toBe('The server is overloaded (its event loop is 301 ms behind, the limit is 300 ms); nothing was written, try again in 1 s');
    expect(shedder.shed).toBe(1);
    lag.value = 10;
    expect(() => shedder.check()).not.toThrow();
    expect(shedder.shed).toBe(1);
  });

  it('a limit of 0 never sheds', () => {
    const shedder = new LoadShedder({ maxLagMs: 0, retryAfterS: 1 }, new FakeLag(1e9));
    expect(() => shedder.check()).not.toThrow();
    expect(shedder.shed).toBe(0);
  });

  it('the sampler reports the worst of its last 10 samples, and a block still under way (on a clock of its own)', () => {
    let now = 1_000;
    const lag = new EventLoopLag(() => now);
    expect(lag.lagMs()).toBe(0); // not started
    lag.start({ timer: false });
    const tick = (late = 0) => {
      now += 50 + late;
      lag.sample();
    };
    tick();
    expect(lag.lagMs()).toBe(0);
    tick(700); // one timer fired 700 ms late
    expect(lag.lagMs()).toBe(700);
    for (let i = 0; i < 9; i++) tick(5);
    expect(lag.lagMs()).toBe(700); // still in the window of 10
    tick(5);
    expect(lag.lagMs()).toBe(5); // gone from it
    now += 50 + 1_000; // a block under way: the timer has not fired yet
    expect(lag.lagMs()).toBe(1_000);
    lag.stop();
    expect(lag.lagMs()).toBe(0);
  });
});

describe('load shedding on event-loop lag, end to end', SLOW, () => {
  it('while the loop runs late, write paths answer 503 with Retry-After before reading the body; reads still answer', async () => {
    const lag = new FakeLag(0);
    t = await build({ shedLagMs: 300, shedRetryAfterS: 1 }, { lagSource: lag });
    const owner = `shed-${crypto.randomBytes(4).toString('hex')}`;
    const user = await t.call('POST', '/api/admin/users', t.tokens.admin, { username: owner });
    const task = await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: 'Busy task', owner, initialStatus: null });
    expect(task.statusCode).toBe(200);
    const [token, id] = [user.json().token as string, task.json().jobId as string];
    expect((await post(t, id, 'before')).statusCode).toBe(200);

    lag.value = 2_000;
    const shed = await post(t, id, 'during');
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['retry-after']).toBe('1');
    expect(shed.json()).toEqual({
      why: 'The server is overloaded (its event loop is 2000 ms behind, the limit is 300 ms); nothing was written, try again in 1 s',
      errorCode: 'OVERLOADED',
    });
    // Before the body is read: a malformed one gets the 503, not a 400.
    expect((await t.call('POST', '/api/tasks/postStatus', t.tokens.ucloud, '{not json')).statusCode).toBe(503);
    // The other write paths shed too; reads answer.
    expect((await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: 'Another', owner, initialStatus: null })).statusCode).toBe(503);
    expect((await t.call('POST', '/api/tasks/markAsComplete', t.tokens.ucloud, { id })).statusCode).toBe(503);
    expect((await t.call('POST', '/api/jobs', token, { type: 'bulk', items: [] })).statusCode).toBe(503);
    expect((await t.call('GET', `/api/tasks/retrieve?id=${id}`, token)).statusCode).toBe(200);
    expect(t.app.services.shedder.shed).toBe(5);

    lag.value = 0;
    expect((await post(t, id, 'after')).statusCode).toBe(200);
    expect((await messagesOf(t, token, id)).messages).toEqual(['before', 'after']);
  });

  it("the server's own sampler sees a real block of its event loop, and its shedder refuses a write right after it", async () => {
    // No timing race: nothing can run between the end of the block and the synchronous checks, and a busier
    // machine only makes the lag larger.
    t = await build({ shedLagMs: 300, shedRetryAfterS: 1 });
    const shedder = t.app.services.shedder;
    const until = performance.now() + 1_000;
    while (performance.now() < until) {
      // busy, as a long synchronous piece of work would be
    }
    expect(shedder.lag.lagMs()).toBeGreaterThanOrEqual(950);
    expect(() => shedder.check()).toThrow(/^The server is overloaded \(its event loop is \d+ ms behind, the limit is 300 ms\)/);
  });
});
