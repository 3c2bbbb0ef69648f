// @ts-check
/*
 * One supervisor per job: `node supervisor.mjs <run dir>`. The provider starts it detached, in a session of its own,
 * so it outlives the Jobdeck process (a restart re-attaches to the job instead of killing it). It starts the job's
 * command from <run dir>/launch.json with its output in <run dir>/stdout.log and stderr.log, records the job's pid in
 * started.json, and when the job ends records how in exit.json. SIGTERM asks it to stop the job: SIGTERM to the job's
 * process group, then SIGKILL after the grace period.
 *
 * It is plain JavaScript, run by the same Node.js as the server, with no dependencies: it must start in a few
 * milliseconds and run whatever state the server is in.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';

const runDir = process.argv[2];
if (!runDir) {
  process.stderr.write('usage: supervisor.mjs <run dir>\n');
  process.exit(64);
}

/** Written whole or not at all: a reader never sees half a file. */
function writeJson(name, value) {
  const file = path.join(runDir, name);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value));
  fs.renameSync(`${file}.tmp`, file);
}

/** @type {{argv: string[], env: Record<string, string>, cwd: string, graceMs: number}} */
const launch = JSON.parse(fs.readFileSync(path.join(runDir, 'launch.json'), 'utf8'));
const stdout = fs.openSync(path.join(runDir, 'stdout.log'), 'a', 0o600);
const stderr = fs.openSync(path.join(runDir, 'stderr.log'), 'a', 0o600);

let stopping = false;
let ended = false;
const child = spawn(launch.argv[0], launch.argv.slice(1), {
  cwd: launch.cwd,
  env: launch.env,
  stdio: ['ignore', stdout, stderr],
  // A process group of its own, so stopping the job reaches everything it started.
  detached: true,
});
fs.closeSync(stdout);
fs.closeSync(stderr);

if (child.pid !== undefined) writeJson('started.json', { pid: child.pid, supervisorPid: process.pid, at: Date.now() });

const signalGroup = (signal) => {
  if (ended || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
};

process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  signalGroup('SIGTERM');
  setTimeout(() => signalGroup('SIGKILL'), launch.graceMs).unref();
});
// The terminal the server was started from may close, or Ctrl-C it; neither is a reason to stop the job.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});

child.on('error', (error) => {
  if (ended) return;
  ended = true;
  writeJson('exit.json', { code: null, signal: null, error: error.message, at: Date.now() });
  process.exit(0);
});

child.on('exit', (code, signal) => {
  if (ended) return;
  ended = true;
  // Whatever the job left behind in its group goes with it.
  try {
    process.kill(-(/** @type {number} */ (child.pid)), 'SIGKILL');
  } catch {
    // nothing left
  }
  writeJson('exit.json', { code, signal, stopRequested: stopping, at: Date.now() });
  process.exit(0);
});
