import { afterEach, describe, expect, test } from 'vitest';
import { build, type TestApp } from '../test/app';
import { batch, createJob, getJob, statuses, webApp } from '../test/jobs';
import { FAST, POLL, StubProvider, waitForState } from '../test/provider';
import { seedPayloads } from '../../contract/fixtures/seed-payloads';
import { Job as JobSchema, type Job } from '../../contract/jobs';
import { Value } from 'typebox/value';

// Seed 000, "Ensuring UCloud/Core and Provider are in-sync", and the core's verify loop (contract §5).
const seedVerify = seedPayloads().find((c) => c.call === 'provider.jobs.verify')!;
const seedUpdate = seedPayloads().find((c) => c.call === 'jobs.control.update')!;

/** The seed's verify body with only the job id substituted. */
function seedVerifyBodyFor(id: string): string {
  const body = structuredClone(seedVerify.body) as { items: Job[] };
  body.items[0]!.id = id;
  return JSON.stringify(body);
}

let t: TestApp;
let stub: StubProvider | null = null;
afterEach(async () => {
  await stub?.close();
  stub = null;
});

describe('seed 000: a provider that has forgotten a job', () => {
  test('receives it in a verify batch of the seed shape and fails it with "Your job is no longer available"; known jobs stay RUNNING', async () => {
    t = await build(FAST);
    // The seed's job: acme-batch with the seed's parameters, on example-compute-1.
    const forgotten = await createJob(t, batch({ product: { id: 'example-compute-1', category: 'example-compute', provider: 'example' } }));
    const known = await createJob(t, batch({ product: { id: 'example-compute-1', category: 'example-compute', provider: 'example' } }));
    await waitForState(t, forgotten, 'RUNNING');
    await waitForState(t, known, 'RUNNING');
    const knownBefore = await getJob(t, known);

    const forget = await t.call('POST', '/ucloud/example/admin/forget', t.tokens.admin, { id: forgotten });
    expect(forget.statusCode).toBe(200);
    expect(forget.json()).toEqual({ id: forgotten, forgotten: true });

    // The seed's body verbatim names job 54112, which this core does not have: the provider's FAILURE for it is
    // refused by the core (404) and dropped, without holding up the updates queued after it.
    const verbatim = await t.call('POST', seedVerify.path, t.tokens.ucloud, seedVerify.bodyText);
    expect(verbatim.statusCode, verbatim.body).toBe(200);
    expect(verbatim.json()).toEqual(seedVerify.response);

    // The seed's call, as the `ucloud` service, at the built-in provider's path. The known job goes first: the
    // provider's updates reach the core in order, so once the forgotten job has failed, any update the known
    // job's verify could have caused would already be visible.
    for (const id of [known, forgotten]) {
      const response = await t.call('POST', seedVerify.path, t.tokens.ucloud, seedVerifyBodyFor(id));
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual(seedVerify.response);
    }

    const failed = await waitForState(t, forgotten, 'FAILURE');
    const expected = (seedUpdate.body as { items: { update: Record<string, unknown> }[] }).items[0]!.update;
    // The update the provider sent is the seed's, apart from the timestamp the core stamps.
    expect(failed.updates.at(-1)).toEqual({ ...expected, timestamp: expect.any(Number) });
    expect(failed.updates.at(-1)!.timestamp).toBeGreaterThan(0);

    const knownAfter = await getJob(t, known);
    expect(knownAfter.status.state).toBe('RUNNING');
    expect(knownAfter.updates).toEqual(knownBefore.updates);
  });

  test('verify refuses callers other than the core, and bad bodies name the field', async () => {
    t = await build(FAST);
    const body = seedVerifyBodyFor('1');
    expect((await t.call('POST', seedVerify.path, null, body)).statusCode).toBe(401);
    for (const token of [t.tokens.user, t.tokens.provider, t.tokens.admin]) {
      expect((await t.call('POST', seedVerify.path, token, body)).statusCode).toBe(403);
    }
    const wrongProvider = JSON.parse(body) as { items: Job[] };
    wrongProvider.items[0]!.specification.product.provider = 'elsewhere';
    const refused = await t.call('POST', seedVerify.path, t.tokens.ucloud, wrongProvider);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().why).toBe("items[0].specification.product.provider: this is provider 'example', not 'elsewhere'");

    const noState = JSON.parse(body) as { items: Record<string, unknown>[] };
    delete (noState.items[0]!.status as Record<string, unknown>).state;
    const missing = await t.call('POST', seedVerify.path, t.tokens.ucloud, noState);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().why).toMatch(/^items\[0\]\.status/);

    const empty = await t.call('POST', seedVerify.path, t.tokens.ucloud, { items: [] });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().why).toMatch(/^items/);
  });
});

describe('the verify loop', () => {
  test('sends each active job, as a full Job, to its provider every interval; what the provider forgot fails, the rest stays', async () => {
    t = await build({ ...FAST, verifyIntervalMs: 100 });
    const forgotten = await createJob(t, webApp());
    const kept = await createJob(t, webApp());
    await waitForState(t, forgotten, 'RUNNING');
    await waitForState(t, kept, 'RUNNING');
    const keptBefore = await getJob(t, kept);

    await t.call('POST', '/ucloud/example/admin/forget', t.tokens.admin, { id: forgotten });
    const failed = await waitForState(t, forgotten, 'FAILURE');
    expect(statuses(failed).at(-1)).toBe('Your job is no longer available');
    const keptAfter = await getJob(t, kept);
    expect(keptAfter.status.state).toBe('RUNNING');
    expect(keptAfter.updates).toEqual(keptBefore.updates);
  });

  test('pages through the active jobs in batches of at most 1000, never sends final or unacknowledged jobs, and never fails a job itself', async () => {
    // A provider elsewhere, reached over HTTP: the stub hands the calls to the built-in provider's routes.
    stub = new StubProvider();
    stub.mode = 'up';
    t = await stub.front(FAST);

    // 2 500 active jobs, written set-based as the provider had answered for them; then a few that must not be sent.
    const now = Date.now();
    await t.db.query(
      `INSERT INTO jobs (owner, provider, app_name, app_version, specification, duplicate_key, state, time_allocation_ms,
                         created_at, modified_at, provider_acked_at)
       SELECT 'user', 'example', 'acme-web-app', '1.0.0', $1::jsonb, 'k' || g, 'RUNNING', 3600000, $2, $2, $2
       FROM generate_series(1, 2500) g`,
      [JSON.stringify(webApp()), now],
    );
    await t.db.query(
      `INSERT INTO jobs (owner, provider, app_name, app_version, specification, duplicate_key, state, created_at, modified_at, provider_acked_at)
       VALUES ('user', 'example', 'acme-web-app', '1.0.0', $1::jsonb, 'done', 'SUCCESS', $2, $2, $2),
              ('user', 'example', 'acme-web-app', '1.0.0', $1::jsonb, 'new', 'IN_QUEUE', $3, $3, NULL)`,
      // The unacknowledged job is dated ahead, so the gateway's recovery of missing creates (jobs older than a few
      // seconds) cannot send it and have it acknowledged before the sweep on a slow machine (it counted 2501 then).
      [JSON.stringify(webApp()), now, now + 3_600_000],
    );
    const report = await t.parts.verify!.sweep();
    expect(report.providers).toEqual([{ provider: 'example', jobs: 2500, requests: 3, error: null }]);

    const batches = stub.callsTo('/jobs/verify').map((c) => (c.body as { items: Job[] }).items);
    expect(batches.map((b) => b.length)).toEqual([1000, 1000, 500]);
    const ids = batches.flat().map((j) => Number(j.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(2500);
    // Full Job objects: every field of the seed's, plus providerGeneratedId (which the seed's Kotlin shows), valid per the contract.
    expect(Object.keys(batches[0]![0]!).sort()).toEqual([...Object.keys((seedVerify.body as { items: Job[] }).items[0]!), 'providerGeneratedId'].sort());
    expect(batches.flat().every((job) => Value.Check(JobSchema, job))).toBe(true);
    expect(batches[0]![0]!.status.state).toBe('RUNNING');

    // None of these jobs is known to the provider: it fails each one itself, the core never does.
    await expect.poll(async () => (await t.db.query(`SELECT count(*)::int AS n FROM jobs WHERE state = 'FAILURE'`))[0]!.n, POLL).toBe(2500);
    const [one] = await t.db.query<{ id: number }>(`SELECT id FROM jobs WHERE state = 'FAILURE' LIMIT 1`);
    expect(statuses(await getJob(t, String(one!.id))).at(-1)).toBe('Your job is no longer available');
  });

  test('a provider that is down is skipped for this sweep and tried again next sweep; no job changes', async () => {
    stub = new StubProvider();
    stub.mode = 'up';
    t = await stub.front({ ...FAST, verifyIntervalMs: 50 });
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    stub.mode = 'down';
    const before = await getJob(t, id);
    await expect.poll(() => stub!.callsTo('/jobs/verify').length, POLL).toBeGreaterThanOrEqual(3);
    const after = await getJob(t, id);
    expect(after.status.state).toBe('RUNNING');
    expect(after.updates).toEqual(before.updates);
  });
});
