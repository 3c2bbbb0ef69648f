import { describe, expect, onTestFinished, test } from 'vitest';
import { build, type TestApp } from '../test/app';
import { createJob, getJob, statuses, webApp } from '../test/jobs';
import { FAST, POLL, StubProvider, waitForState, waitForStatus } from '../test/provider';
import type { Job } from '../../contract/jobs';
import { callIdsWithin } from './kit/call-ids';

// At-least-once delivery of core → provider calls, applied once: every delivery names its queued calls
// (Jobdeck-Call-Id, one id per item), the same on every retry, and the built-in provider applies each id once.

const HOUR = 3600 * 1000;
const oneHour = { hours: 1, minutes: 0, seconds: 0 };

let t: TestApp | undefined;
/** A running job with a time allocation of 1 h. */
async function runningJob(app: TestApp): Promise<Job> {
  const id = await createJob(app, webApp({ timeAllocation: oneHour }));
  return waitForState(app, id, 'RUNNING');
}

/** The core's calls to the provider, as the gateway makes them: the service token, a JSON body, and call ids. */
function providerCall(app: TestApp, path: string, items: unknown[], callId?: string) {
  return app.app.inject({
    method: 'POST',
    url: `/ucloud/example/jobs${path}`,
    headers: {
      authorization: `Bearer ${app.tokens.ucloud}`,
      'content-type': 'application/json',
      ...(callId !== undefined ? { 'jobdeck-call-id': callId } : {}),
    },
    payload: JSON.stringify({ items }),
  });
}

const extendBy1h = (app: TestApp, jobs: Job[], callId?: string) =>
  providerCall(app, '/extend', jobs.map((job) => ({ job, requestedTime: oneHour })), callId);

/** The job as its user sees it once the provider has told the core everything it applied. */
async function settledJob(app: TestApp, id: string): Promise<Job> {
  await app.parts.example!.settled();
  return getJob(app, id);
}

const allocationOf = (job: Job) => job.status.expiresAt! - job.status.startedAt!;
const extensions = (job: Job) => statuses(job).filter((s) => s.startsWith('Time allocation extended'));

describe('the built-in provider applies each call id once', () => {
  test('the same extend delivered twice with one call id extends once; with another id it extends again', async () => {
    t = await build(FAST);
    const job = await runningJob(t);

    for (let i = 0; i < 2; i++) {
      const response = await extendBy1h(t, [job], '41');
      expect(response.statusCode, response.body).toBe(200);
      // A repeat gets the same success answer as the first delivery.
      expect(response.json()).toEqual({ responses: [{}] });
    }
    const once = await settledJob(t, job.id);
    expect(allocationOf(once)).toBe(2 * HOUR);
    expect(extensions(once)).toEqual(['Time allocation extended by 1 h, to 2 h in total']);

    const other = await extendBy1h(t, [job], '42');
    expect(other.statusCode, other.body).toBe(200);
    const twice = await settledJob(t, job.id);
    expect(allocationOf(twice)).toBe(3 * HOUR);
    expect(extensions(twice)).toHaveLength(2);
  });

  test('without the header every delivery is applied, as before', async () => {
    t = await build(FAST);
    const job = await runningJob(t);
    expect((await extendBy1h(t, [job])).statusCode).toBe(200);
    expect((await extendBy1h(t, [job])).statusCode).toBe(200);
    expect(allocationOf(await settledJob(t, job.id))).toBe(3 * HOUR);
  });

  test('ids are per item: a request repeating one item and carrying a new one applies only the new one', async () => {
    t = await build(FAST);
    const a = await runningJob(t);
    const b = await runningJob(t);
    expect((await extendBy1h(t, [a, b], '7,8')).statusCode).toBe(200);
    // A retry can batch differently (a refused batch is sent item by item, later calls join a run): 7 again, 9 new.
    const mixed = await extendBy1h(t, [a, b], '7,9');
    expect(mixed.statusCode, mixed.body).toBe(200);
    expect(mixed.json()).toEqual({ responses: [{}, {}] });
    expect(allocationOf(await settledJob(t, a.id))).toBe(2 * HOUR);
    expect(allocationOf(await settledJob(t, b.id))).toBe(3 * HOUR);
  });

  test('a repeated create or terminate with its call id answers as the first time and changes nothing', async () => {
    t = await build(FAST);
    const job = await runningJob(t);
    const created = await providerCall(t, '', [job], 'c-1');
    const again = await providerCall(t, '', [job], 'c-1');
    expect([created.statusCode, again.statusCode]).toEqual([200, 200]);
    expect(again.json()).toEqual(created.json());
    expect(again.json()).toEqual({ responses: [{ id: job.id }] });

    expect((await providerCall(t, '/terminate', [job], 't-1')).statusCode).toBe(200);
    const ended = await waitForState(t, job.id, 'SUCCESS');
    const repeat = await providerCall(t, '/terminate', [job], 't-1');
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json()).toEqual({ responses: [{}] });
    expect(statuses(await settledJob(t, job.id))).toEqual(statuses(ended));
  });

  test('ids older than the retention period are forgotten by the leader loop; recent ones are kept', async () => {
    t = await build(FAST);
    const job = await runningJob(t);
    expect((await extendBy1h(t, [job], 'old')).statusCode).toBe(200);
    expect((await extendBy1h(t, [job], 'recent')).statusCode).toBe(200);
    const eightDays = 8 * 24 * HOUR;
    await t.db.query(`UPDATE example_applied_calls SET applied_at = applied_at - $1 WHERE call_id = 'old'`, [eightDays]);
    expect(await t.parts.example!.pruneCallIds(Date.now(), true)).toBe(1);
    // 'recent' is still known, so its repeat changes nothing; 'old' was forgotten, so it counts as a new call.
    expect((await extendBy1h(t, [job], 'recent')).statusCode).toBe(200);
    expect(allocationOf(await settledJob(t, job.id))).toBe(3 * HOUR);
    expect((await extendBy1h(t, [job], 'old')).statusCode).toBe(200);
    expect(allocationOf(await settledJob(t, job.id))).toBe(4 * HOUR);
  });
});

describe('a malformed Jobdeck-Call-Id header', () => {
  test('gets a 400 naming the header, never a 500, and changes nothing', async () => {
    t = await build(FAST);
    const job = await runningJob(t);
    const cases: [string, RegExp][] = [
      ['x'.repeat(101), /^Jobdeck-Call-Id: id 1 is longer than 100 characters$/],
      ['', /^Jobdeck-Call-Id: id 1 is empty/],
      ['1,', /^Jobdeck-Call-Id: id 2 is empty/],
      ['a b', /^Jobdeck-Call-Id: id 1 may only hold/],
      ['ü', /^Jobdeck-Call-Id: id 1 may only hold/],
      ['1,2', /^Jobdeck-Call-Id: 2 ids for 1 items/],
      ['x'.repeat(20_000), /^Jobdeck-Call-Id: id 1 is longer than 100 characters$/],
    ];
    for (const [header, why] of cases) {
      const response = await extendBy1h(t, [job], header);
      expect(response.statusCode, `${header.slice(0, 20)}: ${response.body}`).toBe(400);
      expect((response.json() as { why: string }).why).toMatch(why);
    }
    const twice = await extendBy1h(t, [job, job], '5,5');
    expect(twice.statusCode).toBe(400);
    expect((twice.json() as { why: string }).why).toMatch(/^Jobdeck-Call-Id: an id appears twice/);
    for (const path of ['', '/terminate']) {
      const response = await providerCall(t, path, [job], 'a,b');
      expect(response.statusCode).toBe(400);
      expect((response.json() as { why: string }).why).toMatch(/^Jobdeck-Call-Id: 2 ids for 1 items/);
    }
    // Nothing was applied, and the longest id allowed is accepted.
    const unchanged = await settledJob(t, job.id);
    expect(unchanged.status.state).toBe('RUNNING');
    expect(allocationOf(unchanged)).toBe(HOUR);
    expect((await extendBy1h(t, [job], 'x'.repeat(100))).statusCode).toBe(200);
  });
});

describe('the gateway names each queued call', () => {
  async function stubbedApp(): Promise<{ app: TestApp; provider: StubProvider }> {
    const provider = new StubProvider();
    provider.mode = 'up';
    onTestFinished(() => provider.close());
    return { app: await provider.front(FAST), provider };
  }

  const callIds = (provider: StubProvider, suffix: string) => provider.callsTo(suffix).map((c) => c.callId);

  test('every retry of one call carries the same id; different calls carry different ids', async () => {
    const { app, provider: stub } = await stubbedApp();
    t = app;
    const job = await runningJob(t);
    const [createId] = callIds(stub, '/ucloud/example/jobs');
    expect(createId).toMatch(/^\d+$/);

    stub.mode = 'down';
    await t.call('POST', '/api/jobs/extend', t.tokens.user, { items: [{ jobId: job.id, requestedTime: oneHour }] });
    await expect.poll(() => stub.callsTo('/jobs/extend').length, POLL).toBeGreaterThanOrEqual(3);
    stub.mode = 'up';
    await waitForStatus(t, job.id, /^Time allocation extended/);
    const first = callIds(stub, '/jobs/extend');
    expect(first.length).toBeGreaterThanOrEqual(4);
    expect(new Set(first)).toEqual(new Set([first[0]]));
    expect(first[0]).toMatch(/^\d+$/);
    expect(first[0]).not.toBe(createId);

    // A second extend is a call of its own.
    await t.call('POST', '/api/jobs/extend', t.tokens.user, { items: [{ jobId: job.id, requestedTime: oneHour }] });
    await expect.poll(async () => extensions(await getJob(t!, job.id)).length, POLL).toBe(2);
    const second = callIds(stub, '/jobs/extend').slice(first.length);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    expect(allocationOf(await settledJob(t, job.id))).toBe(3 * HOUR);
  });

  test('the provider applies an extend but its answer is lost: the gateway sends it again, and the job is extended once', async () => {
    const { app, provider: stub } = await stubbedApp();
    t = app;
    const job = await runningJob(t);
    stub.loseAnswers.set('/ucloud/example/jobs/extend', 1);
    const extend = await t.call('POST', '/api/jobs/extend', t.tokens.user, { items: [{ jobId: job.id, requestedTime: oneHour }] });
    expect(extend.statusCode).toBe(200);
    const answered = await waitForStatus(t, job.id, /^Provider 'example' answered after 2 attempts; the request to extend the job went through\.$/);
    expect(statuses(answered).some((s) => /^Provider 'example' could not be reached .* when asked to extend the job/.test(s))).toBe(true);
    const ids = callIds(stub, '/jobs/extend');
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    const after = await settledJob(t, job.id);
    expect(allocationOf(after)).toBe(2 * HOUR);
    expect(extensions(after)).toEqual(['Time allocation extended by 1 h, to 2 h in total']);
  });

  test('a leader that dies after the provider applied its call: the next leader sends the same id, and the job is extended once', async () => {
    const { app, provider: stub } = await stubbedApp();
    t = app;
    const job = await runningJob(t);
    const gateway = t.parts.gateway!;
    await gateway.stop();
    await t.call('POST', '/api/jobs/extend', t.tokens.user, { items: [{ jobId: job.id, requestedTime: oneHour }] });
    await expect.poll(async () => (await t!.db.query(`SELECT 1 FROM provider_calls WHERE op = 'extend'`)).length, POLL).toBe(1);
    const [row] = await t.db.query<{ id: number }>(`SELECT id FROM provider_calls WHERE op = 'extend'`);
    // What the old leader sent before it died: the provider applied it, and the call is still queued.
    expect((await extendBy1h(t, [job], String(row!.id))).statusCode).toBe(200);
    await gateway.start();
    await expect.poll(async () => (await t!.db.query('SELECT 1 FROM provider_calls')).length, POLL).toBe(0);
    expect(callIds(stub, '/jobs/extend')).toEqual([String(row!.id)]);
    const after = await settledJob(t, job.id);
    expect(allocationOf(after)).toBe(2 * HOUR);
    expect(extensions(after)).toHaveLength(1);
  });

  test('a batch is cut so its ids fit one header', () => {
    expect(callIdsWithin([1, 2, 3])).toBe(3);
    expect(callIdsWithin([123, 456, 789], 7)).toBe(2);
    expect(callIdsWithin([123456789], 3)).toBe(1);
    expect(callIdsWithin(Array.from({ length: 1000 }, (_, i) => 1e12 + i))).toBeLessThan(1000);
  });
});
