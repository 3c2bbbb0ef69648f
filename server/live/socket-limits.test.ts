import { beforeAll, describe, expect, it } from 'vitest';
import { build, sharedApp } from '../test/app';
import { TestSocket } from '../test/socket';
import { serverLogger } from '../http/log-redact';
import { MAX_CLIENT_FRAME_BYTES } from './hub';
import { SOCKET_ERROR_LOG_INTERVAL_MS } from './socket-errors';

/*
 * Over real TCP sockets to a listening server: a revoked token's streams end at the revocation
 * (not at the next ping, which is an hour away here), an anonymous socket is closed when it makes no call, one
 * token holds a bounded number of sockets, and oversized frames do not flood the log.
 */

const lines: string[] = [];
let url: string;

async function addUser(username: string) {
  return (await t.call('POST', '/api/admin/users', t.tokens.admin, { username })).json().token as string;
}

const t = sharedApp(
  { wsPingIntervalMs: 3_600_000, wsIdleUnauthenticatedMs: 1_000, wsMaxSocketsPerToken: 3 },
  { logger: serverLogger('info', { write: (line) => void lines.push(line) }) },
);
beforeAll(async () => {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  url = `ws://127.0.0.1:${(t.app.server.address() as { port: number }).port}/api/jobs`;
});

describe('a revoked token', () => {
  it('ends every stream it opened with 401 at once, on every socket, and other users keep theirs', async () => {
    const carol = await addUser('carol');
    const dave = await addUser('dave');
    const a = await TestSocket.connect(url);
    const b = await TestSocket.connect(url);
    a.call('tasks.listen', 'tasks', {}, carol);
    a.call('jobs.listen', 'jobs', {}, carol);
    b.call('jobs.listen', 'jobs', {}, carol);
    b.call('jobs.listen', 'dave', {}, dave);
    await a.sync(carol);
    await b.sync(dave);
    expect((await t.call('POST', '/api/admin/tokens/revoke', t.tokens.admin, { username: 'carol' })).json().revoked).toBe(1);
    // The ping is an hour away: only the revocation can end these.
    for (const [client, stream] of [[a, 'tasks'], [a, 'jobs'], [b, 'jobs']] as const) {
      const response = await client.waitResponse(stream);
      expect(response).toMatchObject({ status: 401, payload: { why: 'The bearer token is unknown or has been revoked' } });
    }
    expect(b.on('dave').filter((f) => f.type === 'response')).toEqual([]);
    await b.sync(dave);
    await a.close();
    await b.close();
  });
});

describe('an anonymous socket', () => {
  it('is closed (1008) when it makes no authorised call, while an authorised one stays open', async () => {
    const anonymous = await TestSocket.connect(url);
    const badToken = await TestSocket.connect(url);
    badToken.call('tasks.listen', 'x', {}, 'not-a-token');
    expect((await badToken.waitResponse('x')).status).toBe(401);
    const user = await TestSocket.connect(url);
    user.call('tasks.listen', 'tasks', {}, t.tokens.user);
    await user.sync(t.tokens.user);
    expect((await anonymous.closed).code).toBe(1008);
    expect((await badToken.closed).code).toBe(1008);
    // Well past the idle limit, the authorised socket still answers.
    await user.sync(t.tokens.user);
    expect(user.ws.readyState).toBe(user.ws.OPEN);
    await user.close();
  });
});

describe('sockets per token', () => {
  it('one token may have 3 sockets here; a call on a 4th is a 429, and closing one makes room', async () => {
    const erin = await addUser('erin');
    const clients = await Promise.all([1, 2, 3, 4].map(() => TestSocket.connect(url)));
    for (const client of clients.slice(0, 3)) {
      client.call('jobs.listen', 'jobs', {}, erin);
      await client.sync(erin);
    }
    clients[3]!.call('jobs.listen', 'jobs', {}, erin);
    expect(await clients[3]!.waitResponse('jobs')).toMatchObject({ status: 429, payload: { why: expect.stringMatching(/^bearer: at most 3 sockets/) } });
    // More calls on a socket already counted are fine.
    clients[0]!.call('tasks.listen', 'tasks', {}, erin);
    await clients[0]!.sync(erin);
    expect(clients[0]!.on('tasks').filter((f) => f.type === 'response')).toEqual([]);
    await clients[1]!.close();
    clients[3]!.call('jobs.listen', 'again', {}, erin);
    await clients[3]!.sync(erin);
    expect(clients[3]!.on('again').filter((f) => f.type === 'response')).toEqual([]);
    await Promise.all([clients[0]!, clients[2]!, clients[3]!].map((c) => c.close()));
  });
});

describe('sockets in all', () => {
  it('past the cap, a new socket is closed at once with 1013; closing one makes room', async () => {
    const small = await build({ wsMaxSockets: 2, wsPingIntervalMs: 3_600_000 });
    try {
      await small.app.listen({ port: 0, host: '127.0.0.1' });
      const smallUrl = `ws://127.0.0.1:${(small.app.server.address() as { port: number }).port}/api/jobs`;
      const open = [await TestSocket.connect(smallUrl), await TestSocket.connect(smallUrl)];
      // Both count as soon as they are accepted, before any call.
      const third = await TestSocket.connect(smallUrl);
      expect(await third.closed).toEqual({ code: 1013 });
      await open[0]!.close();
      // The server hears the close on its own time: wait for it to count one socket, whatever the machine's load.
      while (small.app.services.live.stats().sockets > 1) await new Promise((resolve) => setTimeout(resolve, 10));
      const fourth = await TestSocket.connect(smallUrl);
      fourth.call('tasks.listen', 'tasks', {}, small.tokens.user);
      await fourth.sync(small.tokens.user);
      expect(fourth.on('tasks').filter((f) => f.type === 'response')).toEqual([]);
      await Promise.all([open[1]!.close(), fourth.close()]);
    } finally {
      await small.close();
    }
  });
});

describe('oversized frames', () => {
  it('close their sockets (1009) and are logged as one warning line per interval, without a stack', async () => {
    lines.length = 0;
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const client = await TestSocket.connect(url);
      client.send('x'.repeat(MAX_CLIENT_FRAME_BYTES + 1));
      expect((await client.closed).code).toBe(1009);
    }
    const elapsed = Date.now() - started;
    const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string; sockets?: number; err?: unknown }).filter((e) => /WebSocket/.test(e.msg));
    // However slow the machine, one line per started interval at most (the first is logged at once).
    expect(entries.length).toBeGreaterThanOrEqual(1);
    expect(entries.length).toBeLessThanOrEqual(Math.ceil(elapsed / SOCKET_ERROR_LOG_INTERVAL_MS) + 1);
    expect(entries.every((e) => e.level === 40 && e.err === undefined)).toBe(true);
  });
});
