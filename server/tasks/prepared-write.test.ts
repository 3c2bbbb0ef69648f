import crypto from 'node:crypto';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { dropSchema, openDb } from '../db/index';
import { POSTGRES_TEST_URL, skipWithoutPostgres } from '../live/server-process';
import { WRITE_STATEMENTS } from './status-writer';

/*
 * The status writer's statement is prepared on real PostgreSQL, so each connection keeps one plan for it. A plan
 * made while `tasks` was small scans it whole; this checks that PostgreSQL replaces it once ANALYZE (which autovacuum
 * runs as a table grows) has seen the table large, so a task update never costs a scan of every task.
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

// Valid values for every parameter of every variant; only the plan is looked at, nothing is executed.
const ARGUMENTS: Record<keyof typeof WRITE_STATEMENTS, string> = {
  'tasks-write': `'[]', '[]', '{}', '{}'`,
  'tasks-write-notify': `'[]', '[]', '{}', '{}', 'jobdeck_plan_test', '{}', '{}', '{}', ''`,
  'tasks-write-untrimmed': `'[]', '[]'`,
  'tasks-write-untrimmed-notify': `'[]', '[]', 'jobdeck_plan_test', '{}', '{}', '{}', ''`,
};

async function plans(session: pg.Client): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(WRITE_STATEMENTS) as (keyof typeof WRITE_STATEMENTS)[]) {
    const rows = (await session.query(`EXPLAIN (COSTS OFF) EXECUTE ${pg.escapeIdentifier(name)}(${ARGUMENTS[name]})`)).rows as { 'QUERY PLAN': string }[];
    out[name] = rows.map((r) => r['QUERY PLAN']).join('\n');
  }
  return out;
}

it('keeps finding task rows by id once ANALYZE has seen the tasks table grow', async (ctx) => {
  await skipWithoutPostgres(ctx, POSTGRES_TEST_URL, 'the prepared-write plan test');
  const schema = `plan_${crypto.randomBytes(4).toString('hex')}`;
  const db = await openDb({ databaseUrl: POSTGRES_TEST_URL, schema });
  cleanups.push(() => dropSchema(POSTGRES_TEST_URL, schema), () => db.close());
  const session = new pg.Client({ connectionString: POSTGRES_TEST_URL, options: `-c search_path=${schema}` });
  await session.connect();
  cleanups.push(() => session.end());

  const addTasks = (n: number) =>
    session.query(
      `INSERT INTO tasks (id, owner, processor, title, status, started_at, modified_at)
       SELECT gen_random_uuid(), 'user', 'ucloud', 'a task', NULL, 0, 0 FROM generate_series(1, $1::integer)`,
      [n],
    );
  await session.query(`INSERT INTO users (username, role, created_at) VALUES ('user', 'USER', 0)`);
  await addTasks(20);
  await session.query('ANALYZE tasks');
  // The plan a connection would cache after its first executions: the generic one.
  await session.query('SET plan_cache_mode = force_generic_plan');
  for (const [name, sql] of Object.entries(WRITE_STATEMENTS)) await session.query(`PREPARE ${pg.escapeIdentifier(name)} AS ${sql}`);
  const small = await plans(session);
  // Twenty tasks fit one page: reading it whole is what the planner picks, for every variant.
  for (const plan of Object.values(small)) expect(plan).toMatch(/Seq Scan on tasks t\b/);

  await addTasks(100_000);
  await session.query('ANALYZE tasks');
  const large = await plans(session);
  for (const [name, plan] of Object.entries(large)) {
    expect(plan, name).not.toMatch(/Seq Scan on tasks\b/);
    expect(plan, name).toMatch(/Tid Scan on tasks t\b/);
    expect(plan, name).toMatch(/Index Scan using tasks_pkey on tasks\b/);
  }
}, 60_000);
