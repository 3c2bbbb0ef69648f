import { describe, expect, it } from 'vitest';
import { TestSocket } from '../test/socket';
import { build, TEST_DATABASE_URL } from '../test/app';

const until = async (what: string, condition: () => boolean) => {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 100_000) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
};

describe(`closing the server writes the task updates it has accepted (${TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('an update still queued behind a batch when the server starts closing is written before the database closes, and answered 200', async () => {
    const t = await build();
    let unlock: () => void = () => {};
    try {
      const created = await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: 'Closing', owner: 'user', initialStatus: null });
      const id = created.json().jobId as string;
      const post = (line: string) => t.call('POST', '/api/tasks/postStatus', t.tokens.ucloud, { update: { jobId: id, messageToAppend: line } });

      // The task's row is locked, so the first batch cannot commit and every later update waits in the writer's
      // queue: nothing below depends on how fast the machine is.
      const gate = new Promise<void>((resolve) => (unlock = resolve));
      let locked: () => void = () => {};
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holding = t.db.tx(async (q) => {
        await q.query('SELECT 1 FROM tasks WHERE id = $1::uuid FOR UPDATE', [id]);
        locked();
        await gate;
      });
      await isLocked;
      const first = post('first');
      await until('the first update is accepted', () => t.app.services.tasks.queueDepth === 1);
      const lines = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
      const rest = lines.map(post);
      await until('every update is accepted', () => t.app.services.tasks.queueDepth === 1 + lines.length);

      // Closing drops the sockets first (preClose); the lock goes once it has begun, so the writes can only
      // finish while the server is closing.
      const watcher = await TestSocket.inject(t.app);
      void watcher.closed.then(() => unlock());
      await t.app.close();
      await holding;

      // When close returns, nothing accepted is left unwritten (the queue /api/health reports is empty), and it
      // is all in the database, which the process closes next.
      expect(t.app.services.tasks.queueDepth).toBe(0);
      const rows = await t.db.query<{ seq: number; msg_count: number }>('SELECT seq, msg_count FROM tasks WHERE id = $1::uuid', [id]);
      expect(rows).toEqual([{ seq: 1 + lines.length, msg_count: 1 + lines.length }]);
      const answers = await Promise.all([first, ...rest]);
      expect(answers.map((a) => [a.statusCode, a.json()])).toEqual(answers.map(() => [200, {}]));
    } finally {
      unlock();
      await t.close();
    }
  }, 180_000);
});
