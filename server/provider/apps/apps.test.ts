import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { loadCatalog } from '../../catalog/catalog';
import { renderArgs } from '../../catalog/run';

// The catalog's programs, run for real: `node <program>` in a folder of their own, on ports the system picks
// (--port=0; the "Listening on" line says which), talking real TCP on 127.0.0.1. No mocks.

const APPS = path.dirname(fileURLToPath(import.meta.url));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-apps-'));
// Creating a database runs initdb, which takes 7–37 s on a loaded 2-core machine; opening one takes 1–4 s.
const CREATE_MS = 150_000;
const OPEN_MS = 30_000;
// These programs never touch the server's database, so they run in the PGlite leg of `npm test` only, not again in
// its PostgreSQL leg (scripts/test.mjs sets JOBDECK_TEST_DATABASE_URL there).
const otherLeg = Boolean(process.env.JOBDECK_TEST_DATABASE_URL);

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running program: its output so far, waits on it, and stopping it. */
class App {
  readonly child: ChildProcess;
  output = '';
  stderr = '';
  exitInfo: Exit | null = null;
  readonly exited: Promise<Exit>;
  private waiters = new Set<() => void>();

  constructor(
    readonly program: string,
    readonly args: string[],
    env: Record<string, string> = {},
    cwd = fs.mkdtempSync(path.join(root, 'cwd-')),
  ) {
    this.child = spawn(process.execPath, [path.join(APPS, program), ...args], {
      cwd,
      // What the provider gives a job (server/provider/local/backend.ts), on loopback.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, LANG: 'C.UTF-8', JOBDECK_BIND_ADDRESS: '127.0.0.1', ...env },
      // A process group of its own, killed whole, as the provider does (acme-database has a child while creating).
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer, isErr: boolean) => {
      const text = chunk.toString('utf8');
      this.output += text;
      if (isErr) this.stderr += text;
      for (const wake of this.waiters) wake();
    };
    this.child.stdout!.on('data', (chunk: Buffer) => collect(chunk, false));
    this.child.stderr!.on('data', (chunk: Buffer) => collect(chunk, true));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // Let the last output arrive before anyone reads it.
        setImmediate(() => {
          for (const wake of this.waiters) wake();
          resolve({ code, signal });
        });
      });
    });
    running.add(this);
  }

  /** Resolves with the first match of `pattern` in the output; rejects if the program exits first or time runs out. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.output.match(pattern);
        if (match) {
          done();
          resolve(match);
        } else if (this.exitInfo) {
          done();
          reject(new Error(`${this.program} exited (${JSON.stringify(this.exitInfo)}) before printing ${pattern}. Output:\n${this.output}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.program} did not print ${pattern} within ${timeoutMs} ms. Output:\n${this.output}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for "Listening on 127.0.0.1:<port>" and returns the port. */
  async listening(timeoutMs = 10_000): Promise<number> {
    const match = await this.waitFor(/Listening on 127\.0\.0\.1:(\d+)/, timeoutMs);
    return Number(match[1]);
  }

  /** Sends a signal and waits for the exit; returns it with how long it took. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit & { ms: number }> {
    const started = Date.now();
    if (!this.exitInfo) this.child.kill(signal);
    const exit = await this.exited;
    return { ...exit, ms: Date.now() - started };
  }

  /** SIGKILL to the whole process group (for cleanup, and to simulate a crash). */
  async kill(): Promise<void> {
    if (!this.exitInfo && this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await this.exited;
  }
}

const running = new Set<App>();
/** Programs that outlive one test (a database shared by a describe block); killed in its afterAll. */
const kept = new Set<App>();
const keep = (app: App) => {
  kept.add(app);
  return app;
};

afterEach(async () => {
  await Promise.all([...running].filter((app) => !kept.has(app)).map((app) => app.kill()));
  for (const app of running) if (!kept.has(app)) running.delete(app);
});
afterAll(async () => {
  await Promise.all([...running].map((app) => app.kill()));
  fs.rmSync(root, { recursive: true, force: true });
});

/** Runs a program to its end. */
async function run(program: string, args: string[], env: Record<string, string> = {}) {
  const app = new App(program, args, env);
  const exit = await app.exited;
  return { ...exit, output: app.output, stderr: app.stderr };
}

async function query<T extends pg.QueryResultRow = Record<string, unknown>>(port: number, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

// One database created from nothing (the first test checks how that went); the other tests start from copies.
let templateRun: Promise<{ dir: string; output: string; rows: unknown[]; exit: Exit & { ms: number } }> | null = null;
function template() {
  templateRun ??= (async () => {
    const dir = path.join(root, 'template', 'not', 'yet', 'there');
    const app = new App('acme-database.mjs', [`--data=${dir}`, '--port=0']);
    const port = await app.listening(CREATE_MS);
    const rows = await query(port, 'SELECT 6 * 7 AS answer');
    const exit = await app.stop();
    return { dir, output: app.output, rows, exit };
  })();
  return templateRun;
}
let copies = 0;
async function databaseFolder() {
  const { dir } = await template();
  const copy = path.join(root, `db-${++copies}`);
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}
function startDatabase(dir: string, port = 0, extra: string[] = []) {
  return new App('acme-database.mjs', [`--data=${dir}`, `--port=${port}`, ...extra]);
}

describe.skipIf(otherLeg)('acme-batch', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  test('prints ten steps and a result line with the value, and exits 0', async () => {
    const result = await run('acme-batch.mjs', ['--value=Hello, World!', '--step-ms=0']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (let step = 1; step <= 10; step++) expect(result.output).toContain(`step ${step}/10: `);
    expect(result.output).toContain('step 5/10: reversed: "!dlroW ,olleH"');
    expect(result.output).toContain('upper-cased: "HELLO, WORLD!"');
    expect(result.output).toMatch(new RegExp(`^Result: processed "Hello, World!" \\(13 characters, 2 words, sha256 ${sha('Hello, World!')}\\)$`, 'm'));
    expect(result.output).not.toContain('debug:');
  });

  test('takes the value as its operand too, as the catalog passes it', async () => {
    const result = await run('acme-batch.mjs', ['--debug', '--step-ms=0', 'Hello, World!']);
    expect(result.code).toBe(0);
    expect(result.output).toContain(`Result: processed "Hello, World!" (13 characters, 2 words, sha256 ${sha('Hello, World!')})`);
    expect(result.output).toContain('debug: step 1: ');
  });

  test('--debug prints more: debug lines for every step', async () => {
    const plain = await run('acme-batch.mjs', ['--value=Debug me', '--step-ms=0']);
    const debug = await run('acme-batch.mjs', ['--value=Debug me', '--step-ms=0', '--debug']);
    expect(debug.code).toBe(0);
    for (let step = 1; step <= 10; step++) expect(debug.output).toContain(`debug: step ${step}: `);
    expect(debug.output.split('\n').length).toBeGreaterThan(plain.output.split('\n').length + 10);
    expect(debug.output).toContain('Result: processed "Debug me"');
  });

  test('waits --step-ms between steps (300 ms by default)', async () => {
    const started = Date.now();
    const result = await run('acme-batch.mjs', ['--value=slow', '--step-ms=60']);
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9 * 60);
  });

  test('an input it cannot process exits 2 with the reason on stderr', async () => {
    const empty = await run('acme-batch.mjs', ['--value=']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('the value is empty');
    expect(empty.output).not.toContain('Result:');

    const control = await run('acme-batch.mjs', ['--value=line one\nline two']);
    expect(control.code).toBe(2);
    expect(control.stderr).toContain('control character (U+000A at position 9)');
  });

  test.each([
    [['--value=x', '--verbose']],
    [['--value', 'x']],
    [['-v']],
    [['--value=x', 'and an operand']],
    [['one', 'two']],
    [['--value=x', '--debug=yes']],
    [['--value=x', '--step-ms=soon']],
    [[]],
  ])('a bad command line %j exits 64 with a usage line', async (args) => {
    const result = await run('acme-batch.mjs', args);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/^usage: acme-batch\.mjs \[--debug\] \[--step-ms=<n>\] \(<text> \| --value=<text>\)$/m);
    expect(result.output).not.toContain('step 1/10');
  });

  test('SIGTERM stops it promptly with exit code 0', async () => {
    const app = new App('acme-batch.mjs', ['--value=interrupt me', '--step-ms=10000']);
    await app.waitFor(/step 1\/10/);
    const exit = await app.stop();
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(2000);
    expect(app.output).toContain('Received SIGTERM after step 1/10');
    expect(app.output).not.toContain('Result:');
  });
});

describe.skipIf(otherLeg)('acme-simulation', () => {
  const catalog = loadCatalog();
  const app = catalog.findApplication('acme-simulation', '1.0.0')!;
  const runDefinition = catalog.findRun('acme-simulation', '1.0.0')!;

  test('runs the command line the catalog builds from typed values: a line per step, the result, exit 0', async () => {
    const values = {
      steps: { type: 'integer', value: 4 },
      rate: { type: 'floating_point', value: 0.5 },
      model: { type: 'text', value: 'exponential' },
      noise: { type: 'boolean', value: false },
      label: { type: 'text', value: 'first run' },
    } as const;
    const args = renderArgs(app, runDefinition, values);
    expect(args).toEqual(['--steps=4', '--rate=0.5', '--model=exponential', '--label=first run']);
    const result = await run('acme-simulation.mjs', [...args, '--step-ms=0']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.output.split('\n').filter((line) => line.startsWith('step '))).toEqual([
      'step 1/4: 1.50000 (25 %)',
      'step 2/4: 2.25000 (50 %)',
      'step 3/4: 3.37500 (75 %)',
      'step 4/4: 5.06250 (100 %)',
    ]);
    expect(result.output).toMatch(/^Result "first run": exponential growth at rate 0\.5 over 4 steps: 5\.06250$/m);
  });

  test('the catalog defaults run as they are; the boolean becomes a bare --noise; each model grows its own way', async () => {
    const defaults = renderArgs(app, runDefinition, {});
    expect(defaults).toEqual(['--steps=20', '--rate=0.1', '--model=exponential']);
    const noisy = renderArgs(app, runDefinition, { steps: { type: 'integer', value: 3 }, noise: { type: 'boolean', value: true } });
    expect(noisy).toEqual(['--steps=3', '--rate=0.1', '--model=exponential', '--noise']);
    const quiet = await run('acme-simulation.mjs', ['--steps=3', '--rate=0.1', '--model=exponential', '--step-ms=0']);
    const jittered = await run('acme-simulation.mjs', [...noisy, '--step-ms=0']);
    expect(jittered.code).toBe(0);
    expect(jittered.output).toContain('with noise');
    const final = (output: string) => Number(/: ([\d.e+-]+)$/m.exec(output.trim().split('\n').at(-1)!)![1]);
    expect(final(jittered.output)).not.toBe(final(quiet.output));
    expect(Math.abs(final(jittered.output) / final(quiet.output) - 1)).toBeLessThan(0.031);
    // The same jitter on every run.
    expect((await run('acme-simulation.mjs', [...noisy, '--step-ms=0'])).output).toBe(jittered.output);

    const after = async (model: string) => final((await run('acme-simulation.mjs', ['--steps=50', '--rate=0.2', `--model=${model}`, '--step-ms=0'])).output);
    expect(await after('linear')).toBeCloseTo(11, 6);
    expect(await after('exponential')).toBeCloseTo(1.2 ** 50, 0);
    const logistic = await after('logistic');
    expect(logistic).toBeGreaterThan(90);
    expect(logistic).toBeLessThanOrEqual(100);
  });

  test.each([
    [['--steps=0'], /--steps must be from 1 to 1000, not 0/],
    [['--steps=1001'], /--steps must be from 1 to 1000, not 1001/],
    [['--steps=2.5'], /--steps must be a whole number, not "2\.5"/],
    [['--rate=1.5'], /--rate must be from 0 to 1, not 1\.5/],
    [['--rate=-0.1'], /--rate must be from 0 to 1, not -0\.1/],
    [['--rate=fast'], /--rate must be a number, not "fast"/],
    [['--model=cubic'], /--model must be one of linear, exponential, logistic, not "cubic"/],
    [['--label=two\nlines'], /--label must be a single line/],
  ])('a bad value %j exits 2 with the reason on stderr, before simulating', async (bad, why) => {
    const base = { steps: '--steps=3', rate: '--rate=0.1', model: '--model=linear' } as Record<string, string>;
    for (const arg of bad) base[arg.slice(2, arg.indexOf('='))] = arg;
    const result = await run('acme-simulation.mjs', [...Object.values(base), '--step-ms=0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(why);
    expect(result.output).not.toContain('step 1/');
  });

  test.each([
    [['--rate=0.1', '--model=linear']],
    [['--steps=3', '--rate=0.1', '--model=linear', '--noise=yes']],
    [['--steps', '3', '--rate=0.1', '--model=linear']],
    [['--steps=3', '--rate=0.1', '--model=linear', '--colour=red']],
  ])('a bad command line %j exits 64 with a usage line', async (args) => {
    const result = await run('acme-simulation.mjs', args);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/^usage: acme-simulation\.mjs --steps=<1-1000> /m);
  });

  test('SIGTERM stops it between steps with exit code 0 and no result', async () => {
    const sim = new App('acme-simulation.mjs', ['--steps=100', '--rate=0.1', '--model=linear', '--step-ms=10000']);
    await sim.waitFor(/step 1\/100/);
    const exit = await sim.stop();
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(2000);
    expect(sim.output).toContain('Received SIGTERM after step 1/100');
    expect(sim.output).not.toContain('Result');
  });
});

describe.skipIf(otherLeg)('acme-database', () => {
  beforeAll(() => template(), CREATE_MS);

  test('creates a database in a folder that does not exist yet, answers a pg query, and stops on SIGTERM', async () => {
    const { dir, output, rows, exit } = await template();
    expect(output).toContain('Creating a new database');
    expect(rows).toEqual([{ answer: 42 }]);
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThan(2000);
    expect(output).toMatch(/Client 127\.0\.0\.1:\d+ connected/);
    expect(output).toMatch(/Client 127\.0\.0\.1:\d+ disconnected/);
    // Its files, and no lock once stopped.
    expect(fs.existsSync(path.join(dir, 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['pgdata']);
  });

  test('a second run on the same folder sees the data written by the first', async () => {
    const dir = await databaseFolder();
    const first = startDatabase(dir);
    const port = await first.listening(OPEN_MS);
    await query(port, 'CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)');
    await query(port, 'INSERT INTO notes (body) VALUES ($1), ($2)', ['written by the first', 'and kept']);
    expect((await first.stop()).code).toBe(0);

    const second = startDatabase(dir);
    const port2 = await second.listening(OPEN_MS);
    expect(second.output).toContain('Opening the database');
    expect(second.output).not.toContain('Creating');
    expect(await query(port2, 'SELECT body FROM notes ORDER BY id')).toEqual([{ body: 'written by the first' }, { body: 'and kept' }]);
  });

  test('a second process on a folder in use refuses to start (exit 75), and the first keeps serving', async () => {
    const dir = await databaseFolder();
    const first = startDatabase(dir);
    const port = await first.listening(OPEN_MS);

    const second = await run('acme-database.mjs', [`--data=${dir}`, '--port=0']);
    expect(second.code).toBe(75);
    expect(second.stderr).toContain(`the data folder ${dir} is in use by another database process: process ${first.child.pid} holds it`);
    expect(second.output).not.toContain('Listening');
    expect(await query(port, 'SELECT 1 AS still')).toEqual([{ still: 1 }]);
  });

  test('a lock left by a killed process is taken over, and the data written before the kill is there', async () => {
    const dir = await databaseFolder();
    const first = startDatabase(dir);
    const port = await first.listening(OPEN_MS);
    await query(port, 'CREATE TABLE crash (x int); INSERT INTO crash VALUES (7)');
    await first.kill();
    expect(fs.existsSync(path.join(dir, 'acme-database.lock'))).toBe(true);

    const second = startDatabase(dir);
    const port2 = await second.listening(OPEN_MS);
    expect(second.output).toContain(`Took over a stale lock on ${dir}: process ${first.child.pid} is gone.`);
    expect(await query(port2, 'SELECT x FROM crash')).toEqual([{ x: 7 }]);
  });

  test('serves several clients at once (one query at a time between them), and --max-connections=1 refuses a second', async () => {
    const dir = await databaseFolder();
    const db = startDatabase(dir);
    const port = await db.listening(OPEN_MS);
    const clients = [0, 1, 2].map(() => new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      await clients[0]!.query('CREATE TABLE hits (n int)');
      await Promise.all(clients.map(async (c, i) => {
        for (let k = 0; k < 20; k++) await c.query('INSERT INTO hits VALUES ($1)', [i]);
      }));
      expect((await clients[1]!.query('SELECT count(*)::int AS n FROM hits')).rows).toEqual([{ n: 60 }]);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
    }
    expect((await db.stop()).code).toBe(0);

    const single = startDatabase(dir, 0, ['--max-connections=1']);
    const port1 = await single.listening(OPEN_MS);
    const a = new pg.Client({ host: '127.0.0.1', port: port1, user: 'postgres', database: 'postgres' });
    const b = new pg.Client({ host: '127.0.0.1', port: port1, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5000 });
    try {
      await a.connect();
      await expect(b.connect()).rejects.toThrow();
      await single.waitFor(/Refused client 127\.0\.0\.1:\d+: already 1 connected/);
      expect((await a.query('SELECT count(*)::int AS n FROM hits')).rows).toEqual([{ n: 60 }]);
    } finally {
      await a.end().catch(() => {});
      await b.end().catch(() => {});
    }
  });

  test('a bad command line exits 64 with a usage line', async () => {
    for (const args of [['--port=5432'], ['--data=/tmp/x', '--bogus=1'], ['--data', '/tmp/x'], ['--data=/tmp/x', '--port=99999']]) {
      const result = await run('acme-database.mjs', args);
      expect(result.code, args.join(' ')).toBe(64);
      expect(result.stderr).toMatch(/^usage: acme-database\.mjs --data=<dir>/m);
    }
  });
});

describe.skipIf(otherLeg)('acme-web-app', () => {
  // Most of these need a database folder; make the first one here if the tests above did not run.
  beforeAll(() => template(), CREATE_MS);

  test('without a database it still answers 200 and says it is not connected, with the reason', async () => {
    const app = new App('acme-web-app.mjs', ['--port=0', '--database=database:5432']);
    const port = await app.listening();
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    // No JOBDECK_PEERS and no "database" in this machine's hosts file: the name does not resolve.
    expect(html).toMatch(/Not connected to the database: [^<]*(ENOTFOUND|EAI_AGAIN)/);
    expect(html).not.toContain('Visits:');

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const api = await fetch(`http://127.0.0.1:${port}/api/visits`);
    expect(await api.json()).toMatchObject({ connected: false, visits: null });
    expect((await fetch(`http://127.0.0.1:${port}/nothing-here`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' })).status).toBe(405);
  });

  test('a bad command line exits 64, a malformed JOBDECK_PEERS exits 78', async () => {
    for (const args of [['--bogus'], ['--port', '8080'], ['--database=no port:x'], ['--port=http']]) {
      const result = await run('acme-web-app.mjs', args);
      expect(result.code, args.join(' ')).toBe(64);
      expect(result.stderr).toMatch(/^usage: acme-web-app\.mjs \[--port=8080\] \[--database=database:5432\]$/m);
    }
    const peers = await run('acme-web-app.mjs', ['--port=0'], { JOBDECK_PEERS: '{"database": "not an address"}' });
    expect(peers.code).toBe(78);
    expect(peers.stderr).toContain('JOBDECK_PEERS');
  });

  describe('with a database', () => {
    let dbPort = 0;
    beforeAll(async () => {
      const db = keep(startDatabase(await databaseFolder()));
      dbPort = await db.listening(OPEN_MS);
    }, CREATE_MS);
    afterAll(async () => {
      await Promise.all([...kept].map((app) => app.kill()));
      kept.clear();
    });

    const visits = async (port: number) => {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(response.status).toBe(200);
      const html = await response.text();
      return { html, visits: Number(/Visits: (\d+)/.exec(html)?.[1] ?? NaN) };
    };

    test('says it is connected, and the counter grows by one per page view (1, 2, 3)', async () => {
      const app = new App('acme-web-app.mjs', ['--port=0', `--database=127.0.0.1:${dbPort}`]);
      const port = await app.listening();
      const views = [await visits(port), await visits(port), await visits(port)];
      expect(views.map((v) => v.visits)).toEqual([1, 2, 3]);
      expect(views[0]!.html).toContain(`Connected to the database at 127.0.0.1:${dbPort}`);
      // /health and /api/visits do not count.
      await fetch(`http://127.0.0.1:${port}/health`);
      expect(await (await fetch(`http://127.0.0.1:${port}/api/visits`)).json()).toMatchObject({ connected: true, visits: 3 });
      expect(app.output).toContain(`Connected to the database at 127.0.0.1:${dbPort}`);
    });

    test('concurrent page views each count once', async () => {
      const app = new App('acme-web-app.mjs', ['--port=0', `--database=127.0.0.1:${dbPort}`]);
      const port = await app.listening();
      const before = (await visits(port)).visits;
      const views = await Promise.all(Array.from({ length: 20 }, () => visits(port)));
      const counts = views.map((v) => v.visits).sort((x, y) => x - y);
      expect(counts).toEqual(Array.from({ length: 20 }, (_, i) => before + 1 + i));
      expect(app.output).not.toContain('DeprecationWarning');
    });

    test('honours JOBDECK_PEERS: "database" maps to 127.0.0.1', async () => {
      const app = new App('acme-web-app.mjs', ['--port=0', `--database=database:${dbPort}`], {
        JOBDECK_PEERS: JSON.stringify({ database: '127.0.0.1' }),
      });
      const port = await app.listening();
      const view = await visits(port);
      expect(view.html).toContain(`Connected to the database at database:${dbPort}`);
      expect(view.visits).toBeGreaterThan(0);
      // The page says so as soon as it is connected; the line on its stdout reaches this process through a pipe, a
      // moment later on a busy machine, so reading it at once can miss it.
      await expect.poll(() => app.output, { timeout: 20_000, interval: 20 }).toContain(`Connected to the database at database:${dbPort} (address 127.0.0.1, from JOBDECK_PEERS)`);
    });

    test('echoes WebSocket messages at /ws, text and binary', async () => {
      const app = new App('acme-web-app.mjs', ['--port=0', `--database=127.0.0.1:${dbPort}`]);
      const port = await app.listening();
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      try {
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        const next = () =>
          new Promise<{ data: Buffer; isBinary: boolean }>((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
        let reply = next();
        ws.send('hello, proxy');
        expect(await reply).toMatchObject({ isBinary: false });
        expect((await reply).data.toString()).toBe('hello, proxy');
        reply = next();
        ws.send(Buffer.from([0, 1, 2, 255]));
        const binary = await reply;
        expect(binary.isBinary).toBe(true);
        expect([...binary.data]).toEqual([0, 1, 2, 255]);
      } finally {
        ws.close();
      }
      // Another path is not a WebSocket endpoint.
      const other = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
      await expect(new Promise((resolve, reject) => {
        other.once('open', resolve);
        other.once('error', reject);
      })).rejects.toThrow(/404/);
    });

    test('SIGTERM stops it promptly (exit 0), even with a WebSocket and a keep-alive connection open', async () => {
      const app = new App('acme-web-app.mjs', ['--port=0', `--database=127.0.0.1:${dbPort}`]);
      const port = await app.listening();
      await visits(port);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await new Promise((resolve) => ws.once('open', resolve));
      const exit = await app.stop();
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.ms).toBeLessThan(2000);
      ws.terminate();
    });
  });

  test('after the database stops the page says not connected; a new database process on the same folder is found again and the count goes on', async () => {
    const dir = await databaseFolder();
    const db = startDatabase(dir);
    const dbPort = await db.listening(OPEN_MS);
    const app = new App('acme-web-app.mjs', ['--port=0', `--database=database:${dbPort}`], { JOBDECK_PEERS: JSON.stringify({ database: '127.0.0.1' }) });
    const port = await app.listening();
    const view = async () => (await fetch(`http://127.0.0.1:${port}/`)).text();

    expect(await view()).toContain('Visits: 1');
    expect(await view()).toContain('Visits: 2');

    expect((await db.stop()).code).toBe(0);
    await app.waitFor(/Disconnected from the database at database:\d+/);
    const down = await view();
    expect(down).toContain('Not connected to the database: connect ECONNREFUSED 127.0.0.1:');
    expect(await (await fetch(`http://127.0.0.1:${port}/api/visits`)).json()).toMatchObject({ connected: false, visits: null });

    const again = startDatabase(dir, dbPort);
    await again.listening(OPEN_MS);
    // The very next page view reconnects (it does not wait for the background retry).
    const back = await view();
    expect(back).toContain(`Connected to the database at database:${dbPort}`);
    expect(back).toContain('Visits: 3');
    expect(await view()).toContain('Visits: 4');
    expect(app.output.match(/Connected to the database/g)?.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  test('a statement the database refuses: still connected, the reason shown, and everything it prints is escaped', async () => {
    const dir = await databaseFolder();
    const db = startDatabase(dir);
    const dbPort = await db.listening(OPEN_MS);
    await query(dbPort, `
      CREATE TABLE visits (id integer PRIMARY KEY, count bigint NOT NULL);
      CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '<script>alert("no")</script> & more'; END $$;
      CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON visits FOR EACH ROW EXECUTE FUNCTION refuse();`);
    const app = new App('acme-web-app.mjs', ['--port=0', `--database=127.0.0.1:${dbPort}`]);
    const port = await app.listening();
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`Connected to the database at 127.0.0.1:${dbPort}`);
    expect(html).toContain('Could not count this visit: &#60;script&#62;alert(&#34;no&#34;)&#60;/script&#62; &#38; more');
    expect(html).not.toContain('<script>');
    expect(await (await fetch(`http://127.0.0.1:${port}/api/visits`)).json()).toMatchObject({ connected: true, visits: 0 });
  });
});
