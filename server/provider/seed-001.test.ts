import { beforeEach, describe, expect, test } from 'vitest';
import { build, type TestApp } from '../test/app';
import { createJob, getJob, statuses, webApp } from '../test/jobs';
import { FAST, REAL, waitForState, waitForStatus } from '../test/provider';
import { seedPayloads } from '../../contract/fixtures/seed-payloads';
import type { JobSpecification } from '../../contract/jobs';
import { probeIsolation } from './local/network';

// Seed 001, "Connecting two jobs together", end to end over HTTP: the seed's own create bodies, real jobs on the
// built-in provider (processes, and as root their own namespaces: real-jobs.test.ts checks the network itself), its
// firewall view, and the status lines both jobs show.
const [createDatabase, createWebApp] = seedPayloads().filter((c) => c.seed.startsWith('001') && c.call === 'jobs.create');
const databaseBody = createDatabase!.body as { items: JobSpecification[] };
const webAppBody = createWebApp!.body as { items: JobSpecification[] };

/** The seed's web-app body, pointed at our database job instead of the seed's 4101. */
function webAppConnectedTo(databaseId: string) {
  const body = structuredClone(webAppBody);
  body.items[0]!.resources = body.items[0]!.resources!.map((r) => (r.type === 'peer' ? { ...r, jobId: databaseId } : r));
  return body;
}

// As root the firewall is enforced in each job's own namespace; elsewhere the provider says it is not.
const isolation = (await probeIsolation()).isolated ? 'network-namespace' : 'none';

describe('seed 001: connecting two jobs', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await build(REAL);
  });

  test('the web app connects to the running database as "database"; only it may reach the database; ending the database tells the web app', async () => {
    const created = await t.call('POST', '/api/jobs', t.tokens.user, databaseBody);
    expect(created.statusCode, created.body).toBe(200);
    const databaseId = (created.json() as { responses: { id: string }[] }).responses[0]!.id;

    const database = await waitForState(t, databaseId, 'RUNNING');
    expect(database.status.startedAt).toEqual(expect.any(Number));
    // The app's default allocation (8 h) is the one the provider runs with.
    expect(database.status.expiresAt).toBe(database.status.startedAt! + 8 * 3600 * 1000);
    expect(statuses(database)).toContain("Started on machine type 'example-compute' with a time allocation of 8 h");

    // Deny by default: nothing may connect to the database yet.
    const closed = await t.call('GET', `/api/jobs/firewall?id=${databaseId}`, t.tokens.user);
    expect(closed.statusCode).toBe(200);
    expect(closed.json()).toEqual({ jobId: databaseId, allowsFrom: [], resolves: [], isolation });

    // An unrelated job on the same provider, so "nothing else" is tested against a real neighbour.
    const bystanderId = await createJob(t, webApp({ name: 'bystander' }));

    const connected = await t.call('POST', '/api/jobs', t.tokens.user, webAppConnectedTo(databaseId));
    expect(connected.statusCode, connected.body).toBe(200);
    const webId = (connected.json() as { responses: { id: string }[] }).responses[0]!.id;

    const web = await waitForStatus(t, webId, new RegExp(`^Connected to job ${databaseId} as 'database'$`));
    expect(web.status.state).toBe('RUNNING');
    await waitForState(t, bystanderId, 'RUNNING');

    const databaseFirewall = await t.call('GET', `/api/jobs/firewall?id=${databaseId}`, t.tokens.user);
    expect(databaseFirewall.statusCode).toBe(200);
    expect(databaseFirewall.json()).toEqual({ jobId: databaseId, allowsFrom: [{ jobId: webId, hostname: 'database' }], resolves: [], isolation });

    const webFirewall = await t.call('GET', `/api/jobs/firewall?id=${webId}`, t.tokens.user);
    expect(webFirewall.json()).toEqual({ jobId: webId, allowsFrom: [], resolves: [{ hostname: 'database', jobId: databaseId }], isolation });
    const bystanderFirewall = await t.call('GET', `/api/jobs/firewall?id=${bystanderId}`, t.tokens.user);
    expect(bystanderFirewall.json()).toEqual({ jobId: bystanderId, allowsFrom: [], resolves: [], isolation });

    // The reverse-peer extension lists the web app as connected to the database.
    const reverse = await t.call('GET', `/api/jobs/browseConnected?id=${databaseId}`, t.tokens.user);
    expect(reverse.statusCode).toBe(200);
    expect((reverse.json() as { items: { hostname: string; job: { id: string } }[] }).items.map((i) => [i.hostname, i.job.id])).toEqual([
      ['database', webId],
    ]);

    const terminated = await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id: databaseId }] });
    expect(terminated.statusCode, terminated.body).toBe(200);

    const ended = await waitForState(t, databaseId, 'SUCCESS');
    expect(ended.updates.at(-1)).toMatchObject({ state: 'SUCCESS', status: 'Terminated by user' });
    const told = await waitForStatus(t, webId, /^Peer 'database' is gone/);
    expect(statuses(told).at(-1)).toBe(`Peer 'database' is gone: job ${databaseId} has ended (SUCCESS), so 'database' no longer resolves`);
    expect(told.status.state).toBe('RUNNING');
    // The bystander was never linked to the database, so it hears nothing of it.
    expect(statuses(await getJob(t, bystanderId)).some((s) => s.includes('database'))).toBe(false);

    // With the database gone, no rule remains in either direction.
    expect((await t.call('GET', `/api/jobs/firewall?id=${databaseId}`, t.tokens.user)).json()).toEqual({
      jobId: databaseId,
      allowsFrom: [],
      resolves: [],
      isolation,
    });
    expect((await t.call('GET', `/api/jobs/firewall?id=${webId}`, t.tokens.user)).json()).toEqual({ jobId: webId, allowsFrom: [], resolves: [], isolation });
  });

  test('a web app queued behind a database that ends before it starts says it could not connect', async () => {
    const databaseId = (await t.call('POST', '/api/jobs', t.tokens.user, databaseBody)).json().responses[0].id as string;
    await waitForState(t, databaseId, 'RUNNING');
    const webId = (await t.call('POST', '/api/jobs', t.tokens.user, webAppConnectedTo(databaseId))).json().responses[0].id as string;
    await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id: databaseId }] });
    const web = await waitForStatus(t, webId, /^(Could not connect to job|Peer 'database' is gone)/);
    expect(web.status.state).toBe('RUNNING');
    const lines = statuses(web);
    // Whichever came first, the web app's timeline says what happened to its peer.
    expect(
      lines.includes(`Could not connect to job ${databaseId} as 'database': that job is no longer running`) ||
        (lines.includes(`Connected to job ${databaseId} as 'database'`) && lines.some((l) => l.startsWith("Peer 'database' is gone"))),
      lines.join('\n'),
    ).toBe(true);
  });

  test('a database ending just as its web app starts: the web app always hears of it', async () => {
    // Fifteen pairs, each terminate aimed at the moment its web app starts. On PostgreSQL, two transactions could
    // each read the other's job as it was before, and the web app would hear neither "connected, then gone" nor
    // "could not connect"; the provider's changes are serialised so that it cannot.
    // The race is in the provider's own state, so the simulator's timing can aim at it (fifteen real databases would
    // only make the aim worse).
    await t.close();
    t = await build({ ...FAST, exampleQueueDelayMs: 40, exampleTickMs: 5 });
    const databases: string[] = [];
    for (let i = 0; i < 15; i++) {
      const body = structuredClone(databaseBody);
      body.items[0]!.parameters = { dataStore: { type: 'file', path: `/race/${i}`, readOnly: false } };
      databases.push((await t.call('POST', '/api/jobs', t.tokens.user, body)).json().responses[0].id as string);
    }
    for (const id of databases) await waitForState(t, id, 'RUNNING');
    const webApps = await Promise.all(
      databases.map(async (databaseId, i) => {
        const webId = (await t.call('POST', '/api/jobs', t.tokens.user, webAppConnectedTo(databaseId))).json().responses[0].id as string;
        // Setup, not an assertion: spread the terminates around the web apps' start (queue delay 40 ms).
        await new Promise((resolve) => setTimeout(resolve, 25 + (i % 6) * 5));
        await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id: databaseId }] });
        return webId;
      }),
    );
    for (const webId of webApps) {
      const web = await waitForStatus(t, webId, /^(Could not connect to job|Peer 'database' is gone)/);
      expect(web.status.state).toBe('RUNNING');
    }
  });

  test("the firewall view is the owner's only: another user's job is 404, and bad input names the field", async () => {
    const databaseId = (await t.call('POST', '/api/jobs', t.tokens.user, databaseBody)).json().responses[0].id as string;
    const other = await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'mallory' });
    const mallory = (other.json() as { token: string }).token;

    const foreign = await t.call('GET', `/api/jobs/firewall?id=${databaseId}`, mallory);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toEqual({ why: `id: no job '${databaseId}'`, errorCode: null });

    const missing = await t.call('GET', '/api/jobs/firewall', t.tokens.user);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().why).toMatch(/^id: /);

    const unknown = await t.call('GET', '/api/jobs/firewall?id=999999', t.tokens.user);
    expect(unknown.statusCode).toBe(404);

    const extra = await t.call('GET', `/api/jobs/firewall?id=${databaseId}&verbose=true`, t.tokens.user);
    expect(extra.statusCode).toBe(400);
    expect(extra.json().why).toMatch(/verbose/);

    expect((await t.call('GET', `/api/jobs/firewall?id=${databaseId}`, null)).statusCode).toBe(401);
    expect((await t.call('GET', `/api/jobs/firewall?id=${databaseId}`, t.tokens.ucloud)).statusCode).toBe(403);
  });
});
