/**
 * Task updates per second through postStatus → tasks.listen, pushed until latency or loss degrades (issue 7).
 *
 *   npx tsx bench/limits-task-rate.ts [--rates 2000,4000,6000,8000,12000] [--seconds 6] [--postgres <url>]
 *                                     [--max-sockets 256] [--server-env KEY=VALUE,…] [--all]
 *
 * Runs bench/tasks-delivery.ts (`--only jobdeck`: a fresh `server/main.ts` per rate, 100 tasks, 50 listeners,
 * open-loop offered rate, then a saturation phase of 64 back-to-back posters) once per rate, and stops after
 * the first rate at which the pipeline no longer keeps up: delivered < 90 % of offered, p99 > 1 s, errors or
 * lost updates. Bounded: at most --rates runs of --seconds each (plus start-up), loopback only. The load
 * generator runs on the same 2 cores as the server. Prints one JSON document as its last line.
 * 503 answers (load shedding) are counted as `shed`, not as errors; --all runs every rate without stopping.
 * --max-sockets and --server-env are passed to bench/tasks-delivery.ts (e.g. to compare shedding off and on).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { args, option } from './cli-options';

const RATES = option('rates', '2000,4000,6000,8000,12000').split(',').map(Number);
const SECONDS = option('seconds', '6');
const POSTGRES = option('postgres', '');
const PASS_THROUGH = ['max-sockets', 'server-env'].flatMap((name) => (args.includes(`--${name}`) ? [`--${name}`, option(name, '')] : []));
const ALL = args.includes('--all');

interface Phase {
  posted: number;
  acknowledged: number;
  errors: number;
  shed: number;
  lost: number;
  deliveredPerSecond: number;
  answerMs: { p50: number | null; p99: number | null };
  serverRssPeakMB: number | null;
  latencyMs: { p50: number | null; p99: number | null; max: number | null };
}

const runs: Record<string, unknown>[] = [];
let degradedAt: number | null = null;
for (const rate of RATES) {
  const run = spawnSync(
    process.execPath,
    ['node_modules/tsx/dist/cli.mjs', 'bench/tasks-delivery.ts', '--only', 'jobdeck', '--rate', String(rate), '--seconds', SECONDS, '--warmup', '2', ...(POSTGRES ? ['--postgres', POSTGRES] : []), ...PASS_THROUGH],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const last = (run.stdout ?? '').trim().split('\n').at(-1) ?? '';
  let result: { fixedRate: Phase; saturation: Phase };
  try {
    result = JSON.parse(last);
  } catch {
    runs.push({ offeredPerSecond: rate, error: `exit ${run.status}: ${last.slice(0, 300)}` });
    degradedAt = rate;
    break;
  }
  const f = result.fixedRate;
  const row = {
    offeredPerSecond: rate,
    deliveredPerSecond: f.deliveredPerSecond,
    latencyMs: f.latencyMs,
    errors: f.errors,
    shed: f.shed,
    shedShare: f.posted > 0 ? Math.round((f.shed / f.posted) * 1000) / 1000 : 0,
    answerMs: f.answerMs,
    serverRssPeakMB: f.serverRssPeakMB,
    lost: f.lost,
    saturationDeliveredPerSecond: result.saturation.deliveredPerSecond,
    saturationLatencyMs: result.saturation.latencyMs,
    saturationLost: result.saturation.lost,
    saturationShed: result.saturation.shed,
    saturationServerRssPeakMB: result.saturation.serverRssPeakMB,
    loadAverage: Math.round(os.loadavg()[0]! * 10) / 10,
  };
  runs.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
  const degraded = f.deliveredPerSecond < 0.9 * rate || (f.latencyMs.p99 ?? Infinity) > 1000 || f.errors > 0 || f.lost > 0;
  if (degraded && !ALL) {
    degradedAt = rate;
    break;
  }
}

console.log(
  JSON.stringify({
    benchmark: 'limits: task updates per second',
    storage: POSTGRES ? 'postgres' : 'pglite',
    scenario: { tasks: 100, listeners: 50, secondsPerRate: Number(SECONDS), saturationConcurrency: 64, options: PASS_THROUGH.join(' ') },
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    date: new Date().toISOString(),
    runs,
    degradedAt,
  }),
);
