import fs from 'node:fs';
import fsp from 'node:fs/promises';

/* The claim files that tie a network index to the live provider instance that holds it (CLAIM_DIR). */

export interface ClaimOwner {
  pid: number;
  /** The owner's start time in clock ticks since boot (/proc/<pid>/stat field 22), so a reused pid is not taken for it. */
  start: number;
  /** Random, per JobNetwork instance. */
  token: string;
  at: string;
}

export function processStart(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

export function isAlive(owner: Pick<ClaimOwner, 'pid' | 'start'>): boolean {
  const start = processStart(owner.pid);
  return start !== null && start === owner.start;
}

export function parseClaim(raw: string): ClaimOwner | null {
  try {
    const value = JSON.parse(raw) as Partial<ClaimOwner>;
    if (typeof value.pid === 'number' && typeof value.start === 'number' && typeof value.token === 'string') return value as ClaimOwner;
  } catch {
    // not ours or half written: treated as dead
  }
  return null;
}

/** A file's text, or null if it does not exist. */
export async function readText(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Creates the claim file only if there is none (O_EXCL). False when it exists. */
export async function createClaim(file: string, content: string): Promise<boolean> {
  try {
    await fsp.writeFile(file, content, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Replaces a claim file that still holds exactly `observed` (a dead owner's claim) with `content`. Two processes that
 * both saw the same dead claim cannot both win: only one rename moves the old file away, and the new claim is put in
 * place with link(), which fails if anyone created one meanwhile.
 */
export async function replaceClaim(file: string, observed: string, content: string): Promise<boolean> {
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const ours = `${file}.new-${tag}`;
  const grabbed = `${file}.old-${tag}`;
  await fsp.writeFile(ours, content, { mode: 0o644 });
  try {
    try {
      await fsp.rename(file, grabbed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    const moved = await fsp.readFile(grabbed, 'utf8');
    if (moved !== observed) {
      // Someone replaced the dead claim just before us: put theirs back.
      await fsp.link(grabbed, file).catch(() => {});
      return false;
    }
    try {
      await fsp.link(ours, file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  } finally {
    await fsp.rm(ours, { force: true });
    await fsp.rm(grabbed, { force: true });
  }
}
