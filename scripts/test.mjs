// `npm test`: every test — unit and server (Vitest, on PGlite, then again on a real PostgreSQL when one
// is reachable), and the browser journeys (Playwright in Chromium against the real server).
// Ends with one plain line: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import pg from 'pg';

const results = 'test-results';
fs.mkdirSync(results, { recursive: true });
const node = process.execPath;
const totals = { passed: 0, failed: 0, skipped: 0 };
// Names of failed tests, printed in the summary: CI keeps only the tail of the output, and the tail must say what failed.
const failures = [];

function firstLine(text) {
  // eslint-disable-next-line no-control-regex -- strips the terminal colours from assertion messages
  return String(text ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 300) ?? '';
}
const legs = [];

function run(label, args, env = {}) {
  console.log(`\n=== ${label} ===`);
  const result = spawnSync(node, args, { stdio: 'inherit', env: { ...process.env, ...env } });
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
  totals.skipped += skipped;
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
  legs.push(`${label}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${flaky ? ` (${flaky} flaky)` : ''}`);
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
  totals.skipped += s.skipped ?? 0;
  legs.push(`${label}: ${passed} passed, ${failed} failed${s.flaky ? ` (${s.flaky} flaky)` : ''}`);
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

async function postgresReachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
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

// In CI a failed test gets one more try, as Playwright's do (playwright.config.ts); the summary names every test
// that needed it, so a flake is reported, never hidden.
const retry = process.env.CI ? ['--retry=1'] : [];

// 1. Unit, contract and server tests on PGlite.
const unitReport = `${results}/vitest.json`;
fs.rmSync(unitReport, { force: true });
let status = run('unit, contract and server tests (PGlite)', ['node_modules/vitest/vitest.mjs', 'run', ...retry, '--reporter=default', '--reporter=json', `--outputFile.json=${unitReport}`]);
countVitest(unitReport, 'vitest (PGlite)', status);

// 2. The server suite again on a real PostgreSQL.
const pgUrl = process.env.JOBDECK_TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test';
if (await postgresReachable(pgUrl)) {
  const pgReport = `${results}/vitest-postgres.json`;
  fs.rmSync(pgReport, { force: true });
  status = run('server tests (PostgreSQL)', ['node_modules/vitest/vitest.mjs', 'run', '--project', 'server', ...retry, '--reporter=default', '--reporter=json', `--outputFile.json=${pgReport}`], {
    JOBDECK_TEST_DATABASE_URL: pgUrl,
  });
  countVitest(pgReport, 'vitest server (PostgreSQL)', status);
} else {
  const safeUrl = pgUrl.replace(/\/\/[^@]*@/, '//');
  legs.push(`PostgreSQL leg skipped: no PostgreSQL reachable at ${safeUrl} (set JOBDECK_TEST_DATABASE_URL to run it)`);
}

// 3. Browser journeys against the real server.
if (args.has('--no-e2e')) {
  legs.push('browser journeys skipped (--no-e2e)');
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

console.log('\n=== summary ===');
for (const leg of legs) console.log(`- ${leg}`);
if (failures.length > 0) {
  console.log('failed or flaky tests:');
  for (const failure of failures) console.log(`  ${failure.includes('(flaky') ? '~' : 'x'} ${failure}`);
}
const line = `${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`;
fs.writeFileSync(`${results}/summary.txt`, line + '\n');
console.log(line);
process.exit(totals.failed > 0 ? 1 : 0);
