import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TransportError, isSuccess, whyOf, type Transport } from '../kit/transport';
import type { Account } from './storage';

/*
 * When a job has ended, its output (what it wrote in its work folder, and its stdout and stderr) is copied into its
 * user's files at /Jobs/<application>/<job id>, and the job's output folder is set to that path. The copy is real
 * work, reported as a task of the job's user with true file and byte counts and the copy's speed. It runs under the
 * job's account (collect-worker.mjs), since it writes into the user's own area.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
// Beside this module in the source tree, and beside the server bundle (scripts/build-server.mjs).
const WORKER = path.join(here, 'collect-worker.mjs');

/** Progress updates per second at most: a job with 10 000 small files must not send 10 000 postStatus calls. */
const UPDATES_PER_SECOND = 5;
/** Files named in the task's log; the rest are counted. */
const FILES_LOGGED = 100;

export interface CollectRequest {
  jobId: string;
  owner: string;
  application: string;
  account: Account;
  workDir: string;
  runDir: string;
  /** The user's storage area on this machine. */
  area: string;
}

export interface CollectorOptions {
  core: Transport;
  token: string;
  log: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
}

type WorkerMessage =
  | { type: 'total'; files: number; bytes: number }
  | { type: 'file'; path: string; bytes: number; files: number; bytesDone: number }
  | { type: 'done'; files: number; bytes: number };

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export class OutputCollector {
  constructor(private readonly opts: CollectorOptions) {}

  /** The user's path of the job's output folder once it is collected, or null if it could not be. Never throws. */
  async collect(req: CollectRequest): Promise<string | null> {
    const userPath = `/Jobs/${req.application}/${req.jobId}`;
    const target = path.join(req.area, userPath);
    // Collected before (a restart between the copy and its report): the folder is there already.
    if (fs.existsSync(target)) return userPath;
    const task = await this.createTask(req).catch((error) => {
      this.warn(req.jobId, error, 'output collection not reported as a task');
      return null;
    });
    const post = (update: Record<string, unknown>) =>
      task ? this.post(task, update).catch((error) => this.warn(req.jobId, error, 'output progress not reported')) : Promise.resolve();
    try {
      const summary = await this.copy(req, target, post);
      const seconds = Math.max(summary.ms, 1) / 1000;
      await post({
        newStatus: `Copied ${summary.files} file${summary.files === 1 ? '' : 's'} (${formatBytes(summary.bytes)}) to ${userPath} in ${seconds.toFixed(1)} s`,
        progress: { title: `${summary.files} of ${summary.files} files`, current: summary.bytes, maximum: summary.bytes },
      });
      if (task) await this.call('POST', '/api/tasks/markAsComplete', { id: task }).catch((e) => this.warn(req.jobId, e, 'task not completed'));
      return userPath;
    } catch (error) {
      await post({ newStatus: `Could not collect the output: ${(error as Error).message}`, messageToAppend: (error as Error).message });
      if (task) await this.call('POST', '/api/tasks/markAsComplete', { id: task }).catch(() => undefined);
      this.warn(req.jobId, error, 'output not collected');
      return null;
    }
  }

  private copy(req: CollectRequest, target: string, post: (update: Record<string, unknown>) => Promise<unknown>) {
    const started = Date.now();
    const open = (name: string) => {
      try {
        return fs.openSync(path.join(req.runDir, name), 'r');
      } catch {
        return fs.openSync('/dev/null', 'r');
      }
    };
    const fds = [open('stdout.log'), open('stderr.log')];
    const asUser = req.account
      ? ['setpriv', `--reuid=${req.account.uid}`, `--regid=${req.account.gid}`, '--clear-groups', '--no-new-privs', '--']
      : [];
    const argv = [...asUser, process.execPath, WORKER, req.workDir, target];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe', fds[0], fds[1]] });
    for (const fd of fds) fs.closeSync(fd);
    let errors = '';
    child.stderr!.on('data', (chunk) => (errors += chunk));
    let total = { files: 0, bytes: 0 };
    let last = 0;
    let pending: Promise<unknown> = Promise.resolve();
    const lines = readline.createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let message: WorkerMessage;
      try {
        message = JSON.parse(line) as WorkerMessage;
      } catch {
        return;
      }
      if (message.type === 'total') {
        total = message;
        pending = post({
          newStatus: `Copying ${message.files} file${message.files === 1 ? '' : 's'} (${formatBytes(message.bytes)})`,
          progress: { title: `0 of ${message.files} files`, current: 0, maximum: message.bytes },
        });
      } else if (message.type === 'file') {
        const now = Date.now();
        const logged = message.files <= FILES_LOGGED;
        if (!logged && now - last < 1000 / UPDATES_PER_SECOND && message.files < total.files) return;
        last = now;
        const mbPerSecond = message.bytesDone / 1e6 / (Math.max(now - started, 1) / 1000);
        const speed = Math.round(mbPerSecond * 10) / 10;
        pending = pending.then(() =>
          post({
            progress: { title: `${message.files} of ${total.files} files`, current: message.bytesDone, maximum: total.bytes },
            speeds: [{ title: 'Copy', speed, unit: 'MB/s', asText: `${speed} MB/s` }],
            messageToAppend: logged ? `${message.path} (${formatBytes(message.bytes)})` : null,
          }),
        );
      }
    });
    return new Promise<{ files: number; bytes: number; ms: number }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        void pending.then(() => {
          if (code === 0) resolve({ ...total, ms: Date.now() - started });
          else reject(new Error(errors.trim().split('\n')[0] || `the copy stopped with exit code ${code}`));
        });
      });
    });
  }

  private async createTask(req: CollectRequest): Promise<string> {
    const task = (await this.call('PUT', '/api/tasks', {
      title: `Collecting the output of job ${req.jobId}`,
      owner: req.owner,
      initialStatus: 'Counting files',
    })) as { jobId: string };
    return task.jobId;
  }

  private post(task: string, update: Record<string, unknown>) {
    return this.call('POST', '/api/tasks/postStatus', {
      update: { jobId: task, newTitle: null, speeds: [], progress: null, complete: false, messageToAppend: null, newStatus: null, ...update },
    });
  }

  private async call(method: 'PUT' | 'POST', url: string, body: unknown): Promise<unknown> {
    const result = await this.opts.core(method, url, this.opts.token, JSON.stringify(body));
    if (!isSuccess(result.status)) throw new Error(`${method} ${url}: ${whyOf(result)}`);
    return result.body;
  }

  private warn(jobId: string, error: unknown, what: string) {
    const message = error instanceof TransportError ? `the core cannot be reached (${error.message})` : (error as Error).message;
    this.opts.log.warn({ jobId, error: message }, `example provider: ${what}`);
  }
}
