import { beforeAll, describe, expect, it } from 'vitest';
import { seedPayloads } from '../../contract/fixtures/seed-payloads';
import { sharedApp } from '../test/app';
import { control, retrieve } from '../test/jobs';
import { runSeedCurl } from '../test/seed-curl';

// The seeds' curl commands, run verbatim with curl against a listening server.
describe('seed curl commands, verbatim', () => {
  let host: string;
  const t = sharedApp();
  beforeAll(async () => {
    host = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });

  const calls = seedPayloads();
  const create = calls.filter((c) => c.seed.startsWith('001') && c.call === 'jobs.create');
  const controlUpdate = calls.find((c) => c.seed.startsWith('000') && c.call === 'jobs.control.update')!;

  it('seed 001: creates the database, and connects the web app to it once it is RUNNING', async () => {
    expect(create).toHaveLength(2);
    const [databaseCall, webAppCall] = create;

    const database = await runSeedCurl(host, t.tokens.user, databaseCall!);
    expect(database.status).toBe(200);
    const databaseId = (database.body as { responses: { id: string }[] }).responses[0]!.id;
    expect(databaseId).toMatch(/^[0-9]+$/);

    // The web app names job 4101 as its peer; while the database is still IN_QUEUE the peer check refuses it.
    const early = await runSeedCurl(host, t.tokens.user, webAppCall!, { '4101': databaseId });
    expect(early.status).toBe(400);
    expect((early.body as { why: string }).why).toMatch(/^items\[0\]\.resources\[0\]\.jobId: .*IN_QUEUE/);

    expect((await control(t, databaseId, { state: 'RUNNING', status: 'The database is up' })).statusCode).toBe(200);

    const webApp = await runSeedCurl(host, t.tokens.user, webAppCall!, { '4101': databaseId });
    expect(webApp.status).toBe(200);
    const webAppId = (webApp.body as { responses: { id: string }[] }).responses[0]!.id;

    const job = await retrieve(t, webAppId);
    expect(job.specification.resources).toEqual([{ type: 'peer', hostname: 'database', jobId: databaseId }]);
    const connected = await t.call('GET', `/api/jobs/browseConnected?id=${databaseId}`, t.tokens.user);
    expect(connected.json().items.map((c: { hostname: string; job: { id: string } }) => [c.hostname, c.job.id])).toEqual([
      ['database', webAppId],
    ]);
  });

  it('seed 000: the provider marks a job it does not know as FAILURE', async () => {
    const created = await t.call('POST', '/api/jobs', t.tokens.user, {
      items: [{ ...(create[0]!.body as { items: unknown[] }).items[0] as object, allowDuplicateJob: true }],
    });
    const id = created.json().responses[0].id as string;
    await control(t, id, { state: 'RUNNING' });

    const result = await runSeedCurl(host, t.tokens.provider, controlUpdate, { '54112': id });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({});

    const job = await retrieve(t, id);
    expect(job.status.state).toBe('FAILURE');
    expect(job.updates.at(-1)).toMatchObject({ state: 'FAILURE', status: 'Your job is no longer available' });
    // The server stamps its own time; the seed sends 0.
    expect(job.updates.at(-1).timestamp).toBeGreaterThan(0);
  });
});
