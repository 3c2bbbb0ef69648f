// Rewrites README.md's performance table (between `<!-- bench:start -->` and `<!-- bench:end -->`) from
// bench/results.json: one row per benchmark with its headline figures, plus the machine and the date.
// `node scripts/bench-table.mjs [results.json] [README.md]`; `npm run bench` calls it at the end.
import fs from 'node:fs';

const resultsFile = process.argv[2] ?? 'bench/results.json';
const readmeFile = process.argv[3] ?? 'README.md';
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

const fmt = (n, digits = 1) => (typeof n === 'number' && Number.isFinite(n) ? Number(n.toFixed(digits)).toLocaleString('en-US') : '–');
const ms = (n) => `${fmt(n)} ms`;

/** Headline figures per benchmark (bench/<name>.bench.ts); anything else shows its first numeric fields. */
const headlines = {
  'bundle-size': (r) => `initial route ${fmt(r.initialRouteJsGzipKb)} kB gzipped JS (budget ${fmt(r.budgetKb, 0)} kB); all JS ${fmt(r.allJsGzipKb)} kB in ${fmt(r.lazyChunks, 0)} lazy chunks`,
  verify: (r) =>
    `sweep over ${fmt(r.activeJobs, 0)} active jobs (${r.storage}, ${r.transport ?? 'HTTP'}): median ${ms(r.sweepMsMedian)} ` +
    `(${fmt(r.jobsPerSecond, 0)} jobs/s); live heap growth 1 k→10 k jobs ${fmt(r.liveHeapGrowthFrom1kTo10kMB)} MB`,
  'tasks-delivery': (r) => {
    const j = r.jobdeck ?? {};
    const f = j.fixedRate ?? {};
    const s = j.saturation ?? {};
    return (
      `${fmt(r.scenario?.offeredRate, 0)} updates/s offered (${r.scenario?.storage ?? '?'}): p50 ${ms(f.latencyMs?.p50)}, p99 ${ms(f.latencyMs?.p99)}, lost ${fmt(f.lost, 0)}; ` +
      `saturation ${fmt(s.deliveredPerSecond, 0)}/s = ${fmt(r.ratioOfBare, 2)} × a bare ws relay` +
      (r.scenario?.saturationRounds ? ` (${fmt(r.scenario.saturationRounds, 0)} alternating rounds, per round ${(r.roundRatios ?? []).map((x) => fmt(x, 2)).join(', ')})` : '') +
      (s.serverCpuUsPerUpdate != null ? ` (server CPU ${fmt(s.serverCpuUsPerUpdate, 0)} µs per update vs the relay's ${fmt(r.bare?.saturation?.serverCpuUsPerUpdate, 0)})` : '') +
      (r.loadAverageAtEnd ? `; load average ${fmt(r.loadAverageAtEnd[0])}` : '') +
      (r.machine ? ` on ${r.machine}` : '') +
      // A second run on the other store, in the same shape (bench/tasks-delivery.ts --postgres …).
      (r.otherStore
        ? `; ${r.otherStore.scenario?.storage ?? '?'}${r.otherStore.scenario?.saturationRounds ? ', in the same run' : ''}: saturation ${fmt(r.otherStore.jobdeck?.saturation?.deliveredPerSecond, 0)}/s = ${fmt(r.otherStore.ratioOfBare, 2)} × the relay` +
          (r.otherStore.roundRatios ? ` (per round ${r.otherStore.roundRatios.map((x) => fmt(x, 2)).join(', ')})` : '') +
          (r.otherStore.jobdeck?.saturation?.serverCpuUsPerUpdate != null ? `, server CPU ${fmt(r.otherStore.jobdeck.saturation.serverCpuUsPerUpdate, 0)} µs per update` : '') +
          `, lost ${fmt(r.otherStore.jobdeck?.saturation?.lost, 0)}, load average ${fmt(r.otherStore.loadAverageAtEnd?.[0])}`
        : '')
    );
  },
  'job-list': (r) => {
    const c = r.runs?.createdAt ?? {};
    const n = r.runs?.name ?? {};
    return (
      `scrolling ${fmt(r.jobs, 0)} jobs (newest first / by name): frame p99 ${ms(c.frameIntervalMs?.p99)} / ${ms(n.frameIntervalMs?.p99)}; ` +
      `${fmt(c.longTasksOver50ms, 0)} / ${fmt(n.longTasksOver50ms, 0)} long tasks > 50 ms; ≤ ${fmt(Math.max(c.maxRowsInDom ?? 0, n.maxRowsInDom ?? 0), 0)} rows in the DOM; ` +
      `page fetch p50 ${ms(c.pageFetchMs?.p50)}; first rows ${ms(c.timeToFirstRowsMs)}; live rows ${fmt(c.liveUpdates?.rowUpdatedInDom, 0)}/${fmt(c.liveUpdates?.sent, 0)}`
    );
  },
  'job-output': (r) =>
    `a job writing ${fmt(r.writtenMB)} MB to stdout as fast as it can, followed in Chromium: last line on the page ${ms(r.lastLineShownAfterMs)} after it was written; ` +
    `${fmt(r.page?.longTasksOver50ms, 0)} long tasks > 50 ms (longest ${ms(r.page?.longestTaskMs)}); server RSS p50 ${fmt(r.serverRssMB?.p50)} MB, max ${fmt(r.serverRssMB?.max)} MB while following` +
    (r.serverRssMB?.growthBound !== undefined
      ? ` (+${fmt(r.serverRssMB.growthMax)} MB over before; bound +${fmt(r.serverRssMB.growthBound, 0)} MB${r.serverRssMB.withinBound ? '' : ', **exceeded**'})`
      : '') +
    `; ` +
    `download ${r.download?.identical ? 'byte-identical' : '**differs**'} (${fmt(r.download?.bytes, 0)} bytes); load average ${fmt(r.loadAverage1)}`,
  proxy: (r) =>
    `a job's web interface, ${String(r.path ?? 'GET /health').replace(/ of a real acme-web-app job/, '')} with ${fmt(r.connections, 0)} connections (${fmt(r.rounds, 0)} alternating rounds): straight to the job ${fmt(r.direct?.requestsPerSecond, 0)} req/s, p99 ${ms(r.direct?.p99Ms)}; ` +
    `through Jobdeck's proxy ${fmt(r.proxy?.requestsPerSecond, 0)} req/s, p99 ${ms(r.proxy?.p99Ms)} (ratio ${fmt(r.ratio, 2)}; target ≥ 0.7${r.ratio >= 0.7 ? '' : ', **not met**'}); ` +
    `Jobdeck CPU ${fmt(r.proxy?.jobdeckCpuUsPerRequest, 0)} µs per proxied request; load average ${fmt(r.loadAverage)}` +
    (r.loadAverageAtStart !== undefined ? ` (${fmt(r.loadAverageAtStart)} at start)` : ''),
  'proxy-page': (r) => headlines.proxy(r),
  'real-jobs': (r) => {
    const a = r.isolation?.auto ?? {};
    const b = r.isolation?.off ?? {};
    const f = r.fill ?? {};
    const left = r.leftovers ?? {};
    const clean = ['netns', 'veths', 'bridges', 'nftTables', 'cgroups'].every((k) => (left[k] ?? []).length === 0) && !left.processes;
    const pair = (s) => `p50 ${ms(s?.p50)} / p99 ${ms(s?.p99)}`;
    return (
      `${fmt(r.jobsPerRound, 0)} acme-web-app jobs, create→RUNNING (${r.order ?? '?'} rounds): with network namespaces one at a time ${pair(a.oneAtATimeMs)}, ` +
      `one bulk request ${pair(a.bulkMs)}; without ${pair(b.oneAtATimeMs)}, ${pair(b.bulkMs)} (×${fmt(r.isolation?.ratio?.oneAtATimeP50, 2)} / ×${fmt(r.isolation?.ratio?.bulkP50, 2)} at p50); ` +
      `fill: ${fmt(f.jobsPerSecond, 2)} jobs/s to ${fmt(f.runningAtEnd, 0)} running at once (stopped by ${String(f.stoppedBy ?? '?').split(':')[0]}), ` +
      `${fmt(f.memory?.perJobMB, 0)} MB of MemAvailable per job (RSS ${fmt(f.memory?.appRssMB, 0)} + ${fmt(f.memory?.supervisorRssMB, 0)} MB, app + supervisor); ` +
      `leftovers ${clean ? 'none' : '**some**'}; ` +
      `load average ${fmt(r.loadAverage?.min)}–${fmt(r.loadAverage?.max)}`
    );
  },
  tray: (r) => {
    const s = r.series;
    const range = (values) => (values?.length ? `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}` : '–');
    const head = s ? `median of ${fmt(s.runs, 0)} runs at ` : '';
    return (
      `${head}${fmt(r.achievedRatePerSecond, 0)} updates/s over ${fmt(r.tasks, 0)} tasks into the page: postStatus→DOM p50 ${ms(r.latencyMs?.p50)}, p99 ${ms(r.latencyMs?.p99)}` +
      (r.logLineLatencyMs ? ` (log lines of the cards in view: p99 ${ms(r.logLineLatencyMs.p99)})` : '') +
      `; ${fmt(r.longTasksOver50ms, 0)} long tasks > 50 ms; heap growth ${fmt(r.heapMB?.growth)} MB` +
      (s
        ? `; all targets met in ${fmt(s.metAllTargets, 0)} of ${fmt(s.runs, 0)} runs (p99 ${range(s.p99Ms)} ms; long tasks > 50 ms per run: ${s.longTasksOver50ms.join(', ')})`
        : '') +
      (r.loadAverage ? `; load average ${fmt(r.loadAverage[0])}` : '')
    );
  },
};

function generic(r) {
  const parts = [];
  for (const [key, value] of Object.entries(r)) {
    if (typeof value === 'number' && key !== 'wallSeconds') parts.push(`${key} ${fmt(value)}`);
    if (parts.length >= 4) break;
  }
  return parts.join(', ') || '(no numeric fields)';
}

function table(doc) {
  const rows = Object.entries(doc.results ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, r]) => {
      const figures = r.error ? `**failed**: ${r.error}` : (headlines[name] ?? generic)(r);
      const when = (r.ranAt ?? doc.date ?? '').replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
      return `| \`bench/${name}.bench.ts\` | ${figures.replaceAll('|', '\\|')} | ${when} |`;
    });
  return [
    `Generated by \`scripts/bench-table.mjs\` from \`bench/results.json\` (\`npm run bench\`); do not edit by hand.`,
    `Machine: ${doc.machine ?? 'unknown'}. Last written ${String(doc.date ?? '?').replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}. ` +
      `The machine is shared, so figures vary from run to run; see docs/scaling.md for repeated measurements and limits.`,
    '',
    '| Benchmark | Headline figures | Run |',
    '| --- | --- | --- |',
    ...rows,
  ].join('\n');
}

if (!fs.existsSync(resultsFile)) {
  console.error(`bench-table: ${resultsFile} does not exist; run \`npm run bench\` first`);
  process.exit(1);
}
const doc = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
const readme = fs.readFileSync(readmeFile, 'utf8');
const start = readme.indexOf(START);
const end = readme.indexOf(END);
if (start < 0 || end < start) {
  console.error(`bench-table: ${readmeFile} has no ${START} … ${END} section`);
  process.exit(1);
}
const updated = `${readme.slice(0, start + START.length)}\n${table(doc)}\n${readme.slice(end)}`;
fs.writeFileSync(readmeFile, updated);
console.log(`bench-table: ${readmeFile} performance table rewritten (${Object.keys(doc.results ?? {}).length} benchmarks)`);
