// `npm test`: first the quick checks (is PostgreSQL there, tsc --noEmit, ESLint), then every test — unit and
// server (Vitest, on PGlite, then again on a real PostgreSQL), and the browser journeys (Playwright in Chromium
// against the real server). Ends with one plain line: "N passed, N failed", plus ", N skipped" when tests were
// not run (the line above it says which and why); the line above that is "flaky: N (passed on retry)".
// Under CI (`.ci/run` sets CI=true) a PostgreSQL that cannot be reached fails the run at once.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import pg from 'pg';

const results = 'test-results';
fs.mkdirSync(results, { recursive: true });
// The last line of this run, for CI. Removed first: a run that crashes must not leave the previous run's result.
const summaryFile = `${results}/summary.txt`;
fs.rmSync(summaryFile, { force: true });
const node = process.execPath;
const ci = Boolean(process.env.CI);
// skippedByLeg: tests that skipped themselves; notRun: whole legs that did not run, each with how many tests it holds.
const totals = { passed: 0, failed: 0, flaky: 0 };
const skippedByLeg = [];
const notRun = [];
// Names of failed tests, printed in the summary: CI keeps only the tail of the output, and the tail must say what failed.
const failures = [];

function firstLine(text) {
  // eslint-disable-next-line no-control-regex -- strips the terminal colours from assertion messages
  return String(text ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 300) ?? '';
}
const legs = [];

/** Runs a leg in the foreground. `env` adds to this process's environment, or replaces it when `replace`. */
function run(label, args, env = {}, replace = false) {
  console.log(`\n=== ${label} ===`);
  const result = spawnSync(node, args, { stdio: 'inherit', env: replace ? env : { ...process.env, ...env } });
  return result.status ?? 1;
}

function countVitest(file, label, status) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    // A leg that crashed before reporting still counts as a failure.
    legs.push(`${label}: no report (exit ${status})`);
    totals.failed += 1;
    return;
  }
  const passed = report.numPassedTests ?? 0;
  const failed = (report.numFailedTests ?? 0) + (status !== 0 && report.numFailedTests === 0 ? 1 : 0);
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  totals.passed += passed;
  totals.failed += failed;
  if (skipped) skippedByLeg.push({ label, count: skipped });
  let flaky = 0;
  for (const file of report.testResults ?? []) {
    const relative = path.relative(process.cwd(), file.name ?? '');
    for (const test of file.assertionResults ?? []) {
      if (test.status === 'failed') failures.push(`${label}: ${relative} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
      // Passed with a failure on record: it failed once and passed on its retry (CI allows one, as Playwright does).
      if (test.status === 'passed' && (test.failureMessages ?? []).length > 0) {
        flaky += 1;
        failures.push(`${label} (flaky, passed on retry): ${relative} > ${test.fullName}: ${firstLine(test.failureMessages[0])}`);
      }
    }
    if ((file.assertionResults ?? []).length === 0 && file.status === 'failed') failures.push(`${label}: ${relative}: ${firstLine(file.message)}`);
  }
  totals.flaky += flaky;
  legs.push(`${label}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${flaky ? ` (${flaky} flaky)` : ''}`);
  return report;
}

function countPlaywright(file, label, status) {
  let report;
  try {
    report = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    legs.push(`${label}: no report (exit ${status})`);
    totals.failed += 1;
    return;
  }
  const s = report.stats ?? {};
  const passed = (s.expected ?? 0) + (s.flaky ?? 0);
  const failed = (s.unexpected ?? 0) + (status !== 0 && !s.unexpected ? 1 : 0);
  totals.passed += passed;
  totals.failed += failed;
  totals.flaky += s.flaky ?? 0;
  if (s.skipped) skippedByLeg.push({ label, count: s.skipped });
  legs.push(`${label}: ${passed} passed, ${failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}${s.flaky ? ` (${s.flaky} flaky)` : ''}`);
  const walk = (suite, titles) => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        if (test.status === 'unexpected' || test.status === 'flaky') {
          const error = test.results?.find((r) => r.error)?.error?.message;
          failures.push(`${label}${test.status === 'flaky' ? ' (flaky, passed on retry)' : ''}: ${[...titles, spec.title].filter(Boolean).join(' > ')}: ${firstLine(error)}`);
        }
      }
    }
    for (const child of suite.suites ?? []) walk(child, [...titles, child.title]);
  };
  for (const suite of report.suites ?? []) walk(suite, [suite.title]);
}

/** Why PostgreSQL at `url` cannot be used, or null when it can. */
async function postgresUnreachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error?.message || String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** `url` without its user and password. */
const withoutCredentials = (url) => url.replace(/\/\/[^@/]*@/, '//');

/**
 * A quick check (tsc, ESLint), run with its output captured so two can run side by side; prints it when done.
 * Resolves to { status, output, seconds }.
 */
function check(label, args) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => (output += String(error)));
    child.on('close', (code) => {
      const seconds = Math.round((Date.now() - started) / 1000);
      console.log(`\n=== ${label} (${seconds} s) ===`);
      if (output.trim()) console.log(output.trimEnd());
      resolve({ status: code ?? 1, output, seconds });
    });
  });
}

/** The first few errors of tsc's or ESLint's (stylish) output, one line each, for the summary. */
function checkErrors(label, output) {
  const lines = [];
  let file = '';
  for (const raw of output.split('\n')) {
    const l = raw.trimEnd();
    if (/error TS\d+/.test(l)) lines.push(l.trim());
    else if (/^\S+: \d+ lines, over the/.test(l)) lines.push(l);
    else if (/^\S.*\.(m?[jt]sx?|cjs)$/.test(l)) file = path.relative(process.cwd(), l.trim());
    else {
      const m = /^\s+(\d+:\d+)\s+(error|warning)\s+(.*)$/.exec(l);
      if (m) lines.push(`${file}:${m[1]} ${m[2]} ${m[3].replace(/\s{2,}/g, ' ')}`);
    }
  }
  if (lines.length === 0) lines.push(firstLine(output) || 'failed without a message');
  const shown = lines.slice(0, 10).map((l) => `${label}: ${l.slice(0, 300)}`);
  if (lines.length > 10) shown.push(`${label}: … and ${lines.length - 10} more (see its output above)`);
  return shown;
}

function findChromium() {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p) => p && fs.existsSync(p)) ?? null;
}

function ensureChromium() {
  let chromium = findChromium();
  if (chromium) return chromium;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    console.log('No Chromium found; installing Debian\'s chromium with apt-get (about a minute)...');
    spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], { stdio: 'inherit' });
    chromium = findChromium();
  }
  return chromium;
}

const args = new Set(process.argv.slice(2));

/** Prints the summary and the last line, writes summary.txt, and exits: 1 when anything failed. */
function finish() {
  console.log('\n=== summary ===');
  for (const leg of legs) console.log(`- ${leg}`);
  if (failures.length > 0) {
    console.log('failed or flaky tests:');
    for (const failure of failures) console.log(`  ${failure.includes('(flaky') ? '~' : 'x'} ${failure}`);
  }
  // Counted in "passed", but never hidden: the total here, each one by name above.
  console.log(`flaky: ${totals.flaky} (passed on retry)`);
  // ", N skipped" counts tests that did not run: those that skipped themselves, and those of a leg that was not run
  // (its test count); the line above the last says which and why.
  const skipped = skippedByLeg.reduce((n, s) => n + s.count, 0) + notRun.reduce((n, s) => n + s.count, 0);
  if (skipped > 0) {
    const why = [
      ...notRun.map((s) => `${s.count} in ${s.leg} (not run: ${s.why})`),
      ...skippedByLeg.map((s) => `${s.count} that skipped themselves in ${s.label} (why: in its output)`),
    ];
    console.log(`skipped: ${skipped} = ${why.join(' + ')}`);
  }
  const line = `${totals.passed} passed, ${totals.failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
  fs.writeFileSync(summaryFile, line + '\n');
  console.log(line);
  process.exit(totals.failed > 0 ? 1 : 0);
}

// In CI a failed test gets one more try, as Playwright's do (playwright.config.ts); the summary names every test
// that needed it, so a flake is reported, never hidden.
const retry = ci ? ['--retry=1'] : [];

// 0. Is the PostgreSQL of the PostgreSQL leg there? Under CI it must be, and the run stops here if it is not,
// rather than after the slow legs (or, as it once did, ending green with none of its tests run).
const pgUrl = process.env.JOBDECK_TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test';
const pgUnreachable = await postgresUnreachable(pgUrl);
if (pgUnreachable) {
  const why = `no PostgreSQL reachable at ${withoutCredentials(pgUrl)} (${pgUnreachable})`;
  console.log(`\n=== PostgreSQL ===\n${why}`);
  if (ci) {
    totals.failed += 1;
    legs.push(`PostgreSQL: ${why}; under CI the PostgreSQL leg must run (.ci/run installs and starts PostgreSQL)`);
    legs.push('not run: typecheck, lint, vitest, browser journeys (PostgreSQL is missing)');
    finish();
  }
}

// 1. Type errors and lint fail the run within a minute, before the slow legs: tsc and ESLint side by side (two
// cores). tsc covers the type-level tests too (contract/types.test.ts: expectTypeOf does nothing at run time).
// The module-size check (scripts/check-module-size.mjs, part of `npm run lint`) takes well under a second.
const [typecheck, eslint, moduleSize] = await Promise.all([
  check('typecheck (tsc --noEmit)', ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.json']),
  check('lint (eslint)', ['node_modules/eslint/bin/eslint.js', '.', '--max-warnings=0']),
  check('lint (module size)', ['scripts/check-module-size.mjs']),
]);
const lint = { status: eslint.status || moduleSize.status };
for (const [label, result] of [['typecheck', typecheck], ['lint', eslint], ['module size', moduleSize]]) {
  if (result.status === 0) {
    legs.push(`${label}: passed (${result.seconds} s)`);
  } else {
    totals.failed += 1;
    legs.push(`${label}: failed (exit ${result.status}, ${result.seconds} s)`);
    failures.push(...checkErrors(label, result.output));
  }
}
if (typecheck.status !== 0 || lint.status !== 0) {
  legs.push(`not run: vitest, browser journeys (fix the ${[typecheck.status && 'type', lint.status && 'lint'].filter(Boolean).join(' and ')} errors first)`);
  finish();
}

// 2. Unit, contract and server tests on PGlite: explicitly, whatever JOBDECK_TEST_DATABASE_URL (or DATABASE_URL,
// which the servers that tests start would inherit) the shell exports. The tests that need PostgreSQL whatever the
// leg (several server processes on one database) find it in JOBDECK_TEST_POSTGRES_URL.
const unitReport = `${results}/vitest.json`;
fs.rmSync(unitReport, { force: true });
const pgliteEnv = { ...process.env, JOBDECK_TEST_LEG: 'pglite', JOBDECK_TEST_POSTGRES_URL: pgUrl };
delete pgliteEnv.JOBDECK_TEST_DATABASE_URL;
delete pgliteEnv.DATABASE_URL;
let status = run('unit, contract and server tests (PGlite)', ['node_modules/vitest/vitest.mjs', 'run', ...retry, '--reporter=default', '--reporter=json', `--outputFile.json=${unitReport}`], pgliteEnv, true);
const unit = countVitest(unitReport, 'vitest (PGlite)', status);

// 3. The server suite again on a real PostgreSQL.
if (!pgUnreachable) {
  const pgReport = `${results}/vitest-postgres.json`;
  fs.rmSync(pgReport, { force: true });
  status = run('server tests (PostgreSQL)', ['node_modules/vitest/vitest.mjs', 'run', '--project', 'server', ...retry, '--reporter=default', '--reporter=json', `--outputFile.json=${pgReport}`], {
    JOBDECK_TEST_DATABASE_URL: pgUrl,
    JOBDECK_TEST_LEG: 'postgres',
  });
  countVitest(pgReport, 'vitest server (PostgreSQL)', status);
} else {
  // The leg runs the server project: as many tests as the PGlite leg ran from server/ and contract/.
  const count = (unit?.testResults ?? [])
    .filter((f) => /^(server|contract)\//.test(path.relative(process.cwd(), f.name ?? '')))
    .reduce((n, f) => n + (f.assertionResults ?? []).length, 0);
  const why = `no PostgreSQL reachable at ${withoutCredentials(pgUrl)} (set JOBDECK_TEST_DATABASE_URL to run it)`;
  legs.push(`vitest server (PostgreSQL): not run, ${why}`);
  notRun.push({ leg: 'the PostgreSQL leg', count: Math.max(count, 1), why });
}

// 4. Browser journeys against the real server.
if (args.has('--no-e2e')) {
  // How many journeys that leaves out: Playwright lists them without starting the server.
  const list = spawnSync(node, ['node_modules/@playwright/test/cli.js', 'test', '--list'], { encoding: 'utf8' });
  const count = Number(/Total: (\d+) tests?/.exec(list.stdout ?? '')?.[1] ?? 1);
  legs.push('browser journeys: not run (--no-e2e)');
  notRun.push({ leg: 'the browser journeys', count, why: '--no-e2e' });
} else {
  const chromium = ensureChromium();
  if (!chromium) {
    console.error('\nNo Chromium for the browser tests. Install one (Debian: sudo apt-get install -y chromium) or set CHROMIUM_PATH.');
    totals.failed += 1;
    legs.push('browser journeys: no Chromium');
  } else {
    const build = run('build (SPA and server bundle)', ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn']);
    const buildServer = build === 0 ? run('bundle server', ['scripts/build-server.mjs']) : 1;
    if (buildServer !== 0) {
      totals.failed += 1;
      legs.push('browser journeys: the build failed');
    } else {
      const e2eReport = `${results}/playwright.json`;
      fs.rmSync(e2eReport, { force: true });
      status = run('browser journeys (Playwright, Chromium)', ['node_modules/@playwright/test/cli.js', 'test', '--reporter=list,json'], {
        CHROMIUM_PATH: chromium,
        PLAYWRIGHT_JSON_OUTPUT_NAME: e2eReport,
        JOBDECK_E2E_RUN: crypto.randomBytes(4).toString('hex'),
      });
      countPlaywright(e2eReport, 'playwright', status);
    }
  }
}

finish();
