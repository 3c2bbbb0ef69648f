import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, expect } from './pages/fixtures';
import { uniqueName } from './pages/jobdeck';
import { cluster, slurmPrerequisite, testClusterUrl } from '../server/provider/slurm/testing';

/*
 * Seed 000's acme-batch job on a real Slurm cluster, launched from its form in Chromium: the machine type is a
 * partition of provider `slurm`, the job runs on the cluster as its account, and its printed lines show on the job
 * page. The journey has a server of its own (the built dist, with JOBDECK_SLURM_URL naming the tests' one-node
 * cluster), so the other journeys never see Slurm's products.
 */

const PORT = Number(process.env.JOBDECK_E2E_PORT ?? 18080) + 1;
const BASE = `http://127.0.0.1:${PORT}`;
const DATA_DIR = 'test-results/e2e-slurm-data';
const WORK_DIR = path.resolve('test-results/e2e-slurm-work');
const { available, why } = slurmPrerequisite();

test.use({ baseURL: BASE });

test.describe('a job on Slurm', () => {
  // Outside CI a machine without root or the Slurm packages skips it, saying why; under CI it must run.
  test.skip(!available && !process.env.CI, `needs a Slurm cluster: ${why}`);

  let server: ChildProcess | null = null;
  let signIn = '';

  test.beforeAll(async () => {
    if (!available) throw new Error(`"a job on Slurm" must run under CI, but cannot: ${why}`);
    cluster('start');
    fs.rmSync(DATA_DIR, { recursive: true, force: true });
    fs.rmSync(WORK_DIR, { recursive: true, force: true });
    server = spawn(process.execPath, ['dist/server/main.js'], {
      env: {
        ...process.env,
        PORT: String(PORT),
        JOBDECK_DATA_DIR: DATA_DIR,
        JOBDECK_SLURM_URL: testClusterUrl(),
        JOBDECK_SLURM_WORK_DIR: WORK_DIR,
        JOBDECK_SLURM_POLL_MS: '500',
        JOBDECK_EXAMPLE_KEEP_JOBS: 'off',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let printed = '';
    signIn = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server printed no sign-in link:\n${printed}`)), 60_000);
      server!.stderr!.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
      });
      server!.stdout!.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
        const match = /Sign in as 'user': (\S+)/.exec(printed);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      server!.on('exit', (code) => reject(new Error(`the server exited (${code}):\n${printed}`)));
    });
  });

  test.afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    if (available) cluster('stop');
  });

  test("seed 000's acme-batch on partition 'batch' shows its output on the job page", async ({ page, shell, apps }) => {
    await shell.signInWith(signIn);
    const launch = await apps.launch('Acme Batch');
    // The partitions are products once the provider's first poll has reached the cluster: a reload shows them.
    await expect(async () => {
      await page.reload();
      await expect(launch.machineType().locator('option', { hasText: '(slurm)' }).first()).toBeAttached({ timeout: 2_000 });
    }).toPass({ timeout: 60_000 });
    const option = launch.machineType().locator('option', { hasText: /^batch — .*\(slurm\)$/ });
    await launch.machineType().selectOption({ label: (await option.textContent())! });
    await launch.jobName().fill(uniqueName('slurm-seed-000'));
    await launch.param('Value').fill('Hello, World!');
    await page.getByLabel('Debug mode').selectOption('Yes');
    const job = await launch.launchAndOpenJob();
    await job.expectState('SUCCESS', 90_000);
    await expect(page.getByText(/^Submitted to Slurm as job \d+ on partition 'batch'/)).toBeVisible();
    const log = job.output();
    await log.scrollIntoViewIfNeeded();
    await expect(log.getByText(/^Result: processed "Hello, World!"/)).toBeVisible();

    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [width, height] of [[1280, 860], [390, 844]] as const) {
        await page.setViewportSize({ width, height });
        await page.screenshot({ path: `test-results/slurm-job-${scheme}-${width}.png`, fullPage: true });
      }
    }
  });
});
