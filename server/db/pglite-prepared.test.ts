import { afterEach, beforeEach, expect, it } from 'vitest';
import { WRITE_STATEMENTS } from '../tasks/status-writer';
import { openDb, type Db } from './index';
import { REPLAN_EVERY } from './pglite-prepared';

/*
 * Named statements on PGlite (Db.query with `prepare`): parsed once, executed with one protocol exchange each, and
 * parsed again every REPLAN_EVERY executions so that a plan made while a table was small does not outlive it.
 */

let db: Db;
beforeEach(async () => {
  db = await openDb({});
  await db.query(`INSERT INTO users (username, role, created_at) VALUES ('user', 'USER', 0)`);
});
afterEach(() => db.close());

const addTasks = (n: number) =>
  db.query(
    `INSERT INTO tasks (id, owner, processor, title, status, started_at, modified_at)
     SELECT gen_random_uuid(), 'user', 'ucloud', 'a task', NULL, 0, $2 FROM generate_series(1, $1::integer)`,
    [n, 1_700_000_000_000],
  );

it('answers rows with the types query() gives them, and takes text, numbers, booleans, arrays, JSON and NULL', async () => {
  await addTasks(3);
  const sql = `SELECT count(*) AS n, max(modified_at) AS latest, $1::text AS text, $2::integer AS number, $3::boolean AS yes,
                      $4::text[] AS list, $5::jsonb AS doc, $6::text AS nothing FROM tasks`;
  const params = ['a "quoted" \\ text', 42, true, ['x', 'y "z"', null], { progress: { current: 1 } }, null];
  const prepared = await db.query(sql, params, { prepare: 'types' });
  expect(prepared).toEqual(await db.query(sql, params));
  expect(prepared).toEqual([
    { n: 3, latest: 1_700_000_000_000, text: 'a "quoted" \\ text', number: 42, yes: true, list: ['x', 'y "z"', null], doc: { progress: { current: 1 } }, nothing: null },
  ]);
});

it('rejects a failing execution with the database error, and the statement goes on working', async () => {
  const sql = 'SELECT 10 / $1::integer AS q';
  await expect(db.query(sql, [0], { prepare: 'divide' })).rejects.toThrow(/division by zero/);
  expect(await db.query(sql, [5], { prepare: 'divide' })).toEqual([{ q: 2 }]);
  await expect(db.query('SELECT 1 AS q', [], { prepare: 'divide' })).rejects.toThrow(/already prepared with another text/);
  // The connection is not left in a failed state either.
  expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
});

it('parses the status write again after REPLAN_EVERY executions, so a grown tasks table is found by TID, not scanned', async () => {
  const name = 'tasks-write-untrimmed';
  const write = () => db.query(WRITE_STATEMENTS[name], ['[]', '[]'], { prepare: name });
  // The plan a statement keeps once PostgreSQL has settled on one: the generic plan.
  await db.exec('SET plan_cache_mode = force_generic_plan');
  const plan = async () =>
    (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) EXECUTE "${name}"('[]', '[]')`)).map((r) => r['QUERY PLAN']).join('\n');
  const parsedAt = async () => (await db.query<{ at: string }>(`SELECT prepare_time::text AS at FROM pg_prepared_statements WHERE name = $1`, [name]))[0]?.at;

  await addTasks(20);
  await write();
  expect(await plan()).toMatch(/Seq Scan on tasks t\b/);
  const first = await parsedAt();
  expect(first).toBeDefined();

  await addTasks(100_000);
  for (let i = 1; i < REPLAN_EVERY; i++) await write();
  // Still the statement parsed while the table was small, still scanning it.
  expect(await parsedAt()).toBe(first);
  expect(await plan()).toMatch(/Seq Scan on tasks t\b/);

  await write();
  expect(await parsedAt()).not.toBe(first);
  const grown = await plan();
  expect(grown).not.toMatch(/Seq Scan on tasks\b/);
  expect(grown).toMatch(/Tid Scan on tasks t\b/);
}, 60_000);

it('waits for an open transaction instead of running inside it, so a rollback there cannot take the write with it', async () => {
  let inside!: () => void;
  const entered = new Promise<void>((resolve) => (inside = resolve));
  let finish!: () => void;
  const held = new Promise<void>((resolve) => (finish = resolve));
  const transaction = db
    .tx(async (q) => {
      await q.query(`INSERT INTO users (username, role, created_at) VALUES ('in-the-transaction', 'USER', 0)`);
      inside();
      await held;
      throw new Error('rolled back on purpose');
    })
    .catch((error: Error) => error.message);
  await entered;
  const write = db.query(`INSERT INTO users (username, role, created_at) VALUES ('prepared', 'USER', 0) RETURNING username`, [], { prepare: 'add-user' });
  // Give the write every chance to run now, between the transaction's statements.
  await new Promise((resolve) => setTimeout(resolve, 50));
  finish();
  expect(await transaction).toBe('rolled back on purpose');
  expect(await write).toEqual([{ username: 'prepared' }]);
  const users = (await db.query<{ username: string }>(`SELECT username FROM users WHERE username IN ('prepared', 'in-the-transaction')`)).map((r) => r.username);
  expect(users).toEqual(['prepared']);
});
