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

/** One try at a collection. */
export interface CollectRun {
  /** Aborts the copy (the provider is stopping); the worker is killed and the copy left for the next try. */
  signal: AbortSignal;
  /** The task an earlier, interrupted try opened. */
  task: string | null;
  /** Keeps a newly opened task's id, so that a try after an interruption reports to the same task. */
  taskOpened: (task: string) => Promise<void>;
}

export type CollectResult = { outcome: 'collected'; folder: string } | { outcome: 'failed' } | { outcome: 'interrupted' };

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

  /**
   * Copies the job's output into its user's files. `collected` with the user's path of the folder, `failed` when it
   * could not be (the task says why), `interrupted` when `signal` aborted it: the copy is then left for the next
   * try, which continues the same task. Never throws.
   */
  async collect(req: CollectRequest, run: CollectRun): Promise<CollectResult> {
    const userPath = `/Jobs/${req.application}/${req.jobId}`;
    const target = path.join(req.area, userPath);
    // Collected before (a stop between the copy and its report): the folder is there already.
    if (fs.existsSync(target)) {
      if (run.task) await this.complete(req.jobId, run.task);
      return { outcome: 'collected', folder: userPath };
    }
    const task = await this.openTask(req, run);
    const post = (update: Record<string, unknown>) =>
      task ? this.post(task, update).catch((error) => this.warn(req.jobId, error, 'output progress not reported')) : Promise.resolve();
    try {
      const summary = await this.copy(req, target, post, run.signal);
      const seconds = Math.max(summary.ms, 1) / 1000;
      await post({
        newStatus: `Copied ${summary.files} file${summary.files === 1 ? '' : 's'} (${formatBytes(summary.bytes)}) to ${userPath} in ${seconds.toFixed(1)} s`,
        progress: { title: `${summary.files} of ${summary.files} files`, current: summary.bytes, maximum: summary.bytes },
      });
      if (task) await this.complete(req.jobId, task);
      return { outcome: 'collected', folder: userPath };
    } catch (error) {
      // The core may be closing too: the task hears of it when the copy starts again.
      if (run.signal.aborted) return { outcome: 'interrupted' };
      await post({ newStatus: `Could not collect the output: ${(error as Error).message}`, messageToAppend: (error as Error).message });
      if (task) await this.complete(req.jobId, task);
      this.warn(req.jobId, error, 'output not collected');
      return { outcome: 'failed' };
    }
  }

  /** The task the copy reports to: the one an interrupted try opened, if the core still has it, or a new one. */
  private async openTask(req: CollectRequest, run: CollectRun): Promise<string | null> {
    if (run.task) {
      const resumed = await this.post(run.task, { newStatus: 'Copying again: Jobdeck stopped during the copy' }).then(
        () => true,
        () => false,
      );
      if (resumed) return run.task;
    }
    try {
      const task = await this.createTask(req);
      await run.taskOpened(task);
      return task;
    } catch (error) {
      this.warn(req.jobId, error, 'output collection not reported as a task');
      return null;
    }
  }

  private complete(jobId: string, task: string) {
    return this.call('POST', '/api/tasks/markAsComplete', { id: task }).catch((e) => this.warn(jobId, e, 'task not completed'));
  }

  private copy(req: CollectRequest, target: string, post: (update: Record<string, unknown>) => Promise<unknown>, signal: AbortSignal) {
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
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe', fds[0], fds[1]], signal });
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
      // An abort kills the worker (SIGTERM); the copy has ended once it has exited.
      child.on('error', (error) => signal.aborted || reject(error));
      child.on('close', (code) => {
        void pending.then(() => {
          if (signal.aborted) reject(new Error('interrupted'));
          else if (code === 0) resolve({ ...total, ms: Date.now() - started });
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
