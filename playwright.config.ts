import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * A free port, found once: the config is loaded again in every worker, and they inherit this process's environment,
 * so setting JOBDECK_E2E_PORT here gives them all the same one. Two checkouts can then test at once.
 */
function freePort(): number {
  const script = "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}
process.env.JOBDECK_E2E_PORT ||= String(freePort());
export const E2E_PORT = Number(process.env.JOBDECK_E2E_PORT);
export const E2E_DATA_DIR = 'test-results/e2e-data';

// Debian's Chromium (Playwright cannot download its own browsers here); CHROMIUM_PATH overrides.
const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'].find((p) => p && fs.existsSync(p));

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  // A committed `test.only` would shrink the run without notice: under CI (`.ci/run` sets CI=true) it fails the run.
  forbidOnly: !!process.env.CI,
  // The journeys run real jobs (a new database takes seconds to create) on a machine that may be busy.
  timeout: 180_000,
  expect: { timeout: 20_000 },
  outputDir: 'test-results/playwright',
  use: {
    baseURL: `http://127.0.0.1:${E2E_PORT}`,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      ...(executablePath ? { executablePath } : {}),
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: {
    // The real server on a fresh data directory: real HTTP, sockets and persistence, no mocks.
    command: `node scripts/e2e-server.mjs`,
    url: `http://127.0.0.1:${E2E_PORT}/api/health`,
    reuseExistingServer: false,
    // SIGTERM, so the server's shutdown stops the journeys' jobs (a SIGKILL would leave them running).
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      PORT: String(E2E_PORT),
      JOBDECK_DATA_DIR: E2E_DATA_DIR,
      // Real jobs (the default backend), queued for 2 s before they start: long enough to see IN_QUEUE turn RUNNING live.
      JOBDECK_EXAMPLE_QUEUE_MS: '2000',
      // The journeys' jobs stop with the server, so a run leaves no process behind.
      JOBDECK_EXAMPLE_KEEP_JOBS: 'off',
    },
  },
});
