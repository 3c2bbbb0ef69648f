import fs from 'node:fs/promises';
import path from 'node:path';

/*
 * Memory, CPU and process-count limits for a job, from its product, through cgroup v1 (this machine kind mounts the
 * v1 controllers under /sys/fs/cgroup/<controller>). Each job's groups are made below the server's own groups, so the
 * jobs stay inside whatever limits the server itself runs under. Where the controllers are missing or not writable
 * (not root, or a v2-only machine), limits are off and the job page says so.
 */

const ROOT = '/sys/fs/cgroup';
const CONTROLLERS = ['memory', 'cpu', 'pids'] as const;
type Controller = (typeof CONTROLLERS)[number];

export interface Limits {
  memoryBytes: number;
  cpus: number;
  /** Processes and threads the job may have at once. */
  pids: number;
}

export function describeLimits(limits: Limits | null): string {
  if (!limits) return 'none (cgroups are not available to the provider)';
  const gib = limits.memoryBytes / 1024 ** 3;
  return `${limits.cpus} CPU${limits.cpus === 1 ? '' : 's'}, ${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB of memory, ${limits.pids} processes (cgroup v1)`;
}

async function ownGroup(controller: Controller): Promise<string | null> {
  const lines = (await fs.readFile('/proc/self/cgroup', 'utf8')).split('\n');
  for (const line of lines) {
    const [, names, group] = line.split(':');
    if (names?.split(',').includes(controller)) return group ?? '/';
  }
  return null;
}

export class CgroupLimits {
  private constructor(private readonly bases: Record<Controller, string>) {}

  /** Groups for this provider instance below the server's own, or null where limits cannot be enforced. */
  static async open(instance: string): Promise<CgroupLimits | null> {
    if (process.getuid?.() !== 0) return null;
    const bases = {} as Record<Controller, string>;
    for (const controller of CONTROLLERS) {
      const own = await ownGroup(controller).catch(() => null);
      if (own === null) return null;
      const base = path.join(ROOT, controller, own, `jobdeck-${instance}`);
      try {
        await fs.mkdir(base, { recursive: true });
      } catch {
        return null;
      }
      bases[controller] = base;
    }
    return new CgroupLimits(bases);
  }

  private dir(controller: Controller, key: string) {
    return path.join(this.bases[controller], key);
  }

  /** Makes the job's groups with its limits; returns the `cgroup.procs` files the job's first process joins. */
  async create(key: string, limits: Limits): Promise<string[]> {
    await this.destroy(key);
    const period = 100_000;
    const writes: [Controller, string, string][] = [
      ['memory', 'memory.limit_in_bytes', String(limits.memoryBytes)],
      ['cpu', 'cpu.cfs_period_us', String(period)],
      ['cpu', 'cpu.cfs_quota_us', String(Math.round(limits.cpus * period))],
      ['pids', 'pids.max', String(limits.pids)],
    ];
    for (const controller of CONTROLLERS) await fs.mkdir(this.dir(controller, key), { recursive: true });
    for (const [controller, file, value] of writes) await fs.writeFile(path.join(this.dir(controller, key), file), value);
    return CONTROLLERS.map((c) => path.join(this.dir(c, key), 'cgroup.procs'));
  }

  /** Processes still in the job's groups (a job that forked and left its children behind). */
  async pids(key: string): Promise<number[]> {
    const text = await fs.readFile(path.join(this.dir('pids', key), 'cgroup.procs'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map(Number);
  }

  /** Peak memory use of the job, in bytes, or null once its groups are gone. */
  async peakMemory(key: string): Promise<number | null> {
    const text = await fs.readFile(path.join(this.dir('memory', key), 'memory.max_usage_in_bytes'), 'utf8').catch(() => null);
    return text === null ? null : Number(text.trim());
  }

  /** Kills whatever is left in the job's groups and removes them. */
  async destroy(key: string): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const left = await this.pids(key);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      let busy = false;
      for (const controller of CONTROLLERS) {
        try {
          await fs.rmdir(this.dir(controller, key));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') busy = true;
        }
      }
      if (!busy) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Keys of the job groups that exist now (a crashed run's leftovers among them). */
  async keys(): Promise<string[]> {
    const entries = await fs.readdir(this.bases.pids, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }

  /** Removes the instance's own groups once no job is left in them. */
  async close(): Promise<void> {
    for (const controller of CONTROLLERS) await fs.rmdir(this.bases[controller]).catch(() => undefined);
  }
}
