import { describe, expect, test, vi } from 'vitest';
import { build, restart, type TestApp } from '../test/app';
import { batch, createJob, getJob, statuses, webApp } from '../test/jobs';
import { FAST, POLL, waitForState, waitForStatus } from '../test/provider';
import type { Job } from '../../contract/jobs';

let t: TestApp | undefined;
describe('the simulated lifecycle', () => {
  test('a batch job queues, runs and finishes with SUCCESS; every transition has a status line', async () => {
    t = await build({ ...FAST, exampleBatchRunMs: 100 });
    const id = await createJob(t, batch());
    const done = await waitForState(t, id, 'SUCCESS');
    expect(done.updates.map((u) => [u.state, u.status])).toEqual([
      ['RUNNING', "Started on machine type 'example-compute' with a time allocation of 1 h"],
      ['SUCCESS', 'The batch job finished successfully'],
    ]);
    expect(done.status.startedAt).toEqual(expect.any(Number));
  });

  test('a service runs until its time allocation is used up, then EXPIRED', async () => {
    t = await build(FAST);
    const id = await createJob(t, webApp({ timeAllocation: { hours: 0, minutes: 0, seconds: 1 } }));
    const running = await waitForState(t, id, 'RUNNING');
    expect(running.status.expiresAt).toBe(running.status.startedAt! + 1000);
    const expired = await waitForState(t, id, 'EXPIRED');
    expect(expired.updates.at(-1)).toMatchObject({ state: 'EXPIRED', status: 'Time allocation of 1 s used up; the job has expired' });
  });

  test('extend pushes the new time allocation; expiresAt follows', async () => {
    t = await build(FAST);
    const id = await createJob(t, webApp({ timeAllocation: { hours: 1, minutes: 0, seconds: 0 } }));
    const running = await waitForState(t, id, 'RUNNING');
    const extend = await t.call('POST', '/api/jobs/extend', t.tokens.user, {
      items: [{ jobId: id, requestedTime: { hours: 1, minutes: 30, seconds: 0 } }],
    });
    expect(extend.statusCode, extend.body).toBe(200);
    const extended = await waitForStatus(t, id, /^Time allocation extended/);
    expect(extended.updates.at(-1)).toMatchObject({
      state: null,
      status: 'Time allocation extended by 1 h 30 min, to 2 h 30 min in total',
      newTimeAllocation: 2.5 * 3600 * 1000,
    });
    expect(extended.status.expiresAt).toBe(running.status.startedAt! + 2.5 * 3600 * 1000);
    const provider = await t.call('GET', `/ucloud/example/jobs/retrieve?id=${id}`, t.tokens.admin);
    const view = provider.json() as { state: string; timeAllocationMs: number; expiresAt: number };
    expect(view).toMatchObject({ state: 'RUNNING', timeAllocationMs: 2.5 * 3600 * 1000 });
    // The provider's clock started the job a moment before the core recorded it.
    expect(Math.abs(view.expiresAt - extended.status.expiresAt!)).toBeLessThan(1000);
  });

  test('terminate ends a running job, or a queued one, with SUCCESS "Terminated by user"', async () => {
    t = await build({ ...FAST, exampleQueueDelayMs: 60_000 });
    const queued = await createJob(t, webApp());
    await expect.poll(async () => (await t!.call('GET', `/ucloud/example/jobs/retrieve?id=${queued}`, t!.tokens.admin)).statusCode, POLL).toBe(200);
    await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id: queued }] });
    const ended = await waitForState(t, queued, 'SUCCESS');
    expect(ended.updates.map((u) => [u.state, u.status])).toEqual([['SUCCESS', 'Terminated by user']]);
    expect(ended.status.startedAt).toBeNull();
  });
});

describe('the provider API', () => {
  const job = (id: string, fields: Partial<Job> = {}): Job => ({
    id,
    owner: { createdBy: 'user', project: null },
    updates: [],
    specification: webApp(),
    status: { state: 'RUNNING', startedAt: null, expiresAt: null, jobParametersJson: null, resolvedApplication: null, resolvedSupport: null, resolvedProduct: null },
    createdAt: 1,
    output: null,
    permissions: null,
    providerGeneratedId: null,
    ...fields,
  });

  test('only the core (SERVICE) may run jobs; ADMIN may read the firewall and forget; everyone else is refused', async () => {
    t = await build(FAST);
    const body = { items: [job('1')] };
    for (const path of ['/ucloud/example/jobs', '/ucloud/example/jobs/terminate', '/ucloud/example/jobs/verify']) {
      expect((await t.call('POST', path, null, body)).statusCode).toBe(401);
      for (const token of [t.tokens.user, t.tokens.provider, t.tokens.admin]) expect((await t.call('POST', path, token, body)).statusCode).toBe(403);
    }
    const extend = { items: [{ job: job('1'), requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] };
    expect((await t.call('POST', '/ucloud/example/jobs/extend', t.tokens.user, extend)).statusCode).toBe(403);
    for (const path of ['/ucloud/example/jobs/firewall?id=1', '/ucloud/example/jobs/retrieve?id=1']) {
      expect((await t.call('GET', path, t.tokens.user)).statusCode).toBe(403);
      expect((await t.call('GET', path, t.tokens.provider)).statusCode).toBe(403);
    }
    expect((await t.call('POST', '/ucloud/example/admin/forget', t.tokens.ucloud, { id: '1' })).statusCode).toBe(403);
    expect((await t.call('POST', '/ucloud/example/admin/forget', t.tokens.user, { id: '1' })).statusCode).toBe(403);
  });

  test('bad input gets a 400 that names the field, and changes nothing', async () => {
    t = await build(FAST);
    const why = async (method: 'GET' | 'POST', path: string, body: unknown, token = t!.tokens.ucloud) => {
      const response = await t!.call(method, path, token, body);
      expect(response.statusCode, response.body).toBe(400);
      return (response.json() as { why: string }).why;
    };
    const elsewhere = job('7', { specification: { ...webApp(), product: { id: 'x', category: 'x', provider: 'elsewhere' } } });
    expect(await why('POST', '/ucloud/example/jobs', { items: [job('6'), elsewhere] })).toBe(
      "items[1].specification.product.provider: this is provider 'example', not 'elsewhere'",
    );
    const badPeer = job('8', { specification: webApp({ resources: [{ type: 'peer', hostname: 'Not_A_Host', jobId: '6' }] }) });
    expect(await why('POST', '/ucloud/example/jobs', { items: [badPeer] })).toMatch(/^items\[0\]\.specification\.resources\[0\]\.hostname: must be a DNS name/);
    expect(await why('POST', '/ucloud/example/jobs', { items: [{ ...job('9'), id: '' }] })).toMatch(/^items\[0\]\.id: /);
    expect(await why('POST', '/ucloud/example/jobs', { items: [{ ...job('9'), surprise: 1 }] })).toMatch(/surprise/);
    expect(await why('POST', '/ucloud/example/jobs', {})).toMatch(/items/);
    expect(await why('POST', '/ucloud/example/jobs', 'not json')).toMatch(/^\(body\): malformed JSON/);
    // Nothing of the refused batch was taken in.
    expect((await t.call('GET', '/ucloud/example/jobs/retrieve?id=6', t.tokens.admin)).statusCode).toBe(404);

    expect(await why('POST', '/ucloud/example/jobs/terminate', { items: [elsewhere] })).toMatch(/^items\[0\]\.specification\.product\.provider/);
    expect(await why('POST', '/ucloud/example/jobs/extend', { items: [{ job: job('6'), requestedTime: { hours: 0, minutes: 0, seconds: 0 } }] })).toBe(
      'items[0].requestedTime: must be longer than zero',
    );
    expect(await why('POST', '/ucloud/example/jobs/extend', { items: [{ job: job('6'), requestedTime: { hours: 0, minutes: 60, seconds: 0 } }] })).toMatch(
      /^items\[0\]\.requestedTime\.minutes: /,
    );
    expect(await why('POST', '/ucloud/example/jobs/extend', { items: [{ job: elsewhere, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] })).toMatch(
      /^items\[0\]\.job\.specification\.product\.provider/,
    );
    expect(await why('POST', '/ucloud/example/jobs/verify', { items: [{ ...job('6'), status: { state: 'BOGUS' } }] })).toMatch(/^items\[0\]\.status/);
    expect(await why('GET', '/ucloud/example/jobs/firewall', undefined)).toMatch(/^id: /);
    expect(await why('GET', '/ucloud/example/jobs/retrieve?id=', undefined)).toMatch(/^id: /);
    expect(await why('POST', '/ucloud/example/admin/forget', {}, t.tokens.admin)).toMatch(/^id: /);
    expect(await why('POST', '/ucloud/example/admin/forget', { id: 5 }, t.tokens.admin)).toMatch(/^id: /);
    // PostgreSQL text cannot hold NUL: refused with the field named, never a 500.
    expect(await why('POST', '/ucloud/example/jobs', { items: [job('6', { owner: { createdBy: 'us\u0000er', project: null } })] })).toBe(
      'items[0].owner.createdBy: must not contain the NUL character (U+0000)',
    );
    expect(await why('POST', '/ucloud/example/admin/forget', { id: '1\u0000' }, t.tokens.admin)).toBe('id: must not contain the NUL character (U+0000)');
    expect(await why('GET', '/ucloud/example/jobs/firewall?id=1%00', undefined)).toBe('id: must not contain the NUL character (U+0000)');
  });

  test('unknown jobs: 404 naming the id for the firewall, retrieve and forget; terminate and extend report them to the core as gone', async () => {
    t = await build(FAST);
    for (const path of ['/ucloud/example/jobs/firewall?id=424242', '/ucloud/example/jobs/retrieve?id=424242']) {
      const response = await t.call('GET', path, t.tokens.ucloud);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ why: "id: provider 'example' does not know job '424242'", errorCode: null });
    }
    const forget = await t.call('POST', '/ucloud/example/admin/forget', t.tokens.admin, { id: '424242' });
    expect(forget.statusCode).toBe(404);

    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    await t.call('POST', '/ucloud/example/admin/forget', t.tokens.admin, { id });
    // The user terminates a job the provider has forgotten: the provider says so, and the job fails.
    await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id }] });
    const failed = await waitForState(t, id, 'FAILURE');
    expect(statuses(failed).at(-1)).toBe('Your job is no longer available');

    const other = await createJob(t, webApp());
    await waitForState(t, other, 'RUNNING');
    await t.call('POST', '/ucloud/example/admin/forget', t.tokens.admin, { id: other });
    await t.call('POST', '/api/jobs/extend', t.tokens.user, { items: [{ jobId: other, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] });
    expect(statuses(await waitForState(t, other, 'FAILURE')).at(-1)).toBe('Your job is no longer available');
  });

  test('create is idempotent: a retried call neither duplicates a job nor resets it', async () => {
    t = await build(FAST);
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const before = (await t.call('GET', `/ucloud/example/jobs/retrieve?id=${id}`, t.tokens.admin)).json();
    const again = await t.call('POST', '/ucloud/example/jobs', t.tokens.ucloud, { items: [await getJob(t, id)] });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ responses: [{ id }] });
    expect((await t.call('GET', `/ucloud/example/jobs/retrieve?id=${id}`, t.tokens.admin)).json()).toEqual(before);
  });
});

describe('restarts', () => {
  test('jobs that expired while the provider was down become EXPIRED, saying so', async () => {
    t = await build(FAST);
    const id = await createJob(t, webApp({ timeAllocation: { hours: 0, minutes: 0, seconds: 1 } }));
    const running = await waitForState(t, id, 'RUNNING');
    t = await restart(t, FAST, async () => {
      // Down for longer than the job had left, and then some, so the expiry is plainly overdue.
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(running.status.expiresAt! + 2_500), { timeout: 10_000, interval: 100 });
    });
    const expired = await waitForState(t, id, 'EXPIRED');
    expect(statuses(expired).at(-1)).toMatch(/^Time allocation of 1 s ran out at \S+ while the provider was offline; the job has expired$/);
  });

  test('a state the core missed is sent again after a restart (reconcile via control/browse)', async () => {
    t = await build(FAST);
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    t = await restart(t, FAST, async () => {
      // The provider ended the job, and the update that said so was lost: the core still shows RUNNING.
      await t!.db.query(
        `UPDATE example_jobs SET state = 'SUCCESS', status = 'Terminated by user', ended_at = 1, next_event = NULL, next_event_at = NULL WHERE job_id = $1`,
        [id],
      );
      await t!.db.query(`DELETE FROM example_outbox`);
    });
    const ended = await waitForState(t, id, 'SUCCESS');
    expect(ended.updates.at(-1)).toMatchObject({ state: 'SUCCESS', status: 'Terminated by user' });
  });

  test('a job committed just before a crash, whose create was never queued, still reaches the provider', async () => {
    t = await build(FAST);
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    let orphan = '';
    t = await restart(t, FAST, async () => {
      const [row] = await t!.db.query<{ id: number }>(
        `INSERT INTO jobs (owner, provider, app_name, app_version, specification, duplicate_key, time_allocation_ms, created_at, modified_at)
         SELECT owner, provider, app_name, app_version, specification, duplicate_key || '-2', time_allocation_ms, created_at, modified_at
         FROM jobs WHERE id = $1 RETURNING id`,
        [Number(id)],
      );
      orphan = String(row!.id);
    });
    const running = await waitForState(t, orphan, 'RUNNING');
    expect(running.providerGeneratedId).toBe(orphan);
  });
});

describe('calls received twice (at-least-once delivery after a leader dies mid-call)', () => {
  test('a repeated terminate of a job that has ended changes nothing and sends nothing', async () => {
    t = await build(FAST);
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id }] });
    const ended = await waitForState(t, id, 'SUCCESS');
    const again = await t.call('POST', '/ucloud/example/jobs/terminate', t.tokens.ucloud, { items: [await getJob(t, id)] });
    expect(again.statusCode).toBe(200);
    await t.parts.example!.settled();
    expect(statuses(await getJob(t, id))).toEqual(statuses(ended));
  });
});
