import { describe, expect, it } from 'vitest';
import { build, TEST_DATABASE_URL } from '../test/app';

const until = async (what: string, condition: () => boolean) => {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 100_000) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
};

// PGlite has one connection: a transaction holding a row holds every statement, so there is nothing to overlap.
describe.skipIf(!TEST_DATABASE_URL)('task updates on PostgreSQL: a second batch while the first commits', () => {
  it("another task's update is written and answered while a batch waits, and the waiting task's updates keep their order", async () => {
    const t = await build();
    const create = async (title: string) =>
      (await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title, owner: 'user', initialStatus: null })).json().jobId as string;
    const post = (id: string, line: string) => t.call('POST', '/api/tasks/postStatus', t.tokens.ucloud, { update: { jobId: id, messageToAppend: line } });
    const view = async (id: string) => (await t.call('GET', `/api/tasks/retrieve?id=${id}`, t.tokens.user)).json() as { seq: number; messages: string[] };
    const held = await create('Held');
    const free = await create('Free');

    // Task `held`'s row is locked by another transaction (a real lock, not a stand-in): the batch writing it waits.
    let unlock: () => void = () => {};
    const gate = new Promise<void>((resolve) => (unlock = resolve));
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = t.db.tx(async (q) => {
      await q.query('SELECT 1 FROM tasks WHERE id = $1::uuid FOR UPDATE', [held]);
      locked();
      await gate;
    });
    try {
      await isLocked;
      const first = post(held, 'held 1');
      await until('the first update is in a batch', () => t.app.services.tasks.queueDepth === 1);

      // Written and answered while the first batch still waits on the lock.
      const other = await post(free, 'free 1');
      expect(other.statusCode).toBe(200);
      expect(await view(free)).toMatchObject({ seq: 1, messages: ['free 1'] });

      // The held task's next update waits for its batch rather than overtake it in a batch of its own.
      const second = post(held, 'held 2');
      await until('the second update is accepted', () => t.app.services.tasks.queueDepth === 2);
      unlock();
      await holding;
      expect([(await first).statusCode, (await second).statusCode]).toEqual([200, 200]);
      expect(await view(held)).toMatchObject({ seq: 2, messages: ['held 1', 'held 2'] });
    } finally {
      unlock();
      await holding.catch(() => undefined);
    }
  });
});
