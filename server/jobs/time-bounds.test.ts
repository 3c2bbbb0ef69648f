import { describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { control, createJob, databaseSpec, retrieve, update } from '../test/jobs';

/*
 * A job's allocation stays within 720 hours (every product's maximum), whoever raises it: a provider's
 * newTimeAllocation, or a user's extends, however many items one request holds. Unbounded, expiresAt can leave the
 * range of JavaScript dates, and the job page shows "Invalid time value" with no Terminate or Extend.
 */

const HOUR = 3600_000;
const MAX = 720 * HOUR;
let n = 0;
const newJob = (hours: number) => createJob(t, { ...databaseSpec(`/bounds/${n++}`), timeAllocation: { hours, minutes: 0, seconds: 0 } });
const extend = (items: { jobId: string; hours: number }[]) =>
  t.call('POST', '/api/jobs/extend', t.tokens.user, {
    items: items.map(({ jobId, hours }) => ({ jobId, requestedTime: { hours, minutes: 0, seconds: 0 } })),
  });

const t = sharedApp();

describe('a provider raising the allocation (control/update)', () => {
  it.each([MAX + 1, 2 ** 53 - 1])('newTimeAllocation %d is a 400 naming the field, and the job keeps its dates', async (ms) => {
    const id = await newJob(2);
    await control(t, id, { state: 'RUNNING' });
    const before = await retrieve(t, id);
    const response = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, { items: [{ id, update: update({ newTimeAllocation: ms }) }] });
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toBe("items[0].update.newTimeAllocation: must be at most 2592000000 ms (720 hours, the product's maximum)");
    expect((await retrieve(t, id)).status.expiresAt).toBe(before.status.expiresAt);
  });

  it('exactly the maximum is accepted, and expiresAt is a date', async () => {
    const id = await newJob(2);
    await control(t, id, { state: 'RUNNING' });
    expect((await control(t, id, { newTimeAllocation: MAX })).statusCode).toBe(200);
    const job = await retrieve(t, id);
    expect(job.status.expiresAt).toBe(job.status.startedAt + MAX);
    expect(new Date(job.status.expiresAt).toISOString()).toMatch(/^\d{4}-/);
  });
});

describe('a user extending', () => {
  it('one request with 1000 items of +1 h on one job is refused at the item that passes 720 h, and nothing is applied', async () => {
    const id = await newJob(1);
    await control(t, id, { state: 'RUNNING' });
    const before = await retrieve(t, id);
    const response = await extend(Array.from({ length: 1000 }, () => ({ jobId: id, hours: 1 })));
    expect(response.statusCode).toBe(400);
    // 1 h + items[0..718] = 720 h; items[719] would make 721.
    expect(response.json().why).toBe(`items[719].requestedTime: job '${id}' would have 721 hours in all; a job may have at most 720 hours (the product's maximum)`);
    const after = await retrieve(t, id);
    expect(after.status.expiresAt).toBe(before.status.expiresAt);
    expect(after.updates).toHaveLength(before.updates.length);
  });

  it('the total counts what the job already has: 700 h + 21 h is refused, + 20 h is accepted', async () => {
    const id = await newJob(700);
    await control(t, id, { state: 'RUNNING' });
    const refused = await extend([{ jobId: id, hours: 21 }]);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().why).toMatch(/^items\[0\]\.requestedTime: job '\d+' would have 721 hours in all/);
    expect((await extend([{ jobId: id, hours: 20 }])).statusCode).toBe(200);
  });

  it('items on different jobs are counted per job', async () => {
    const a = await newJob(400);
    const b = await newJob(400);
    await control(t, a, { state: 'RUNNING' });
    await control(t, b, { state: 'RUNNING' });
    expect((await extend([{ jobId: a, hours: 300 }, { jobId: b, hours: 300 }])).statusCode).toBe(200);
  });
});

describe("a provider's status text", () => {
  it('is capped at 4096 characters (a 900 KB one was accepted), with a 400 naming the field', async () => {
    const id = await newJob(1);
    const long = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, { items: [{ id, update: update({ status: 'x'.repeat(900_000) }) }] });
    expect(long.statusCode).toBe(400);
    expect(long.json().why).toBe('items[0].update.status: must be at most 4096 characters (got 900000)');
    expect((await retrieve(t, id)).updates).toHaveLength(0);
    expect((await control(t, id, { status: 'y'.repeat(4096) })).statusCode).toBe(200);
  });
});
