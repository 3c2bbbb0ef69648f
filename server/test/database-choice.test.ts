import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../db/index';
import { openTestDb, TEST_DATABASE_URL } from './app';

// scripts/test.mjs names each Vitest leg in JOBDECK_TEST_LEG ('pglite' or 'postgres'). The PGlite leg must run on
// PGlite even when JOBDECK_TEST_DATABASE_URL is exported in the shell, and the PostgreSQL leg on PostgreSQL: a leg
// that silently ran on the other database would test that database twice and this one never.
describe('the leg runs on the database it is named for', () => {
  let db: Db;
  let cleanup = async () => {};
  // In a hook: a first PGlite (migrations included) takes many seconds on a busy machine.
  beforeAll(async () => {
    ({ db, cleanup } = await openTestDb());
  });
  afterAll(() => cleanup());

  it('in-process tests open the database of their leg', () => {
    const leg = process.env.JOBDECK_TEST_LEG ?? (TEST_DATABASE_URL ? 'postgres' : 'pglite');
    expect(['pglite', 'postgres']).toContain(leg);
    expect(TEST_DATABASE_URL === null ? 'pglite' : 'postgres').toBe(leg);
    expect(db.kind).toBe(leg);
  });
});
