import { afterEach, describe, expect, it, vi } from 'vitest';
import { openTestDb, TEST_DATABASE_URL } from '../test/app';
import { startLeaderElection, type Leadership } from './leader';
import type { Db } from './index';

const log = { info: () => {}, warn: () => {} };
const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.reverse()) await close();
  open.length = 0;
});

/** The answers one contender's tries for the lock got (true: it took the lock), as the database gave them. */
type Attempts = boolean[];

async function elect(db: Db, attempts?: Attempts): Promise<Leadership> {
  // Each try for the lock is seen as it happens, so "it never got it" is said after tries, not after a sleep.
  const openSession = async () => {
    const client = await db.openSession!();
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<{ rows: { ok?: boolean }[] }>;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const result = query(...args);
      if (typeof args[0] === 'string' && args[0].includes('pg_try_advisory_lock')) {
        void result.then((r) => attempts?.push(r.rows[0]?.ok === true), () => {});
      }
      return result;
    };
    return client;
  };
  const leadership = startLeaderElection(db.openSession ? { ...db, openSession } : db, { retryMs: 100, log });
  open.push(() => leadership.stop());
  return leadership;
}

describe('leader election', () => {
  // The suite runs once per store (scripts/test.mjs); each leg defines only the test for its store.
  const onPglite = (name: string, fn: () => Promise<void>) => (TEST_DATABASE_URL ? undefined : it(name, fn));
  const onPostgres = (name: string, fn: () => Promise<void>) => (TEST_DATABASE_URL ? it(name, fn) : undefined);
  onPglite('on PGlite the one process is always the leader', async () => {
    const { db, cleanup } = await openTestDb();
    open.push(cleanup);
    expect((await elect(db)).isLeader()).toBe(true);
  });

  onPostgres('on PostgreSQL one of two contenders leads; a stop or a dropped connection hands over at once', async () => {
    const { db, cleanup } = await openTestDb();
    open.push(cleanup);
    const tries: [Attempts, Attempts] = [[], []];
    const first = await elect(db, tries[0]);
    await vi.waitFor(() => expect(first.isLeader()).toBe(true), { timeout: 5000, interval: 20 });
    const second = await elect(db, tries[1]);
    const changes: boolean[] = [];
    first.onChange((leader) => changes.push(leader));
    // The second one keeps trying (every 100 ms here) and never gets it while the first holds the lock: seen
    // refused three times.
    await vi.waitFor(() => second.isLeader() || expect(tries[1].length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 10 });
    expect(tries[1].slice(0, 3)).toEqual([false, false, false]);
    expect([first.isLeader(), second.isLeader()]).toEqual([true, false]);

    // The leader's connection is killed: it knows at once, and the other one takes over.
    await db.query(
      `SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = 7263252 AND l.granted
         AND l.objid = hashtext(current_schema())::oid AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    await vi.waitFor(() => expect(changes).toEqual([false]), { timeout: 5000, interval: 10 });
    await vi.waitFor(() => expect([first.isLeader(), second.isLeader()].filter(Boolean)).toHaveLength(1), { timeout: 5000, interval: 20 });
    // Never two at once, whoever won: the loser keeps trying and is refused, three times more.
    const loser = first.isLeader() ? 1 : 0;
    const seen = tries[loser].length;
    const both = () => first.isLeader() && second.isLeader();
    await vi.waitFor(() => both() || expect(tries[loser].length).toBeGreaterThanOrEqual(seen + 3), { timeout: 10_000, interval: 10 });
    expect(tries[loser].slice(seen, seen + 3)).toEqual([false, false, false]);
    expect([first.isLeader(), second.isLeader()].filter(Boolean)).toHaveLength(1);

    // Stopping the leader hands over to the other.
    const [leader, other] = first.isLeader() ? [first, second] : [second, first];
    await leader.stop();
    await vi.waitFor(() => expect(other.isLeader()).toBe(true), { timeout: 5000, interval: 20 });
  });
});
