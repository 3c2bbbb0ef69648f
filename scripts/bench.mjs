// `npm run bench`: runs every benchmark in bench/ (each prints one JSON document as its last stdout line),
// writes bench/results.json with the machine and date, and prints a Markdown table for the README.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

// `node scripts/bench.mjs [name…] [-- option…]`: the options after `--` go to every benchmark run.
const argv = process.argv.slice(2);
const cut = argv.indexOf('--');
const only = cut < 0 ? argv : argv.slice(0, cut);
const passed = cut < 0 ? [] : argv.slice(cut + 1);
const files = fs
  .readdirSync('bench')
  .filter((f) => /\.bench\.(ts|mjs)$/.test(f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results = {};
for (const file of files) {
  console.log(`\n=== bench/${file} ===`);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', `bench/${file}`, ...passed], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 30 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(run.stdout ?? '');
  const last = (run.stdout ?? '').trim().split('\n').at(-1) ?? '';
  const name = file.replace(/\.bench\.(ts|mjs)$/, '');
  try {
    results[name] = { ...JSON.parse(last), wallSeconds: (Date.now() - started) / 1000, ranAt: new Date(started).toISOString() };
  } catch {
    // Under the same name as a success, so the next successful run replaces it.
    results[name] = { error: `exit ${run.status}; last line was not JSON`, ranAt: new Date(started).toISOString() };
  }
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const doc = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`,
  results,
};
const previous = fs.existsSync('bench/results.json') ? JSON.parse(fs.readFileSync('bench/results.json', 'utf8')) : { results: {} };
if (only.length > 0) doc.results = { ...previous.results, ...results };
fs.writeFileSync('bench/results.json', JSON.stringify(doc, null, 2) + '\n');
console.log(`\nwrote bench/results.json (${doc.machine}, ${doc.date})`);
// The README's performance table is generated from results.json (scripts/bench-table.mjs).
const tableRun = spawnSync(process.execPath, ['scripts/bench-table.mjs'], { stdio: 'inherit' });
if (tableRun.status !== 0) console.error('bench-table failed; README.md not updated');
