import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../test/app';
import { freshDatabase, request, startServer, type ServerProcess } from '../live/server-process';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe(`acknowledged task updates survive a SIGKILL (${TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite on disk'})`, () => {
  it('every postStatus that answered {} is there after a restart, in its place in the log', async () => {
    const env: Record<string, string> = {};
    if (TEST_DATABASE_URL) {
      const db = await freshDatabase(TEST_DATABASE_URL, 'jobdeck_kill');
      cleanups.push(db.drop);
      env.DATABASE_URL = db.url;
    }
    const first = await startServer(env);
    cleanups.push(first.kill, async () => fs.rmSync(first.dataDir, { recursive: true, force: true }));
    const { ucloud, user } = first.credentials;
    const created = await request(first.base, 'PUT', '/api/tasks', ucloud, { title: 'Killed mid-stream', owner: 'user', initialStatus: null });
    const id = created.body!.jobId as string;

    // 40 processors post as fast as they can; the server is killed while many posts are in flight.
    const WORKERS = 40;
    const acknowledged: string[] = [];
    const sent = new Set<string>();
    const refused: string[] = [];
    let interrupted = 0;
    let stop = false;
    const worker = async (w: number) => {
      for (let n = 0; !stop; n++) {
        const message = `w${w}-${n}`;
        sent.add(message);
        try {
          const response = await request(first.base, 'POST', '/api/tasks/postStatus', ucloud, { update: { jobId: id, messageToAppend: message } });
          if (response.status === 200) acknowledged.push(message);
          else refused.push(message); // e.g. 503 OVERLOADED on a busy machine: not applied
        } catch {
          interrupted++;
          return; // the connection died with the server
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
    while (acknowledged.length < 400) await new Promise((resolve) => setImmediate(resolve));
    await first.kill();
    stop = true;
    await Promise.all(workers);
    const acked = new Set(acknowledged);
    // The kill landed mid-stream: every worker lost a post to it (none stopped cleanly).
    expect(interrupted).toBe(WORKERS);

    const second: ServerProcess = await startServer(env, first.dataDir);
    cleanups.push(second.stop);
    const view = await request(second.base, 'GET', `/api/tasks/retrieve?id=${id}`, user);
    expect(view.status).toBe(200);
    const messages = view.body!.messages as string[];
    for (const message of acked) expect(messages).toContain(message);
    // Only what was sent is there, and beyond what was acknowledged only the posts in flight at the kill, at most one
    // per worker (written, but its answer died with the server).
    expect(messages.filter((m) => !sent.has(m))).toEqual([]);
    expect(messages.filter((m) => refused.includes(m))).toEqual([]);
    expect(messages.length - acked.size).toBeLessThanOrEqual(WORKERS);
    // Nothing half-written: the log and seq agree, and each worker's messages are in the order it sent them.
    expect(view.body!.seq).toBe(messages.length);
    expect(new Set(messages).size).toBe(messages.length);
    const byWorker = new Map<string, number[]>();
    for (const message of messages) {
      const [w, n] = message.split('-') as [string, string];
      byWorker.set(w, [...(byWorker.get(w) ?? []), Number(n)]);
    }
    for (const ns of byWorker.values()) expect(ns).toEqual([...ns].sort((x, y) => x - y));
  }, 120_000);
});
