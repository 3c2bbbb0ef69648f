import http from 'node:http';
import type { lookup as dnsLookup } from 'node:dns';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { sharedApp, type TestApp } from '../test/app';
import { batch, createJob, terminate, webApp } from '../test/jobs';
import { FAST, REAL, waitForState } from '../test/provider';
import type { JobsOpenInteractiveSessionResponse } from '../../contract/jobs';
import { COOKIE } from './proxy';

/*
 * Job interfaces through Jobdeck's proxy: over real HTTP on a listening server, each request addressed to the job's
 * own host `job-<id>.localhost` exactly as a browser sends it (the name resolved to 127.0.0.1 as browsers do).
 */

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Resolves every name to the server's loopback address, as browsers do for `*.localhost`. */
const lookup = ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) =>
  options.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as unknown as typeof dnsLookup;

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, lookup, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** The cookie a grant redirect sets, as the browser would send it back. */
const cookieOf = (answer: Answer) => String(answer.headers['set-cookie']?.[0] ?? '').split(';', 1)[0]!;

async function listen(t: TestApp): Promise<number> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  return (t.app.server.address() as AddressInfo).port;
}

async function openSession(t: TestApp, id: string, token = t.tokens.user) {
  const response = await t.call('POST', '/api/jobs/interactiveSession', token, { items: [{ id, rank: 0, sessionType: 'WEB' }] });
  return response;
}

async function grantUrl(t: TestApp, id: string): Promise<string> {
  const response = await openSession(t, id);
  expect(response.statusCode, response.body).toBe(200);
  return (response.json() as JobsOpenInteractiveSessionResponse).responses[0]!.session.redirectClientTo;
}

/** Opens the interface as a browser would: the grant URL, then the cookie it sets. */
async function signedIn(t: TestApp, id: string): Promise<{ origin: string; cookie: string }> {
  const url = await grantUrl(t, id);
  const answer = await get(url);
  expect(answer.status).toBe(303);
  return { origin: new URL(url).origin, cookie: cookieOf(answer) };
}

describe('job interfaces: grants, cookies and the proxy (simulated jobs, a recording app behind them)', () => {
  const t = sharedApp({ ...FAST, exampleImagePull: false });
  let port: number;
  let upstream: http.Server;
  const seen: http.IncomingHttpHeaders[] = [];
  /** The upgrade requests that reached the app's WebSocket server: exactly what the app saw. */
  const upgrades: http.IncomingHttpHeaders[] = [];
  let wss: WebSocketServer;

  beforeAll(async () => {
    // The app behind the proxy: records what reaches it, and sets a cookie of its own (and tries Jobdeck's).
    upstream = http.createServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('set-cookie', ['app=1; Path=/', `${COOKIE}=forged; Path=/`]);
      res.setHeader('content-type', 'text/plain');
      res.end(`app says hello at ${req.url}`);
    });
    // …and echoes on WebSockets, recording each upgrade's headers.
    wss = new WebSocketServer({ server: upstream });
    wss.on('connection', (socket, req) => {
      upgrades.push(req.headers);
      socket.on('message', (data) => socket.send(`echo ${String(data)}`));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    t.parts.interfaces!.resolveTarget = async () => ({ url: `http://127.0.0.1:${upstreamPort}` });
    port = await listen(t);
  });
  afterAll(async () => {
    for (const client of wss.clients) client.terminate();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });
  afterEach(() => {
    seen.length = 0;
    upgrades.length = 0;
  });

  /** A WebSocket to the job's host through Jobdeck, open (or the status of its refused upgrade). */
  async function openSocket(id: string, headers: Record<string, string>): Promise<WebSocket> {
    const ws = new WebSocket(`ws://job-${id}.localhost:${port}/ws`, { lookup, headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    return ws;
  }

  it("opens a running web app's interface: a grant on the job's own origin becomes a host-only HttpOnly cookie", async () => {
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const response = await openSession(t, id);
    expect(response.statusCode, response.body).toBe(200);
    const { responses } = response.json() as JobsOpenInteractiveSessionResponse;
    expect(responses[0]).toMatchObject({
      providerDomain: `http://job-${id}.localhost:${port}`,
      providerId: 'example',
      session: { type: 'web', jobId: id, rank: 0 },
    });
    const url = new URL(responses[0]!.session.redirectClientTo);
    expect(url.origin).toBe(`http://job-${id}.localhost:${port}`);
    expect(url.pathname).toBe('/_jobdeck/grant');
    expect(url.searchParams.get('g')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(responses[0]!.session.expiresAt - Date.now()).toBeGreaterThan(50_000);
    expect(responses[0]!.session.expiresAt - Date.now()).toBeLessThanOrEqual(60_000);
    // Only its hash is stored.
    const rows = await t.db.query<{ hash: string }>(`SELECT hash FROM interface_grants WHERE job_id = $1`, [Number(id)]);
    expect(rows.map((r) => r.hash)).not.toContain(url.searchParams.get('g'));

    const exchange = await get(url.href);
    expect(exchange.status).toBe(303);
    expect(exchange.headers.location).toBe('/');
    const setCookie = String(exchange.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax; Max-Age=\\d+$`));
    expect(setCookie).not.toMatch(/Domain=/i);
    expect(seen).toHaveLength(0);

    const page = await get(`${url.origin}/some/page?x=1`, { cookie: cookieOf(exchange) });
    expect(page.status).toBe(200);
    expect(page.body).toBe('app says hello at /some/page?x=1');
  });

  it('lets a grant work once only', async () => {
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const url = await grantUrl(t, id);
    expect((await get(url)).status).toBe(303);
    const again = await get(url);
    expect(again.status).toBe(401);
    expect(again.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(again.body).toContain('This link has already been used or has expired');
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('answers a grant link without a usable grant with the same page as a used one', async () => {
    for (const query of ['', '?g=', `?g=${'x'.repeat(101)}`, '?g=a&g=b', '?other=1']) {
      const answer = await get(`http://job-1.localhost:${port}/_jobdeck/grant${query}`);
      expect(answer.status, query).toBe(401);
      expect(answer.headers['content-type'], query).toBe('text/html; charset=utf-8');
      expect(answer.body, query).toContain('This link has already been used or has expired');
      expect(answer.headers['set-cookie'], query).toBeUndefined();
    }
  });

  it('refuses an expired grant, and a grant carried to another job’s host', async () => {
    const id = await createJob(t, webApp());
    const other = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    await waitForState(t, other, 'RUNNING');
    const url = new URL(await grantUrl(t, id));
    await t.db.query(`UPDATE interface_grants SET expires_at = $1`, [Date.now() - 1]);
    const expired = await get(url.href);
    expect(expired.status).toBe(401);
    expect(expired.body).toContain('expired');

    const fresh = new URL(await grantUrl(t, id));
    fresh.hostname = `job-${other}.localhost`;
    const elsewhere = await get(fresh.href);
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers['set-cookie']).toBeUndefined();
    // …and it was spent by the attempt.
    fresh.hostname = `job-${id}.localhost`;
    expect((await get(fresh.href)).status).toBe(401);
  });

  it("answers another user's job as a missing one (404), and never makes a grant for it", async () => {
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const intruder = (await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'intruder' })).json().token as string;
    const theirs = await openSession(t, id, intruder);
    const missing = await openSession(t, '999999', intruder);
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json()).toEqual({ ...missing.json(), why: missing.json().why.replace('999999', id) });
    expect(theirs.json().why).toMatch(/^items\[0\]\.id: no job/);
    const grants = await t.db.query<{ count: string }>(`SELECT count(*) AS count FROM interface_grants WHERE job_id = $1`, [Number(id)]);
    expect(Number(grants[0]!.count)).toBe(0);
    // Their own cookie for their own job means nothing on this job's host.
    const mine = await createJob(t, webApp(), intruder);
    await waitForState(t, mine, 'RUNNING', intruder);
    const url = (await openSession(t, mine, intruder)).json().responses[0].session.redirectClientTo as string;
    const cookie = cookieOf(await get(url));
    const across = await get(`http://job-${id}.localhost:${port}/`, { cookie });
    expect(across.status).toBe(401);
    expect(seen).toHaveLength(0);
  });

  it('shows a browser without a session a 401 page, never the app, for any path and for a WebSocket', async () => {
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    for (const path of ['/', '/api/jobs/browse', '/_jobdeck/other', '/ws']) {
      const answer = await get(`http://job-${id}.localhost:${port}${path}`, { cookie: `${COOKIE}=not-a-session; app=1` });
      expect(answer.status, path).toBe(401);
      expect(answer.body).toContain('Open this interface from Jobdeck');
      expect(answer.headers['cache-control']).toBe('no-store');
    }
    const unknownJob = await get(`http://job-424242.localhost:${port}/`);
    expect(unknownJob.status).toBe(401);
    const ws = new WebSocket(`ws://job-${id}.localhost:${port}/ws`, { lookup });
    const refused = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(refused).toBe(401);
    expect(seen).toHaveLength(0);
  });

  it("never passes Jobdeck's cookie or an Authorization header to the app, and never lets the app set Jobdeck's cookie", async () => {
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const { origin, cookie } = await signedIn(t, id);
    const answer = await get(`${origin}/`, { cookie: `theme=dark; ${cookie}; app=1`, authorization: `Bearer ${t.tokens.user}` });
    expect(answer.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.cookie).toBe('theme=dark; app=1');
    expect(seen[0]!.authorization).toBeUndefined();
    expect(JSON.stringify(seen[0])).not.toContain(cookie.split('=')[1]);
    expect(JSON.stringify(seen[0])).not.toContain(t.tokens.user);
    expect(answer.headers['set-cookie']).toEqual(['app=1; Path=/']);

    // With Jobdeck's cookie alone, the app gets no Cookie header at all.
    await get(`${origin}/`, { cookie });
    expect(seen[1]!.cookie).toBeUndefined();
  });

  it("passes a WebSocket to the app without Jobdeck's cookie or an Authorization header", async () => {
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const { cookie } = await signedIn(t, id);
    const ws = await openSocket(id, { cookie: `theme=dark; ${cookie}; app=1`, authorization: `Bearer ${t.tokens.user}` });
    const echo = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('hi');
    expect(await echo).toBe('echo hi');
    ws.close();
    // What really reached the app's WebSocket server: its own cookies only.
    expect(upgrades).toHaveLength(1);
    expect(upgrades[0]!.cookie).toBe('theme=dark; app=1');
    expect(upgrades[0]!.authorization).toBeUndefined();
    expect(JSON.stringify(upgrades[0])).not.toContain(cookie.split('=')[1]);
    expect(JSON.stringify(upgrades[0])).not.toContain(t.tokens.user);
  });

  it("stops a revoked owner's interface at once: requests get the sign-in page and open WebSockets close", async () => {
    const owner = (await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'revokee' })).json().token as string;
    const id = await createJob(t, webApp(), owner);
    await waitForState(t, id, 'RUNNING', owner);
    const url = (await openSession(t, id, owner)).json().responses[0].session.redirectClientTo as string;
    const cookie = cookieOf(await get(url));
    const origin = new URL(url).origin;
    // Twice, so the second answer comes from the proxy's memory, not the database.
    expect((await get(`${origin}/`, { cookie })).status).toBe(200);
    expect((await get(`${origin}/`, { cookie })).status).toBe(200);
    const ws = await openSocket(id, { cookie });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    const revoked = await t.call('POST', '/api/admin/tokens/revoke', t.tokens.admin, { username: 'revokee' });
    expect(revoked.statusCode, revoked.body).toBe(200);
    // The revocation reaches the proxy by the database's NOTIFY; it is there within a moment, not a cache's lifetime.
    await expect.poll(async () => (await get(`${origin}/`, { cookie })).status, { timeout: 5_000, interval: 20 }).toBe(401);
    expect(await closed).toBeGreaterThan(0);
    // …and so does the proxy's own socket to the app.
    await expect.poll(() => wss.clients.size, { timeout: 5_000, interval: 20 }).toBe(0);
    const rows = await t.db.query(`SELECT 1 FROM interface_sessions WHERE owner = 'revokee'`);
    expect(rows).toHaveLength(0);
    // The app saw the first two requests only.
    expect(seen).toHaveLength(2);
  });

  it("says the job has ended once it has, and stops passing requests to the app", async () => {
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const { origin, cookie } = await signedIn(t, id);
    expect((await get(`${origin}/`, { cookie })).status).toBe(200);
    // The app behind it stays up (a simulated job has no process): Jobdeck itself closes the socket.
    const ws = await openSocket(id, { cookie });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await terminate(t, id);
    await waitForState(t, id, 'SUCCESS');
    expect(await closed).toBeGreaterThan(0);
    const ended = await get(`${origin}/`, { cookie });
    expect(ended.status).toBe(410);
    expect(ended.body).toContain('This job has ended');
    expect(ended.body).toContain(`Job #${id} has ended (success)`);
    expect(seen).toHaveLength(1);
    // Nor can it be opened again.
    const again = await openSession(t, id);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ errorCode: 'JOB_NOT_RUNNING' });
  });

  it('refuses sessions for a job without a web interface, and bad requests, naming the field', async () => {
    const id = await createJob(t, batch());
    await waitForState(t, id, 'RUNNING');
    const noWeb = await openSession(t, id);
    expect(noWeb.statusCode).toBe(400);
    expect(noWeb.json().why).toBe(`items[0].id: job ${id} runs acme-batch 1.0.0, which has no web interface`);
    const web = await createJob(t, webApp());
    await waitForState(t, web, 'RUNNING');
    const vnc = await t.call('POST', '/api/jobs/interactiveSession', t.tokens.user, { items: [{ id: web, rank: 0, sessionType: 'VNC' }] });
    expect(vnc.statusCode).toBe(400);
    expect(vnc.json().why).toMatch(/^items\[0\]\.sessionType: only WEB/);
    const rank = await t.call('POST', '/api/jobs/interactiveSession', t.tokens.user, { items: [{ id: web, rank: 1, sessionType: 'WEB' }] });
    expect(rank.json().why).toMatch(/^items\[0\]\.rank/);
    const shape = await t.call('POST', '/api/jobs/interactiveSession', t.tokens.user, { items: [{ id: web }] });
    expect(shape.statusCode).toBe(400);
    expect(shape.json().why).toMatch(/^items\[0\]\.(rank|sessionType)/);
    expect((await t.call('POST', '/api/jobs/interactiveSession', null, { items: [{ id: web, rank: 0, sessionType: 'WEB' }] })).statusCode).toBe(401);
    expect((await t.call('POST', '/api/jobs/interactiveSession', t.tokens.ucloud, { items: [{ id: web, rank: 0, sessionType: 'WEB' }] })).statusCode).toBe(403);
  });

  it("leaves the dashboard's own host alone: the API and the SPA are not served on a job's host, nor job content on the dashboard's", async () => {
    const dashboard = await get(`http://127.0.0.1:${port}/api/jobs/browse`, { authorization: `Bearer ${t.tokens.user}` });
    expect(dashboard.status).toBe(200);
    const grantOnDashboard = await get(`http://127.0.0.1:${port}/_jobdeck/grant?g=x`);
    expect(grantOnDashboard.status).toBe(404);
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const onJobHost = await get(`http://job-${id}.localhost:${port}/api/jobs/browse`, { authorization: `Bearer ${t.tokens.user}` });
    expect(onJobHost.status).toBe(401);
    expect(onJobHost.body).not.toContain('"items"');
  });
});

describe('job interfaces of real jobs (acme-web-app running as a process)', () => {
  let port: number;
  const logLines: string[] = [];

  // Request logging on (info), into memory, to see what a log would hold.
  const stream = { write: (line: string) => void logLines.push(line) };
  const t = sharedApp({ ...REAL }, { logger: { level: 'info', stream } });
  beforeAll(async () => {
    port = await listen(t);
  });

  it("shows the real app's page and passes its WebSocket through, both ways, with the owner's cookie only", async () => {
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const url = await grantUrl(t, id);
    const exchange = await get(url);
    expect(exchange.status).toBe(303);
    const cookie = cookieOf(exchange);
    const origin = new URL(url).origin;
    // The app may take a moment to listen after its job is RUNNING.
    await expect.poll(async () => (await get(`${origin}/health`, { cookie })).body, { timeout: 15_000, interval: 100 }).toBe('ok\n');
    const page = await get(`${origin}/`, { cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<h1>Acme web app</h1>');

    const ws = new WebSocket(`ws://job-${id}.localhost:${port}/ws`, { lookup, headers: { cookie } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    const echoes: string[] = [];
    ws.on('message', (data) => echoes.push(String(data)));
    ws.send('hello through Jobdeck');
    ws.send(JSON.stringify({ n: 2 }));
    await expect.poll(() => echoes, { timeout: 10_000, interval: 20 }).toEqual(['hello through Jobdeck', '{"n":2}']);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    // The job ends: the socket goes with it, and the interface says so.
    await terminate(t, id);
    await waitForState(t, id, 'SUCCESS');
    expect(await closed).toBeGreaterThan(0);
    const ended = await get(`${origin}/`, { cookie });
    expect(ended.status).toBe(410);
    expect(ended.body).toContain('This job has ended');

    // The grant was in a query string; no log line holds it (nor the cookie), though the request was logged.
    const grant = new URL(url).searchParams.get('g')!;
    const log = logLines.join('');
    expect(log).toContain('"path":"/_jobdeck/grant"');
    expect(log).not.toContain(grant);
    expect(log).not.toContain(cookie.split('=')[1]);
  });
});
