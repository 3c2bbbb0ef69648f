// Bundles the server and CLI for plain `node` (Node 20 cannot run TypeScript itself), and ships the
// migrations, default catalog, job supervisor and application programs beside the bundle, where the code looks for them.
import { build } from 'esbuild';
import fs from 'node:fs';

const started = Date.now();
await build({
  entryPoints: { main: 'server/main.ts', cli: 'server/cli.ts' },
  outdir: 'dist/server',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
fs.rmSync('dist/server/migrations', { recursive: true, force: true });
fs.cpSync('server/db/migrations', 'dist/server/migrations', { recursive: true });
fs.copyFileSync('server/catalog/default-catalog.yaml', 'dist/server/default-catalog.yaml');
// What the built-in provider runs as separate processes: each job's supervisor, and the applications' programs.
fs.copyFileSync('server/provider/local/supervisor.mjs', 'dist/server/supervisor.mjs');
fs.copyFileSync('server/provider/local/collect-worker.mjs', 'dist/server/collect-worker.mjs');
fs.rmSync('dist/server/apps', { recursive: true, force: true });
fs.cpSync('server/provider/apps', 'dist/server/apps', {
  recursive: true,
  filter: (source) => !/\.test\.[cm]?[jt]s$/.test(source) && !/(^|\/)_/.test(source.slice('server/provider/apps'.length)),
});
console.log(`server bundled into dist/server in ${Date.now() - started} ms`);
