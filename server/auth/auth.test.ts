import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { runCli, type CliContext } from '../cli';

const t = sharedApp();

describe('first start', () => {
  it('writes credentials.json with mode 0600 holding a working token for each default principal', async () => {
    const file = path.join(t.dataDir, 'credentials.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const creds = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(Object.keys(creds).sort()).toEqual(['admin', 'provider', 'slurm', 'ucloud', 'user']);
    const expected = {
      user: ['user', 'USER'],
      ucloud: ['ucloud', 'SERVICE'],
      provider: ['example', 'PROVIDER'],
      admin: ['admin', 'ADMIN'],
      slurm: ['slurm', 'PROVIDER'],
    };
    for (const [key, [username, role]] of Object.entries(expected)) {
      expect(creds[key]).toMatch(/^[A-Za-z0-9_-]{43,}$/); // 256 bits, base64url
      const whoami = await t.call('GET', '/api/auth/whoami', creds[key]);
      expect(whoami.json()).toEqual({ username, role });
    }
  });

  it('stores only hashes of tokens', async () => {
    const rows = await t.db.query<{ token_hash: string }>('SELECT token_hash FROM tokens');
    const tokens = Object.values(t.tokens);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) {
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(tokens).not.toContain(row.token_hash);
    }
  });
});

describe('bearer tokens', () => {
  it.each([
    ['no header', undefined],
    ['a non-Bearer scheme', 'Basic dXNlcjpwYXNz'],
    ['an empty bearer', 'Bearer '],
    ['an unknown token', 'Bearer abcdef'],
  ])('%s is 401 with a why', async (_name, header) => {
    const response = await t.app.inject({ method: 'GET', url: '/api/jobs/browse', headers: header ? { authorization: header } : {} });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ why: expect.any(String), errorCode: null });
  });

  it('checks the token before looking at the body (401 before 400)', async () => {
    const response = await t.call('POST', '/api/jobs', null, '{not json');
    expect(response.statusCode).toBe(401);
  });

  it('unknown endpoints answer a contract-shaped 404', async () => {
    const response = await t.call('GET', '/api/nothing/here', t.tokens.user);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ why: 'No such endpoint: GET /api/nothing/here', errorCode: null });
  });
});

describe('admin API', () => {
  it('adds users, refuses duplicates and bad names, issues and revokes tokens', async () => {
    const added = await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'User#1234' });
    expect(added.statusCode).toBe(200);
    const token = added.json().token;
    expect((await t.call('GET', '/api/auth/whoami', token)).json()).toEqual({ username: 'User#1234', role: 'USER' });

    const again = await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'User#1234' });
    expect(again.statusCode).toBe(409);
    expect(again.json().why).toMatch(/^username: /);

    for (const username of ['has space', '', 'a'.repeat(65), 'semi;colon']) {
      const bad = await t.call('POST', '/api/admin/users', t.tokens.admin, { username });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().why).toMatch(/^username/);
    }
    expect((await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'x', role: 'ADMIN' })).statusCode).toBe(400);

    const second = (await t.call('POST', '/api/admin/tokens/issue', t.tokens.admin, { username: 'User#1234' })).json().token;
    expect(second).not.toBe(token);
    const revoked = await t.call('POST', '/api/admin/tokens/revoke', t.tokens.admin, { username: 'User#1234' });
    expect(revoked.json()).toEqual({ username: 'User#1234', revoked: 2 });
    expect((await t.call('GET', '/api/auth/whoami', token)).statusCode).toBe(401);
    expect((await t.call('GET', '/api/auth/whoami', second)).statusCode).toBe(401);

    expect((await t.call('POST', '/api/admin/tokens/issue', t.tokens.admin, { username: 'ghost' })).statusCode).toBe(404);
  });

  it('is for ADMIN only', async () => {
    for (const token of [t.tokens.user, t.tokens.ucloud, t.tokens.provider]) {
      expect((await t.call('POST', '/api/admin/users', token, { username: 'mallory' })).statusCode).toBe(403);
    }
  });
});

describe('the CLI, against the running server over HTTP', () => {
  it('user add, token issue and token revoke', async () => {
    const host = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const lines: string[] = [];
    const ctx: CliContext = { baseUrl: host, credentials: t.tokens, out: (l) => lines.push(l) };

    await runCli(['user', 'add', 'carol'], ctx);
    const token = lines.pop()!;
    expect((await t.call('GET', '/api/auth/whoami', token)).json()).toEqual({ username: 'carol', role: 'USER' });

    await runCli(['token', 'issue', 'carol'], ctx);
    const issued = lines.pop()!;
    expect((await t.call('GET', '/api/auth/whoami', issued)).statusCode).toBe(200);

    await runCli(['token', 'revoke', 'carol'], ctx);
    expect(lines.pop()).toBe("Revoked 2 token(s) of 'carol'.");
    expect((await t.call('GET', '/api/auth/whoami', issued)).statusCode).toBe(401);

    await expect(runCli(['user', 'add', 'carol'], ctx)).rejects.toThrow(/409.*already exists/);
    await expect(runCli(['frobnicate'], ctx)).rejects.toThrow(/Unknown command/);
    await expect(runCli(['user', 'add'], { ...ctx, baseUrl: 'http://127.0.0.1:1' })).rejects.toThrow(/Missing <name>/);
    await expect(runCli(['user', 'add', 'dave'], { ...ctx, baseUrl: 'http://127.0.0.1:1' })).rejects.toThrow(/Cannot reach/);
  });
});
