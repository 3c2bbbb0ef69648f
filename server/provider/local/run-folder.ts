import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Where a local job's files are: the programs shipped beside the code (its supervisor, the apps), and its run folder,
 * where the supervisor records the job (launch.json, started.json, exit.json) and its output.
 */

const here = path.dirname(fileURLToPath(import.meta.url));

/** A file shipped beside the code: in the source tree, or beside the server bundle (scripts/build-server.mjs). */
function shipped(sourceRelative: string, bundleRelative: string): string {
  const candidates = [path.join(here, sourceRelative), path.join(here, bundleRelative)];
  return candidates.find((p) => fs.existsSync(p)) ?? candidates[0]!;
}
export const SUPERVISOR = shipped('supervisor.mjs', 'supervisor.mjs');

/** A job's run folder: its launch.json, started.json, exit.json, and its output (stdout.log, stderr.log). */
export function runDirOf(dataDir: string, jobId: string): string {
  return path.join(dataDir, 'runs', jobId);
}

/** The files a job's supervisor writes its output to; kept after the job ends. */
export function outputFilesOf(dataDir: string, jobId: string): { stdout: string; stderr: string } {
  const dir = runDirOf(dataDir, jobId);
  return { stdout: path.join(dir, 'stdout.log'), stderr: path.join(dir, 'stderr.log') };
}
export const APPS_DIR = shipped('../apps', 'apps');

/** A JSON file the supervisor wrote, or null while it is not there (or not whole yet). */
export function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Whether `pid` is still this job's supervisor (and not a process that got its number later). */
export function isSupervisor(pid: number, runDir: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(runDir);
  } catch {
    return false;
  }
}
