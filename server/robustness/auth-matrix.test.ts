import { beforeAll, describe, expect, it, vi } from 'vitest';
import { sharedApp } from '../test/app';
import { control, createJob, databaseSpec, update } from '../test/jobs';
import { TestSocket } from '../test/socket';

/*
 * Every endpoint and every socket call against every caller, checked against the status contract.md implies.
 * The object-specific calls use user A's objects, so user B must see exactly what a missing object looks like.
 * The matrix is printed; any cell that differs fails the test.
 */

const CALLERS = ['none', 'revoked', 'userA', 'userB', 'ucloud', 'example', 'provider2', 'admin'] as const;
type Caller = (typeof CALLERS)[number];
type Expect = Partial<Record<Caller, number>> & { rest: number };

interface Cell {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  body?: unknown;
}

interface Row {
  name: string;
  /** Builds the request for one caller (fresh objects where a success would use one up). */
  request: (caller: Caller) => Promise<Cell> | Cell;
  expect: Expect;
}

const tokens = {} as Record<Caller, string | null>;
let jobA: string;
let jobB: string;
let jobAFull: unknown;
let taskA: string;
let n = 0;

const users = { userA: 200, userB: 200, rest: 403 } as const;
const ownerOnly = { userA: 200, userB: 404, rest: 403 } as const;
const unauth = { none: 401, revoked: 401 } as const;

async function freshJob(owner: 'userA' = 'userA'): Promise<string> {
  const id = await createJob(t, { ...databaseSpec(`/matrix/${n++}`), allowDuplicateJob: true }, tokens[owner]!);
  await control(t, id, { state: 'RUNNING' });
  // The core tells the provider over HTTP after answering; wait until the provider knows the job.
  await vi.waitFor(async () => {
    const known = await t.call('GET', `/ucloud/example/jobs/retrieve?id=${id}`, t.tokens.ucloud);
    if (known.statusCode !== 200) throw new Error(`provider does not know job ${id} yet`);
  }, { timeout: 10_000, interval: 50 });
  return id;
}
async function freshTask(): Promise<string> {
  const response = await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: 'matrix', owner: 'user', initialStatus: null });
  return response.json().jobId;
}
const retrieveJob = async (id: string) => (await t.call('GET', `/api/jobs/retrieve?id=${id}`, t.tokens.user)).json();

const rows: Row[] = [
  { name: 'GET /api/auth/whoami', request: () => ({ method: 'GET', url: '/api/auth/whoami' }), expect: { ...unauth, rest: 200 } },
  { name: 'POST /api/auth/sessions', request: () => ({ method: 'POST', url: '/api/auth/sessions', body: {} }), expect: { ...unauth, rest: 200 } },
  // Every caller here holds an access token, which sign-out does not end (400); sessions: server/auth/sessions.test.ts.
  { name: 'POST /api/auth/sessions/end', request: () => ({ method: 'POST', url: '/api/auth/sessions/end', body: {} }), expect: { ...unauth, rest: 400 } },
  { name: 'GET /api/hpc/apps/browse', request: () => ({ method: 'GET', url: '/api/hpc/apps/browse' }), expect: { ...unauth, ...users } },
  { name: 'GET /api/hpc/apps/retrieve', request: () => ({ method: 'GET', url: '/api/hpc/apps/retrieve?name=acme-batch&version=1.0.0' }), expect: { ...unauth, ...users } },
  { name: 'GET /api/products/browse', request: () => ({ method: 'GET', url: '/api/products/browse' }), expect: { ...unauth, ...users } },
  { name: 'POST /api/jobs', request: () => ({ method: 'POST', url: '/api/jobs', body: { items: [{ ...databaseSpec(`/matrix/c${n++}`), allowDuplicateJob: true }] } }), expect: { ...unauth, ...users } },
  { name: 'GET /api/jobs/browse', request: () => ({ method: 'GET', url: '/api/jobs/browse' }), expect: { ...unauth, ...users } },
  { name: 'GET /api/jobs/retrieve', request: () => ({ method: 'GET', url: `/api/jobs/retrieve?id=${jobA}` }), expect: { ...unauth, ...ownerOnly } },
  { name: 'GET /api/jobs/browseConnected', request: () => ({ method: 'GET', url: `/api/jobs/browseConnected?id=${jobA}` }), expect: { ...unauth, ...ownerOnly } },
  { name: 'GET /api/jobs/firewall', request: () => ({ method: 'GET', url: `/api/jobs/firewall?id=${jobA}` }), expect: { ...unauth, ...ownerOnly } },
  { name: 'POST /api/jobs/terminate', request: async () => ({ method: 'POST', url: '/api/jobs/terminate', body: { items: [{ id: await freshJob() }] } }), expect: { ...unauth, ...ownerOnly } },
  { name: 'POST /api/jobs/extend', request: () => ({ method: 'POST', url: '/api/jobs/extend', body: { items: [{ jobId: jobA, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] } }), expect: { ...unauth, ...ownerOnly } },
  { name: 'POST /api/jobs/control/update', request: () => ({ method: 'POST', url: '/api/jobs/control/update', body: { items: [{ id: jobA, update: update({ status: 'matrix' }) }] } }), expect: { ...unauth, example: 200, provider2: 404, rest: 403 } },
  { name: 'GET /api/jobs/control/browse', request: () => ({ method: 'GET', url: '/api/jobs/control/browse' }), expect: { ...unauth, example: 200, provider2: 200, rest: 403 } },
  { name: 'PUT /api/tasks', request: () => ({ method: 'PUT', url: '/api/tasks', body: { title: 'matrix', owner: 'user', initialStatus: null } }), expect: { ...unauth, ucloud: 200, example: 200, provider2: 400, rest: 403 } },
  { name: 'POST /api/tasks/postStatus', request: () => ({ method: 'POST', url: '/api/tasks/postStatus', body: { update: { jobId: taskA, messageToAppend: 'matrix' } } }), expect: { ...unauth, ucloud: 200, example: 404, provider2: 404, rest: 403 } },
  { name: 'POST /api/tasks/markAsComplete', request: async () => ({ method: 'POST', url: '/api/tasks/markAsComplete', body: { id: await freshTask() } }), expect: { ...unauth, ucloud: 200, example: 404, provider2: 404, rest: 403 } },
  { name: 'GET /api/tasks', request: () => ({ method: 'GET', url: '/api/tasks' }), expect: { ...unauth, ...users } },
  { name: 'GET /api/tasks/retrieve', request: () => ({ method: 'GET', url: `/api/tasks/retrieve?id=${taskA}` }), expect: { ...unauth, ...ownerOnly } },
  { name: 'POST /ucloud/example/jobs', request: async () => ({ method: 'POST', url: '/ucloud/example/jobs', body: { items: [await retrieveJob(await freshJob())] } }), expect: { ...unauth, ucloud: 200, rest: 403 } },
  { name: 'POST /ucloud/example/jobs/terminate', request: async () => ({ method: 'POST', url: '/ucloud/example/jobs/terminate', body: { items: [await retrieveJob(await freshJob())] } }), expect: { ...unauth, ucloud: 200, rest: 403 } },
  { name: 'POST /ucloud/example/jobs/extend', request: () => ({ method: 'POST', url: '/ucloud/example/jobs/extend', body: { items: [{ job: jobAFull, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] } }), expect: { ...unauth, ucloud: 200, rest: 403 } },
  { name: 'POST /ucloud/example/jobs/verify', request: () => ({ method: 'POST', url: '/ucloud/example/jobs/verify', body: { items: [jobAFull] } }), expect: { ...unauth, ucloud: 200, rest: 403 } },
  { name: 'GET /ucloud/example/jobs/firewall', request: () => ({ method: 'GET', url: `/ucloud/example/jobs/firewall?id=${jobA}` }), expect: { ...unauth, ucloud: 200, admin: 200, rest: 403 } },
  { name: 'GET /ucloud/example/jobs/retrieve', request: () => ({ method: 'GET', url: `/ucloud/example/jobs/retrieve?id=${jobA}` }), expect: { ...unauth, ucloud: 200, admin: 200, rest: 403 } },
  { name: 'POST /ucloud/example/admin/forget', request: async () => ({ method: 'POST', url: '/ucloud/example/admin/forget', body: { id: await freshJob() } }), expect: { ...unauth, admin: 200, rest: 403 } },
  { name: 'POST /api/admin/users', request: () => ({ method: 'POST', url: '/api/admin/users', body: { username: `matrix-${n++}` } }), expect: { ...unauth, admin: 200, rest: 403 } },
  { name: 'POST /api/admin/tokens/issue', request: () => ({ method: 'POST', url: '/api/admin/tokens/issue', body: { username: 'bystander' } }), expect: { ...unauth, admin: 200, rest: 403 } },
  { name: 'POST /api/admin/tokens/revoke', request: () => ({ method: 'POST', url: '/api/admin/tokens/revoke', body: { username: 'bystander' } }), expect: { ...unauth, admin: 200, rest: 403 } },
];

interface SocketRow {
  name: string;
  path: string;
  call: string;
  payload: () => unknown;
  expect: Expect;
}
const OPEN = 200; // the stream stays open (no response frame)
const socketRows: SocketRow[] = [
  { name: 'ws tasks.listen', path: '/api/tasks', call: 'tasks.listen', payload: () => ({}), expect: { ...unauth, userA: OPEN, userB: OPEN, rest: 403 } },
  { name: 'ws jobs.listen', path: '/api/jobs', call: 'jobs.listen', payload: () => ({}), expect: { ...unauth, userA: OPEN, userB: OPEN, rest: 403 } },
  { name: 'ws jobs.follow', path: '/api/jobs', call: 'jobs.follow', payload: () => ({ id: jobA }), expect: { ...unauth, userA: OPEN, userB: 404, rest: 403 } },
];

// The matrix opens a socket per (call, caller) and is about roles, not limits: the per-token socket cap
// (server/live/socket-limits.test.ts tests it) would otherwise answer 429 once one token has 16 open.
const t = sharedApp({ wsMaxSocketsPerToken: 10_000 });
beforeAll(async () => {
  const add = async (username: string, role = 'USER') =>
    (await t.call('POST', '/api/admin/users', t.tokens.admin, { username, role })).json().token as string;
  tokens.none = null;
  tokens.userA = t.tokens.user;
  tokens.userB = await add('user-b');
  tokens.ucloud = t.tokens.ucloud;
  tokens.example = t.tokens.provider;
  tokens.provider2 = await add('provider-two', 'PROVIDER');
  tokens.admin = t.tokens.admin;
  tokens.revoked = await add('revoked-user');
  await t.call('POST', '/api/admin/tokens/revoke', t.tokens.admin, { username: 'revoked-user' });
  await add('bystander');
  jobA = await freshJob();
  jobB = await createJob(t, databaseSpec('/matrix/b'), tokens.userB!);
  jobAFull = await retrieveJob(jobA);
  taskA = await freshTask();
});

const expected = (e: Expect, caller: Caller) => e[caller] ?? e.rest;

describe('authorisation matrix', () => {
  it('every endpoint and socket call answers every caller as the contract says', async () => {
    const mismatches: string[] = [];
    const table: string[] = [`${'endpoint'.padEnd(36)} ${CALLERS.map((c) => c.padEnd(9)).join(' ')}`];

    for (const row of rows) {
      const cells: string[] = [];
      for (const caller of CALLERS) {
        const { method, url, body } = await row.request(caller);
        const response = await t.call(method, url, tokens[caller], body);
        const want = expected(row.expect, caller);
        cells.push(`${response.statusCode}${response.statusCode === want ? ' ' : '!'}`.padEnd(9));
        if (response.statusCode !== want) mismatches.push(`${row.name} as ${caller}: ${response.statusCode} (${response.body.slice(0, 160)}), expected ${want}`);
        if (response.statusCode >= 400) {
          const json = response.json();
          if (typeof json.why !== 'string' || !('errorCode' in json)) mismatches.push(`${row.name} as ${caller}: error body is not {why, errorCode}`);
        }
      }
      table.push(`${row.name.padEnd(36)} ${cells.join(' ')}`);
    }

    for (const row of socketRows) {
      const cells: string[] = [];
      for (const caller of CALLERS) {
        const client = await TestSocket.inject(t.app, row.path);
        client.send({ call: row.call, streamId: 's', payload: row.payload(), ...(tokens[caller] ? { bearer: tokens[caller] } : {}) });
        // A second, always-valid stream on the same socket proves the first has been processed when it answers.
        client.call('tasks.listen', 'probe', {}, t.tokens.user);
        await client.sync(t.tokens.user);
        const response = client.on('s').find((f) => f.type === 'response');
        const got = response && response.type === 'response' ? response.status : OPEN;
        const want = expected(row.expect, caller);
        cells.push(`${got === OPEN ? 'open' : got}${got === want ? ' ' : '!'}`.padEnd(9));
        if (got !== want) mismatches.push(`${row.name} as ${caller}: ${got} ${JSON.stringify(response?.payload ?? null)}, expected ${want}`);
        client.ws.close();
      }
      table.push(`${row.name.padEnd(36)} ${cells.join(' ')}`);
    }

    console.log(`\nAuthorisation matrix (status per caller; '!' marks a cell that differs from the contract)\n${table.join('\n')}\n`);
    expect(mismatches).toEqual([]);
  });

  it("another user's object looks exactly like a missing one: same status and the same why", async () => {
    const missing = '987654321';
    const probes = [
      (id: string) => ({ method: 'GET' as const, url: `/api/jobs/retrieve?id=${id}` }),
      (id: string) => ({ method: 'GET' as const, url: `/api/jobs/browseConnected?id=${id}` }),
      (id: string) => ({ method: 'GET' as const, url: `/api/jobs/firewall?id=${id}` }),
      (id: string) => ({ method: 'POST' as const, url: '/api/jobs/terminate', body: { items: [{ id }] } }),
      (id: string) => ({ method: 'POST' as const, url: '/api/jobs/extend', body: { items: [{ jobId: id, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] } }),
      (id: string) => ({ method: 'POST' as const, url: '/api/jobs', body: { items: [{ application: { name: 'acme-web-app', version: '1.0.0' }, product: { id: 'example-compute', category: 'example-compute', provider: 'example' }, replicas: 1, allowDuplicateJob: true, resources: [{ type: 'peer', hostname: 'db', jobId: id }] }] } }),
    ];
    for (const probe of probes) {
      const foreign = probe(jobB);
      const absent = probe(missing);
      const a = await t.call(foreign.method, foreign.url, tokens.userA, 'body' in foreign ? foreign.body : undefined);
      const b = await t.call(absent.method, absent.url, tokens.userA, 'body' in absent ? absent.body : undefined);
      expect(a.statusCode, foreign.url).toBe(b.statusCode);
      expect(a.json().why.replaceAll(jobB, 'ID'), foreign.url).toBe(b.json().why.replaceAll(missing, 'ID'));
    }
    const foreignTask = await t.call('GET', `/api/tasks/retrieve?id=${taskA}`, tokens.userB);
    const absentTask = await t.call('GET', '/api/tasks/retrieve?id=00000000-0000-4000-8000-000000000000', tokens.userB);
    expect(foreignTask.statusCode).toBe(absentTask.statusCode);
    expect(foreignTask.json().why.replace(taskA, 'ID')).toBe(absentTask.json().why.replace('00000000-0000-4000-8000-000000000000', 'ID'));
  });
});
