import { afterEach, expect, it } from 'vitest';
import { openTestDb } from '../test/app';
import type { Db } from './index';

/*
 * db.announce: a NOTIFY whose listeners in this process have run when it resolves (a revocation must stop this
 * process's interfaces and streams before the admin's call answers). On PostgreSQL the server's echo comes back later
 * on the LISTEN connection; waiting for it would let one more request reach a revoked owner's app under load.
 */

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

it("runs this process's listeners before it resolves, and every listener hears the NOTIFY", async () => {
  const opened = await openTestDb();
  cleanup = opened.cleanup;
  const db: Db = opened.db;
  const heard: string[] = [];
  const off = await db.listen('jobdeck_announce_test', (payload) => heard.push(payload));
  await db.announce('jobdeck_announce_test', 'alice');
  // At once: no waiting for the echo.
  expect(heard[0]).toBe('alice');
  await off();
});
