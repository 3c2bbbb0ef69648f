import { beforeAll, describe, expect, it } from 'vitest';
import { sharedApp, build } from '../test/app';
import { TestSocket } from '../test/socket';

/*
 * The dashboard holds a session, not the access token. A session expires, and sign-out ends it
 * (its HTTP calls and its open streams) while the access token it came from, and the user's other sessions, go on.
 */

let url: string;
const HOUR = 3600_000;

// The ping is an hour away, so only the sign-out itself can end a stream in these tests.
const t = sharedApp({ sessionTtlMs: 12 * HOUR, wsPingIntervalMs: HOUR });
beforeAll(async () => {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  url = `ws://127.0.0.1:${(t.app.server.address() as { port: number }).port}/api/jobs`;
});

async function openSession(token: string) {
  const before = Date.now();
  const response = await t.call('POST', '/api/auth/sessions', token, {});
  return { response, before };
}

describe('POST /api/auth/sessions', () => {
  it('gives a new token that works, says when it ends, and is not the access token', async () => {
    const { response, before } = await openSession(t.tokens.user);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ username: 'user', role: 'USER' });
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(body.token).not.toBe(t.tokens.user);
    expect(body.expiresAt).toBeGreaterThanOrEqual(before + 12 * HOUR);
    expect(body.expiresAt).toBeLessThanOrEqual(Date.now() + 12 * HOUR);
    const whoami = await t.call('GET', '/api/auth/whoami', body.token);
    expect(whoami.json()).toEqual({ username: 'user', role: 'USER', sessionExpiresAt: body.expiresAt });
    // The access token itself has no end.
    expect((await t.call('GET', '/api/auth/whoami', t.tokens.user)).json()).toEqual({ username: 'user', role: 'USER' });
  });

  it('refuses to open a session from a session (a session cannot outlive itself)', async () => {
    const { response } = await openSession(t.tokens.user);
    const again = await t.call('POST', '/api/auth/sessions', response.json().token, {});
    expect(again.statusCode).toBe(400);
    expect(again.json().why).toMatch(/^Authorization: this is a session token/);
  });

  it('answers 401 without a valid token', async () => {
    expect((await t.call('POST', '/api/auth/sessions', 'not-a-token', {})).statusCode).toBe(401);
  });

  it('stores only the hash, marked as a session with its expiry', async () => {
    const { response } = await openSession(t.tokens.user);
    const { token, expiresAt } = response.json();
    const rows = await t.db.query<{ token_hash: string; kind: string; expires_at: string | number }>(
      `SELECT token_hash, kind, expires_at FROM tokens WHERE kind = 'session'`,
    );
    expect(rows.map((r) => r.token_hash)).not.toContain(token);
    expect(rows.some((r) => Number(r.expires_at) === expiresAt)).toBe(true);
  });
});

describe('an expired session', () => {
  it('answers 401 and is swept at the next sign-in', async () => {
    const short = await build({ sessionTtlMs: 1 });
    try {
      const session = (await short.call('POST', '/api/auth/sessions', short.tokens.user, {})).json();
      // 1 ms: whatever the machine's load, it has passed by the next request.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const response = await short.call('GET', '/api/jobs/browse', session.token);
      expect(response.statusCode).toBe(401);
      expect(response.json().why).toBe('The bearer token is unknown or has been revoked');
      await short.call('POST', '/api/auth/sessions', short.tokens.user, {});
      const rows = await short.db.query(`SELECT 1 FROM tokens WHERE kind = 'session' AND expires_at <= $1`, [Date.now()]);
      expect(rows.length).toBeLessThanOrEqual(1);
      expect((await short.call('GET', '/api/jobs/browse', short.tokens.user)).statusCode).toBe(200);
    } finally {
      await short.close();
    }
  });
});

describe('POST /api/auth/sessions/end (sign-out)', () => {
  it('ends that session at once, and only it: the access token and another session still work', async () => {
    const first = (await openSession(t.tokens.user)).response.json().token as string;
    const second = (await openSession(t.tokens.user)).response.json().token as string;
    // Cached by a first use, as a busy dashboard's token would be.
    expect((await t.call('GET', '/api/jobs/browse', first)).statusCode).toBe(200);
    const end = await t.call('POST', '/api/auth/sessions/end', first, {});
    expect(end.statusCode).toBe(200);
    expect(end.json()).toEqual({ ended: true });
    expect((await t.call('GET', '/api/jobs/browse', first)).statusCode).toBe(401);
    expect((await t.call('POST', '/api/auth/sessions/end', first, {})).statusCode).toBe(401);
    expect((await t.call('GET', '/api/jobs/browse', second)).statusCode).toBe(200);
    expect((await t.call('GET', '/api/jobs/browse', t.tokens.user)).statusCode).toBe(200);
  });

  it('does not end an access token, and says how to revoke one', async () => {
    const response = await t.call('POST', '/api/auth/sessions/end', t.tokens.user, {});
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(/^Authorization: this is an access token, not a session/);
    expect((await t.call('GET', '/api/jobs/browse', t.tokens.user)).statusCode).toBe(200);
  });

  it("ends the session's open streams at once; the same user's other streams go on", async () => {
    const ending = (await openSession(t.tokens.user)).response.json().token as string;
    const staying = (await openSession(t.tokens.user)).response.json().token as string;
    const socket = await TestSocket.connect(url);
    socket.call('jobs.listen', 'ending', {}, ending);
    socket.call('tasks.listen', 'staying', {}, staying);
    await socket.sync(ending);
    await socket.sync(staying);
    expect((await t.call('POST', '/api/auth/sessions/end', ending, {})).statusCode).toBe(200);
    const response = await socket.waitResponse('ending');
    expect(response).toMatchObject({ status: 401, payload: { why: 'The bearer token is unknown or has been revoked' } });
    await socket.sync(staying);
    expect(socket.on('staying').filter((f) => f.type === 'response')).toEqual([]);
    await socket.close();
  });
});
