import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { Application, Product } from '../../../contract/catalog';
import type { AppParameterValue } from '../../../contract/app-parameter-value';
import { plainText, renderArgs, type RunDefinition } from '../../catalog/run';
import { CgroupLimits, describeLimits, type Limits } from './cgroups';
import { JobNetwork, probeIsolation } from './network';
import { StorageError, ensureArea, resolveFileParameters, type Account } from './storage';
import { APPS_DIR, SUPERVISOR, isSupervisor, readJson, runDirOf } from './run-folder';

/*
 * The execution backend of the built-in provider: each job is a real process on this machine, started by a
 * supervisor of its own (supervisor.mjs) that outlives the server. As root on Linux each job gets its own network
 * namespace with a firewall that only peer links open (network.ts), cgroup limits from its product (cgroups.ts), and
 * an unprivileged account of its own user. Without those rights jobs still run for real, as plain processes of the
 * server's own user, and the provider says that isolation is off.
 */

export type Isolation = 'network-namespace' | 'none';

export interface LaunchRequest {
  jobId: string;
  owner: string;
  /** Small number, unique among the provider's running jobs: names the job's namespace and address. */
  slot: number;
  application: Application;
  run: RunDefinition;
  product: Product;
  values: Record<string, AppParameterValue | null | undefined>;
  /** The job's account, when the provider can switch users. */
  account: Account;
  /** Peers this job reaches, by hostname, at their addresses. */
  peers: { hostname: string; address: string }[];
  /** Addresses allowed to connect to this job (the jobs that link to it). */
  allowFrom: string[];
}

export interface Launched {
  pid: number;
  supervisorPid: number;
  address: string;
  isolation: Isolation;
  limits: string;
}

export interface Outcome {
  code: number | null;
  signal: string | null;
  /** The command could not be started at all. */
  error: string | null;
}

/** A job that cannot start, with a reason its user can act on. */
export class LaunchError extends Error {}

export interface LocalBackendOptions {
  dataDir: string;
  /** Stored network index of this provider (JobNetwork), null on first start. */
  networkIndex: number | null;
  /** A short name of this provider instance, for its cgroups. */
  instance: string;
  /** Second octet of the loopback addresses jobs get without isolation (127.<octet>.x.y). */
  loopbackOctet: number;
  graceMs: number;
  /** 'off' runs jobs without namespaces even where the provider could isolate them. */
  isolation: 'auto' | 'off';
  log: (msg: string, extra?: object) => void;
}

/**
 * Runs as root, joins the job's cgroups, then becomes the job's command (through its namespace); argv only, so
 * nothing in it is ever parsed by a shell. The pid stays the same through every exec, so the supervisor's child is
 * the job's main process.
 */
const JOIN_CGROUPS = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

const JOB_PATH = '/usr/local/bin:/usr/bin:/bin';

export class LocalBackend {
  private constructor(
    private readonly opts: LocalBackendOptions,
    readonly isolation: Isolation,
    /** Why isolation is off, in plain words; null when on. */
    readonly isolationReason: string | null,
    private readonly network: JobNetwork | null,
    private readonly cgroups: CgroupLimits | null,
  ) {}

  /** One inotify watch per job's run folder: the reaper looks at a job when its supervisor has written exit.json. */
  private readonly exitWatches = new Map<string, fs.FSWatcher>();
  /** Jobs whose run folder changed (or whose watch was just set) since the last look. */
  private readonly maybeEnded = new Set<string>();

  /**
   * Whether the job may have ended since the last call: its supervisor wrote exit.json, or it is not being watched
   * (a job adopted after a restart gets its watch now, and is looked at once). Where a watch cannot be set the answer
   * is always yes, so the reaper falls back to looking every turn. A supervisor that dies without a word is found by
   * the reaper's periodic full look.
   */
  mayHaveEnded(jobId: string): boolean {
    if (!this.exitWatches.has(jobId)) {
      try {
        const watch = fs.watch(this.runDir(jobId), { persistent: false }, (_event, name) => {
          if (name === null || String(name).startsWith('exit.json')) this.maybeEnded.add(jobId);
        });
        watch.on('error', () => this.unwatch(jobId));
        this.exitWatches.set(jobId, watch);
      } catch {
        return true;
      }
      return true;
    }
    return this.maybeEnded.delete(jobId);
  }

  private unwatch(jobId: string) {
    this.exitWatches.get(jobId)?.close();
    this.exitWatches.delete(jobId);
    this.maybeEnded.delete(jobId);
  }

  static async open(opts: LocalBackendOptions): Promise<LocalBackend> {
    let network: JobNetwork | null = null;
    let reason: string | null = 'turned off by JOBDECK_EXAMPLE_ISOLATION=off';
    if (opts.isolation !== 'off') {
      const probe = await probeIsolation();
      reason = probe.reason;
      if (probe.isolated) network = await JobNetwork.open({ index: opts.networkIndex, log: opts.log });
    }
    const cgroups = isRoot() ? await CgroupLimits.open(opts.instance) : null;
    // Job accounts must reach their own work folders and files below the data directory, and nothing else there:
    // the directory can be entered but not listed, and everything the server keeps in it is 0700 or 0600.
    if (isRoot()) await fsp.chmod(opts.dataDir, 0o711);
    for (const dir of ['runs', 'work', 'storage']) {
      await fsp.mkdir(path.join(opts.dataDir, dir), { recursive: true });
      await fsp.chmod(path.join(opts.dataDir, dir), dir === 'runs' ? 0o700 : 0o711);
    }
    const backend = new LocalBackend(opts, network ? 'network-namespace' : 'none', network ? null : reason, network, cgroups);
    backend.unreachable = isRoot() ? await unreachableByJobs([APPS_DIR, path.join(opts.dataDir, 'work')]) : null;
    if (backend.unreachable) opts.log(`jobs cannot start: ${backend.unreachable}`);
    return backend;
  }

  /** Why job accounts cannot run anything here (a folder on the way is closed to other users), or null. */
  private unreachable: string | null = null;

  /** The network index to store, so a restart takes the same network back. */
  get networkIndex(): number | null {
    return this.network?.index ?? null;
  }

  /** The address Jobdeck itself reaches jobs from (the interface proxy). */
  get hostAddress(): string | null {
    return this.network?.hostAddress ?? null;
  }

  /** Whether jobs run under another account than the server's (root can switch; anyone else cannot). */
  get switchesUsers(): boolean {
    return isRoot();
  }

  addressOf(slot: number): string {
    if (this.network) return this.network.addressOf(slot);
    return `127.${this.opts.loopbackOctet}.${(slot >> 8) & 255}.${slot & 255}`;
  }

  runDir(jobId: string) {
    return runDirOf(this.opts.dataDir, jobId);
  }

  workDir(jobId: string) {
    return path.join(this.opts.dataDir, 'work', jobId);
  }

  /** The user's storage area, made on first use. */
  area(owner: string, account: Account): Promise<string> {
    return ensureArea(path.join(this.opts.dataDir, 'storage'), owner, this.switchesUsers ? account : null);
  }

  private limitsFor(product: Product): Limits {
    return { memoryBytes: Math.max(1, product.memoryInGigs) * 1024 ** 3, cpus: Math.max(1, product.cpu), pids: 1024 };
  }

  /** Starts the job's supervisor and waits until the job's process exists (or could not be started). */
  async launch(req: LaunchRequest): Promise<Launched> {
    if (this.unreachable) throw new LaunchError(this.unreachable);
    const account = this.switchesUsers ? req.account : null;
    const storage = path.join(this.opts.dataDir, 'storage');
    const area = await ensureArea(storage, req.owner, account);
    let files: Map<string, string>;
    try {
      files = await resolveFileParameters(area, req.application, req.values, account);
    } catch (error) {
      if (error instanceof StorageError) throw new LaunchError(error.message);
      throw error;
    }
    const args = renderArgs(req.application, req.run, req.values, (name, value) =>
      value.type === 'file' ? files.get(name)! : plainText(name, value),
    );
    const program = req.run.program ? [process.execPath, path.join(APPS_DIR, req.run.program)] : [req.run.command!];

    const runDir = this.runDir(req.jobId);
    await fsp.rm(runDir, { recursive: true, force: true });
    await fsp.mkdir(runDir, { recursive: true, mode: 0o700 });
    const workDir = this.workDir(req.jobId);
    await fsp.mkdir(workDir, { recursive: true, mode: 0o700 });
    if (account) await fsp.chown(workDir, account.uid, account.gid);

    const address = this.addressOf(req.slot);
    const env: Record<string, string> = {
      PATH: JOB_PATH,
      HOME: workDir,
      LANG: 'C.UTF-8',
      JOBDECK_JOB_ID: req.jobId,
      JOBDECK_BIND_ADDRESS: this.network ? '0.0.0.0' : address,
    };
    let prefix: string[] = [];
    let limits: Limits | null = null;
    if (this.network) {
      await this.network.createJob(req.slot);
      await this.network.setHosts(req.slot, req.peers);
      await this.network.setAllowedSources(req.slot, req.allowFrom);
      prefix = this.network.execPrefix(req.slot);
    } else if (req.peers.length > 0) {
      // No namespace of its own, so no hosts file of its own: the apps read peer addresses from here instead.
      env.JOBDECK_PEERS = JSON.stringify(Object.fromEntries(req.peers.map((p) => [p.hostname, p.address])));
    }
    let procs: string[] = [];
    if (this.cgroups) {
      limits = this.limitsFor(req.product);
      procs = await this.cgroups.create(req.jobId, limits);
    }
    const dropPrivileges = account
      ? ['setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', '--no-new-privs', '--']
      : [];
    // The cgroups are joined first: `ip netns exec` mounts a /sys of the job's network, without the cgroup tree.
    const argv = ['/bin/sh', '-c', JOIN_CGROUPS, 'sh', ...procs, '--', ...prefix, ...dropPrivileges, ...program, ...args];
    await fsp.writeFile(path.join(runDir, 'launch.json'), JSON.stringify({ argv, env, cwd: workDir, graceMs: this.opts.graceMs }), {
      mode: 0o600,
    });

    const supervisor = spawn(process.execPath, [SUPERVISOR, runDir], { detached: true, stdio: 'ignore' });
    supervisor.unref();
    const started = await this.waitForStart(req.jobId);
    if (!started) {
      const outcome = this.outcome(req.jobId);
      const why = outcome !== null && outcome !== 'lost' ? outcome.error : null;
      await this.release(req.jobId, req.slot);
      throw new LaunchError(`the job's program could not be started${why ? ` (${why})` : ''}`);
    }
    return { pid: started.pid, supervisorPid: started.supervisorPid, address, isolation: this.isolation, limits: describeLimits(limits) };
  }

  private async waitForStart(jobId: string): Promise<{ pid: number; supervisorPid: number } | null> {
    const file = path.join(this.runDir(jobId), 'started.json');
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const started = readJson<{ pid: number; supervisorPid: number }>(file);
      if (started) return started;
      if (fs.existsSync(path.join(this.runDir(jobId), 'exit.json'))) return null;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return null;
  }

  /** The job's pids as its supervisor recorded them, or null if it never started. */
  started(jobId: string): { pid: number; supervisorPid: number } | null {
    return readJson(path.join(this.runDir(jobId), 'started.json'));
  }

  /** How the job ended, once it has; null while it runs. A job whose supervisor is gone without a word is 'lost'. */
  outcome(jobId: string): Outcome | 'lost' | null {
    const exit = readJson<{ code: number | null; signal: string | null; error?: string }>(path.join(this.runDir(jobId), 'exit.json'));
    if (exit) return { code: exit.code, signal: exit.signal, error: exit.error ?? null };
    const started = this.started(jobId);
    if (!started || !isSupervisor(started.supervisorPid, this.runDir(jobId))) {
      // The supervisor writes exit.json before it exits; read once more in case it did so just now.
      const late = readJson<{ code: number | null; signal: string | null; error?: string }>(path.join(this.runDir(jobId), 'exit.json'));
      return late ? { code: late.code, signal: late.signal, error: late.error ?? null } : 'lost';
    }
    return null;
  }

  /** Asks the job to stop: SIGTERM now, SIGKILL after the grace period (the supervisor does both). */
  stop(jobId: string): void {
    const started = this.started(jobId);
    if (!started) return;
    if (isSupervisor(started.supervisorPid, this.runDir(jobId))) {
      try {
        process.kill(started.supervisorPid, 'SIGTERM');
        return;
      } catch {
        // gone meanwhile
      }
    }
    try {
      process.kill(-started.pid, 'SIGKILL');
    } catch {
      // gone too
    }
  }

  /** Removes what the job held on this machine (namespace, cgroups); its run folder and output stay. */
  async release(jobId: string, slot: number | null): Promise<void> {
    return this.releaseMany([{ jobId, slot }]);
  }

  /** What `release` does, for many jobs at once: their cgroups side by side, their network parts in one go. */
  async releaseMany(jobs: { jobId: string; slot: number | null }[]): Promise<void> {
    for (const { jobId } of jobs) this.unwatch(jobId);
    const cgroups = this.cgroups;
    if (cgroups) await Promise.all(jobs.map(({ jobId }) => cgroups.destroy(jobId)));
    await this.network?.destroyJobs(jobs.flatMap(({ slot }) => (slot === null ? [] : [slot])));
  }

  async setHosts(slot: number, peers: { hostname: string; address: string }[]) {
    await this.network?.setHosts(slot, peers);
  }

  async setAllowedSources(slot: number, addresses: string[]) {
    await this.network?.setAllowedSources(slot, addresses);
  }

  /** After a restart: removes namespaces and cgroups of jobs that are not among `running`. */
  async cleanLeftovers(running: { jobId: string; slot: number | null }[]): Promise<void> {
    await this.network?.cleanLeftovers(new Set(running.flatMap((r) => (r.slot === null ? [] : [r.slot]))));
    if (this.cgroups) {
      const keep = new Set(running.map((r) => r.jobId));
      for (const key of await this.cgroups.keys()) if (!keep.has(key)) await this.cgroups.destroy(key);
    }
  }

  /** Stops every job at once and removes everything (tests; JOBDECK_EXAMPLE_KEEP_JOBS=off). */
  async killAll(jobs: { jobId: string; slot: number | null }[]): Promise<void> {
    // Every process first, so that none outlives the others by the time their releases take.
    for (const job of jobs) {
      const started = this.started(job.jobId);
      for (const pid of started ? [started.supervisorPid, -started.pid] : []) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await this.releaseMany(jobs);
  }

  async close(opts: { teardown: boolean }): Promise<void> {
    for (const jobId of [...this.exitWatches.keys()]) this.unwatch(jobId);
    if (opts.teardown) await this.cgroups?.close();
    await this.network?.close({ teardown: opts.teardown });
  }
}

const isRoot = () => process.getuid?.() === 0;

/**
 * Jobs run under accounts of their own, which must be able to enter the folders their program and work folder are
 * in. A checkout in a folder closed to other users (such as /root) cannot run them; say so instead of failing each job
 * with a bare EACCES.
 */
async function unreachableByJobs(dirs: string[]): Promise<string | null> {
  for (const dir of dirs) {
    let at = path.resolve(dir);
    for (;;) {
      const stat = await fsp.stat(at).catch(() => null);
      if (stat && (stat.mode & 0o001) === 0) {
        return `job accounts cannot enter ${at} (mode ${(stat.mode & 0o777).toString(8)}): let other users enter it (chmod o+x), or run Jobdeck from a folder they can reach`;
      }
      const parent = path.dirname(at);
      if (parent === at) break;
      at = parent;
    }
  }
  return null;
}
