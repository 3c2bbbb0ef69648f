// The initial route's JavaScript, gzipped: what a first visit downloads before the first page can render.
// Builds the SPA, then follows index.html's module script and its static imports (lazy routes are excluded).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'error'], { stdio: 'inherit' });
const dist = 'dist/public';
const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
const entries = [...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g)].map((m) => m[1]!);
const preloads = [...html.matchAll(/<link rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g)].map((m) => m[1]!);

const seen = new Set<string>();
const queue = [...entries, ...preloads];
while (queue.length > 0) {
  const file = queue.shift()!;
  if (seen.has(file)) continue;
  seen.add(file);
  const code = fs.readFileSync(path.join(dist, file), 'utf8');
  // Static imports only (`import … from "./x.js"` / `import "./x.js"`); `import("./x.js")` is a lazy route.
  for (const m of code.matchAll(/(?:^|[;}\s])import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) {
    queue.push(path.posix.join(path.posix.dirname(file), m[1]!));
  }
}
const gz = (f: string) => zlib.gzipSync(fs.readFileSync(path.join(dist, f)), { level: 9 }).length;
const initial = [...seen].reduce((sum, f) => sum + gz(f), 0);
const all = fs.readdirSync(path.join(dist, 'assets')).filter((f) => f.endsWith('.js'));
const total = all.reduce((sum, f) => sum + gz(`assets/${f}`), 0);
console.log(JSON.stringify({
  initialRouteJsGzipKb: +(initial / 1024).toFixed(1),
  initialRouteFiles: [...seen],
  allJsGzipKb: +(total / 1024).toFixed(1),
  lazyChunks: all.length - seen.size,
  budgetKb: 130,
}));
