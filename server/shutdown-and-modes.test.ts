import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServer } from './live/server-process';

/*
 * On a real server process (server/main.ts, as `npm start` runs it): every file it creates
 * in a new data directory is its account's alone (the umask covers files PGlite creates later, too), and its
 * shutdown is bounded: a request that never finishes does not keep it alive past JOBDECK_SHUTDOWN_MS.
 */

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? [full, ...walk(full)] : [full];
  });
}

describe('a new data directory', () => {
  it('holds no file another account can read or write, and no folder it can list', async () => {
    const server = await startServer({ JOBDECK_SHUTDOWN_MS: '20000' });
    try {
      // A write after start-up, so PGlite creates and grows files after the data directory was prepared.
      const created = await fetch(`${server.base}/api/admin/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.credentials.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'modes' }),
      });
      expect(created.status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const entries = walk(server.dataDir);
    expect(entries.length).toBeGreaterThan(100);
    const open = entries
      .map((file) => ({ file, stat: fs.lstatSync(file) }))
      // Folders may be 0711 as root (job accounts enter, never list); files are 0600 or stricter.
      .filter(({ stat }) => (stat.isDirectory() ? stat.mode & 0o066 : stat.mode & 0o077) !== 0)
      .map(({ file, stat }) => `${(stat.mode & 0o777).toString(8)} ${path.relative(server.dataDir, file)}`);
    expect(open).toEqual([]);
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  }, 120_000);
});

describe('shutdown', () => {
  it('ends within its bound even while a request never finishes, and says so', async () => {
    const server = await startServer({ JOBDECK_SHUTDOWN_MS: '1000' });
    const { port, hostname } = new URL(server.base);
    // A request whose body never comes: Node's close() would wait for it for minutes.
    const socket = net.connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /api/jobs HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${server.credentials.user}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"items": [`);
    socket.on('error', () => {});
    // Let the server see the request before it is told to stop.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const code = await server.stop();
    socket.destroy();
    expect(server.output()).toContain('Shutdown did not finish within 1000 ms; exiting');
    expect(code).toBe(1);
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  }, 120_000);
});
