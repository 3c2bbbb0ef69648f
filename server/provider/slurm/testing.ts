import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The tests' own one-node Slurm cluster: scripts/slurm-dev.sh with a state folder and ports of its own, so a
 * developer's dev cluster (/var/tmp/jobdeck-slurm) is never restarted or cleared by a test.
 */

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/slurm-dev.sh');
export const TEST_CLUSTER_DIR = process.env.JOBDECK_SLURM_TEST_DIR ?? '/var/tmp/jobdeck-slurm-test';
const ENV = {
  ...process.env,
  JOBDECK_SLURM_DEV_DIR: TEST_CLUSTER_DIR,
  JOBDECK_SLURM_DEV_CTLD_PORT: '16827',
  JOBDECK_SLURM_DEV_SLURMD_PORT: '16828',
  SLURM_CONF: path.join(TEST_CLUSTER_DIR, 'slurm.conf'),
};

const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

/** Whether the tests can run a cluster here, and why not (root, and slurm-wlm slurmrestd munge installed). */
export function slurmPrerequisite(): { available: boolean; why: string | null } {
  if (process.getuid?.() !== 0) return { available: false, why: 'needs root (slurmctld and slurmd run as root)' };
  const missing = ['munged', 'slurmctld', 'slurmd', 'slurmrestd', 'squeue', 'curl'].filter((b) => !has(b));
  if (missing.length > 0) return { available: false, why: `${missing.join(', ')} missing: apt-get install -y slurm-wlm slurmrestd munge` };
  return { available: true, why: null };
}

/** Runs scripts/slurm-dev.sh on the test cluster: start, stop, stop-rest, start-rest, restart-controller-clean. */
export function cluster(command: 'start' | 'stop' | 'stop-rest' | 'start-rest' | 'restart-controller-clean'): string {
  return execFileSync(SCRIPT, [command], { env: ENV, encoding: 'utf8', timeout: 90_000 });
}

export const testClusterUrl = () => `unix:${path.join(TEST_CLUSTER_DIR, 'rest', 'slurmrestd.sock')}`;
/** The slurmrestd that runs as the cluster's SlurmUser (`slurm`), an operator: it may raise a running job's limit. */
export const operatorClusterUrl = () => `unix:${path.join(TEST_CLUSTER_DIR, 'rest-operator', 'slurmrestd.sock')}`;

/** The time limit Slurm holds for a job, in minutes (squeue's %l, e.g. "1:00:00" or "2-00:00:00"). */
export function timeLimitMinutes(slurmId: number): number {
  const out = spawnSync('squeue', ['-h', '-j', String(slurmId), '-o', '%l'], { env: ENV, encoding: 'utf8', timeout: 30_000 });
  const match = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(out.stdout.trim());
  if (!match) throw new Error(`squeue printed no time limit for job ${slurmId}: ${out.stdout}${out.stderr}`);
  const [, days, hours, minutes] = match;
  return Number(days ?? 0) * 1440 + Number(hours ?? 0) * 60 + Number(minutes);
}

/** What squeue says of a job ('' when it no longer lists it): RUNNING, PENDING, COMPLETING, … */
export function squeueState(slurmId: number): string {
  const out = spawnSync('squeue', ['-h', '-j', String(slurmId), '-o', '%T'], { env: ENV, encoding: 'utf8', timeout: 30_000 });
  return out.status === 0 ? out.stdout.trim() : '';
}

/** Runs scontrol as root on the test cluster (an operator changing it while Jobdeck runs). */
export function scontrol(...args: string[]): string {
  return execFileSync('scontrol', args, { env: ENV, encoding: 'utf8', timeout: 30_000 });
}

/** Cancels a job as root, outside Jobdeck (an operator's scancel). */
export function scancel(slurmId: number): void {
  execFileSync('scancel', [String(slurmId)], { env: ENV, timeout: 30_000 });
}
