/**
 * What the browser benchmarks share (tray.bench.ts, job-list.bench.ts): the bundled build, the real server on a
 * data directory of the bench's, and headless Chromium with the flags this machine needs.
 */
import { chromium, type Browser } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** The value at percentile `p` of already sorted values (NaN when there are none). */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Builds the SPA and the server bundle, as `npm start` does. */
export function buildBundles(log: (line: string) => void): void {
  log('building the SPA and the server…');
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'error'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-server.mjs'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export interface BundledServer {
  process: ChildProcess;
  port: number;
  base: string;
  /** SIGTERM, and the data directory removed. Also runs when this process exits. */
  cleanup: () => void;
}

/** Starts `dist/server/main.js` on a spare port over `dataDir` and waits for /api/health (120 s at most). */
export async function startBundledServer(dataDir: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<BundledServer> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...nodeArgs, 'dist/server/main.js'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', JOBDECK_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const cleanup = () => {
    child.kill('SIGTERM');
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) break;
    } catch {
      // not listening yet
    }
    // A fresh PGlite database takes seconds to create and migrate, tens of seconds on a busy machine.
    if (i > 1200) throw new Error('the server did not start within 120 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { process: child, port, base, cleanup };
}

/** Debian's Chromium (CHROMIUM_PATH overrides), headless, with the flags the machine's closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? (fs.existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}
