import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL, sharedApp } from '../test/app';
import { control, createJob, databaseSpec, retrieve, update } from '../test/jobs';
import { TestSocket } from '../test/socket';

// Extension `status.version` (contract/jobs.ts JobStatus): it grows with every change a client can see, and REST and
// the sockets agree on it, so a client can keep the newer of two copies of a job.

let jobs: TestSocket;

const t = sharedApp();
beforeAll(async () => {
  jobs = await TestSocket.inject(t.app, '/api/jobs');
  jobs.call('jobs.listen', 'listen', {}, t.tokens.user);
  await jobs.sync(t.tokens.user);
});
afterAll(() => jobs.close());

/** Every way a client reads one job over REST, as [where, job]. */
async function restCopies(id: string) {
  const retrieved = await retrieve(t, id);
  const browsed = (await t.call('GET', '/api/jobs/browse?itemsPerPage=1000', t.tokens.user)).json().items.find((j: { id: string }) => j.id === id);
  const controlled = (await t.call('GET', `/api/jobs/control/retrieve?id=${id}`, t.tokens.provider)).json();
  return [['retrieve', retrieved], ['browse', browsed], ['control/retrieve', controlled]] as const;
}

async function restVersion(id: string): Promise<number> {
  const copies = await restCopies(id);
  for (const [where, job] of copies) expect(job.status.version, where).toBe(copies[0][1].status.version);
  return copies[0][1].status.version;
}

/** The job's jobs.listen events so far. */
const listened = (id: string) => jobs.messages('listen').map((m) => m.job).filter((job) => job.id === id);

/** Waits until the job's provider has answered its create, which sets `providerGeneratedId` (a change too). */
async function untilAnswered(id: string) {
  for (let tries = 0; (await retrieve(t, id)).providerGeneratedId === null; tries++) {
    if (tries > 1200) throw new Error(`job ${id}: the provider never answered its create`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function acceptedJob(path: string) {
  const id = await createJob(t, { ...databaseSpec(path), allowDuplicateJob: true });
  await untilAnswered(id);
  return id;
}

describe(`status.version (${TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('is 1 for a new job, on REST and on jobs.listen, and the provider answering the create adds one', async () => {
    const id = await createJob(t, { ...databaseSpec('/version/new'), allowDuplicateJob: true });
    const [created] = await jobs.until(() => (listened(id).length > 0 ? listened(id) : undefined), 'the creation event');
    expect(created.status.version).toBe(1);
    expect(created.providerGeneratedId).toBeNull();
    await untilAnswered(id);
    const job = await retrieve(t, id);
    expect(job.providerGeneratedId).toBe(id);
    expect(job.status.version).toBe(2);
    expect(await restVersion(id)).toBe(2);
  });

  it('grows by one with every applied update, the same on REST, jobs.listen and jobs.follow; a dropped update changes nothing', async () => {
    const id = await acceptedJob('/version/steps');
    const start = await restVersion(id);
    const follower = await TestSocket.inject(t.app, '/api/jobs');
    follower.call('jobs.follow', 'f', { id }, t.tokens.user);
    const [initial] = await follower.waitMessages('f', 1);
    expect(initial.initialJob.status.version).toBe(start);

    const steps: [string, Record<string, unknown>][] = [
      ['state', { state: 'RUNNING', status: 'Up' }],
      ['status line', { status: 'Still up' }],
      ['time allocation (and with it the expiry)', { newTimeAllocation: 3_600_000 }],
      ['output folder', { outputFolder: '/out/steps' }],
      ['final state', { state: 'SUCCESS', status: 'Done' }],
    ];
    let expected = start;
    for (const [what, fields] of steps) {
      const before = await retrieve(t, id);
      expect((await control(t, id, fields)).statusCode).toBe(200);
      expected += 1;
      const rest = await restCopies(id);
      for (const [where, job] of rest) expect(job.status.version, `${what}: ${where}`).toBe(expected);
      const event = await jobs.until(() => listened(id).find((j) => j.status.version === expected), `the listen event of ${what}`);
      // The event and the REST read at the same version are the same state.
      expect(event.status, what).toEqual(rest[0][1].status);
      expect(event.output, what).toEqual(rest[0][1].output);
      const followed = await follower.until(() => follower.messages('f').find((m) => m.newStatus?.version === expected), `the follow message of ${what}`);
      expect(followed.newStatus, what).toEqual(rest[0][1].status);
      expect(rest[0][1].updates.length, what).toBe(before.updates.length + 1);
    }
    const job = await retrieve(t, id);
    expect(job.status).toMatchObject({ state: 'SUCCESS', expiresAt: job.status.startedAt + 3_600_000 });

    // Dropped by the rules (expected state, sticky final state): no change, so no new version and no event.
    const events = listened(id).length;
    expect((await control(t, id, { status: 'not applied', expectedState: 'RUNNING' })).statusCode).toBe(200);
    expect((await control(t, id, { state: 'RUNNING' })).statusCode).toBe(200);
    expect(await restVersion(id)).toBe(expected);
    await jobs.sync(t.tokens.user);
    expect(listened(id)).toHaveLength(events);
    await follower.close();
  });

  it('counts each update of one batch, and a batch of several jobs bumps each by its own updates', async () => {
    const [a, b] = [await acceptedJob('/version/batch-a'), await acceptedJob('/version/batch-b')];
    const [va, vb] = [await restVersion(a), await restVersion(b)];
    const response = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, {
      items: [
        { id: a, update: update({ status: 'a1' }) },
        { id: b, update: update({ status: 'b1' }) },
        { id: a, update: update({ status: 'a2' }) },
        { id: a, update: update({ status: 'a3', expectedState: 'SUCCESS' }) },
      ],
    });
    expect(response.statusCode).toBe(200);
    expect(await restVersion(a)).toBe(va + 2);
    expect(await restVersion(b)).toBe(vb + 1);
    const eventOfA = await jobs.until(() => listened(a).find((j) => j.status.version === va + 2), 'the batch event of a');
    expect(eventOfA.updates.map((u: { status: string }) => u.status)).toEqual(['a1', 'a2']);
  });

  it('gives concurrent writers distinct versions: each version is one state', async () => {
    const id = await acceptedJob('/version/concurrent');
    const start = await restVersion(id);
    const writers = 12;
    // Separate requests, each its own transaction (on PostgreSQL on separate connections of the pool).
    const answers = await Promise.all(Array.from({ length: writers }, (_, i) => control(t, id, { status: `writer ${i}` })));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(writers).fill(200));
    expect(await restVersion(id)).toBe(start + writers);
    const events = await jobs.until(() => {
      const seen = listened(id).filter((j) => j.status.version > start);
      return seen.length >= writers ? seen : undefined;
    }, 'every writer’s event');
    expect(events.map((j) => j.status.version).sort((x, y) => x - y)).toEqual(Array.from({ length: writers }, (_, i) => start + 1 + i));
    // Each event carries the one update its version added, and the history in version order is the update order.
    const byVersion = [...events].sort((x, y) => x.status.version - y.status.version).map((j) => j.updates.map((u: { status: string }) => u.status));
    const history = (await retrieve(t, id)).updates.slice(-writers).map((u: { status: string }) => [u.status]);
    expect(byVersion).toEqual(history);
  });
});
