import path from 'node:path';
import type { Job } from '../../../contract/jobs';
import type { Catalog } from '../../catalog/catalog';
import { plainText, renderArgs } from '../../catalog/run';
import { APPS_DIR } from '../local/run-folder';
import type { SubmitRequest } from './client';

/*
 * A Jobdeck job as a Slurm batch job: its script runs the catalog's argv for the application (server/catalog/run.ts),
 * the same command line the `example` provider runs, each argument quoted for the shell so no value is ever parsed
 * as shell code. Output goes to <work>/<job id>/stdout.log and stderr.log, which the job page follows.
 */

/** A shell word that stands for exactly `s`: single quotes, and each ' as '\''. */
export const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export class ScriptError extends Error {}

export interface ScriptOptions {
  catalog: Catalog;
  /** The jobs' work folders, reachable from every compute node (a shared file system on a real cluster). */
  workDir: string;
  /** This installation's part of each job's Slurm name: jobdeck-<instance>-<job id>. */
  instance: string;
  /** The Node.js that runs the shipped programs on the compute nodes. */
  node?: string;
}

export const slurmJobName = (instance: string, jobId: string) => `jobdeck-${instance}-${jobId}`;

export const jobDirOf = (workDir: string, jobId: string) => path.join(workDir, jobId);
export const outputFilesIn = (workDir: string, jobId: string) => ({
  stdout: path.join(jobDirOf(workDir, jobId), 'stdout.log'),
  stderr: path.join(jobDirOf(workDir, jobId), 'stderr.log'),
});

/** Slurm's time limit is in whole minutes: an allocation is rounded up, so a job never gets less than it asked for. */
export const minutesOf = (ms: number) => Math.max(1, Math.ceil(ms / 60_000));

/**
 * The submit request for a job; a ScriptError when the job cannot run on Slurm (it says why). `files` holds the host
 * path of each file parameter, resolved in the owner's storage area beforehand (slurm-provider's resolveFiles).
 */
export function submitRequest(job: Job, timeAllocationMs: number | null, opts: ScriptOptions, files: ReadonlyMap<string, string> = new Map()): SubmitRequest {
  const { application, product } = job.specification;
  const app = opts.catalog.findApplication(application.name, application.version);
  const run = opts.catalog.findRun(application.name, application.version);
  if (!app || !run) throw new ScriptError(`application '${application.name}' ${application.version} has no run definition in the catalog`);
  const values = job.specification.parameters ?? {};
  for (const [name, value] of Object.entries(values)) {
    if (value?.type === 'file' && !files.has(name)) throw new ScriptError(`parameter '${name}': its path was not resolved in the owner's files`);
    if (value?.type === 'peer') throw new ScriptError(`parameter '${name}': jobs on Slurm cannot be connected to other jobs`);
  }
  const argv = [...(run.program ? [opts.node ?? process.execPath, path.join(APPS_DIR, run.program)] : [run.command!]), ...renderArgs(app, run, values, (name, value) =>
    value.type === 'file' ? files.get(name)! : plainText(name, value),
  )];
  const dir = jobDirOf(opts.workDir, job.id);
  const output = outputFilesIn(opts.workDir, job.id);
  return {
    job: {
      name: slurmJobName(opts.instance, job.id),
      partition: product.id,
      ...(timeAllocationMs !== null ? { time_limit: minutesOf(timeAllocationMs) } : {}),
      current_working_directory: dir,
      standard_output: output.stdout,
      standard_error: output.stderr,
      environment: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', JOBDECK_JOB_ID: job.id },
      comment: `Jobdeck job ${job.id} of ${job.owner.createdBy}`,
    },
    // exec: the program is the batch step's process, so Slurm's signals (cancel, time limit) reach it directly.
    script: `#!/bin/sh\nexec ${argv.map(shellQuote).join(' ')}\n`,
  };
}
