import fsp from 'node:fs/promises';
import { NETNS_DIR, checkIndex, namesOf, prefixesOverlap, subnetOf } from './net-names';
import { createClaim, isAlive, parseClaim, readText, replaceClaim, type ClaimOwner } from './claim-files';
import { listDir, runRaw, type Programs } from './host-commands';

/*
 * Which network index a provider instance gets: a claim file per index (CLAIM_DIR) names its live owner, and an
 * index whose owner is dead is taken over only when no job process runs on it. NETWORK.md says why.
 */

export type Log = (msg: string, extra?: object) => void;

/**
 * Indexes this process claims, with the claiming instance's token. Set before the claim file is even tried, so two
 * opens in one process (which share a pid, so the claim file cannot tell them apart) never pick the same index.
 */
const heldHere = new Map<number, string>();

/** Forgets this process's hold on `index` if it is still `token`'s. */
export function releaseHeld(index: number, token: string) {
  if (heldHere.get(index) === token) heldHere.delete(index);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Takes a stored index back. Returns null when taken, or the live process that holds it. */
export async function takeStored(index: number, content: string, token: string): Promise<ClaimOwner | null> {
  const file = namesOf(index).claimFile;
  const before = heldHere.get(index);
  heldHere.set(index, token);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await createClaim(file, content)) return null;
      const raw = await readText(file);
      if (raw === null) continue;
      const holder = parseClaim(raw);
      if (holder && holder.pid !== process.pid && isAlive(holder)) {
        if (heldHere.get(index) === token) {
          if (before === undefined) heldHere.delete(index);
          else heldHere.set(index, before);
        }
        return holder;
      }
      if (holder?.pid === process.pid) {
        // This process held it: an instance dropped without close, or a restart within the same process.
        await fsp.writeFile(file, content, { mode: 0o644 });
        return null;
      }
      if (await replaceClaim(file, raw, content)) return null;
    }
  } catch (error) {
    if (heldHere.get(index) === token) heldHere.delete(index);
    throw error;
  }
  if (heldHere.get(index) === token) heldHere.delete(index);
  throw new Error(`JobNetwork: could not take network index ${index} back: its claim file ${file} keeps changing`);
}

/**
 * Claims the lowest free index among `candidates`. An index is free if nobody claims it, or its claimer is dead and
 * its bridge has no port (no job runs on it), and its subnet does not overlap a route or name server of this machine.
 */
export async function claimFree(candidates: readonly number[], content: string, token: string, programs: Programs, log: Log): Promise<number> {
  const busy = await usedSubnets(programs);
  const reasons: string[] = [];
  for (const index of candidates) {
    checkIndex(index);
    if (heldHere.has(index)) continue; // claimed in this process (open, being opened, or dropped without close)
    const n = namesOf(index);
    const clash = busy.find((b) => b.dev !== n.bridge && prefixesOverlap(subnetOf(index), b));
    if (clash) {
      reasons.push(`${index}: overlaps ${clash.base}/${clash.prefix}`);
      continue;
    }
    heldHere.set(index, token);
    let taken = false;
    try {
      taken = await tryClaim(index, content, programs, log, reasons);
    } finally {
      if (!taken && heldHere.get(index) === token) heldHere.delete(index);
    }
    if (taken) return index;
  }
  const span = candidates.length > 0 ? ` (${candidates[0]}..${candidates.at(-1)})` : '';
  throw new Error(`JobNetwork: no free network index among ${candidates.length}${span}${reasons.length > 0 ? `; ${reasons.join('; ')}` : ''}`);
}

async function tryClaim(index: number, content: string, programs: Programs, log: Log, reasons: string[]): Promise<boolean> {
  const n = namesOf(index);
  const ports = await listDir(`/sys/class/net/${n.bridge}/brif`);
  // Jobs attached to the bridge keep an index theirs only while a process runs in one of them: a crashed run's
  // namespaces with nothing left in them are leftovers like any other, or the index would be lost for good.
  const running = ports.length > 0 && (await processesIn(index, programs)) > 0;
  if (await createClaim(n.claimFile, content)) {
    if (!running) {
      if (ports.length > 0) log(`network index ${index} has jobs attached but no process in any of them; cleaning and taking it`, { index });
      return true;
    }
    // Jobs run, yet nobody claims the index: leave them alone.
    await fsp.rm(n.claimFile, { force: true });
    reasons.push(`${index}: unclaimed but jobs run on it`);
    return false;
  }
  const raw = await readText(n.claimFile);
  if (raw === null) return false;
  const holder = parseClaim(raw);
  // A claim of this very process that no instance here holds is a leftover too (heldHere knows them all).
  if (holder && holder.pid !== process.pid && isAlive(holder)) return false;
  if (running) {
    reasons.push(`${index}: its owner is gone but jobs run on it (the owner comes back for them)`);
    return false;
  }
  if (!(await replaceClaim(n.claimFile, raw, content))) return false;
  log(`network index ${index} was left by dead process ${holder?.pid ?? '?'}; cleaning and taking it`, { index, deadPid: holder?.pid });
  return true;
}

/** How many processes run in the job namespaces of `index` (`ip netns pids`, which looks through /proc). */
async function processesIn(index: number, programs: Programs): Promise<number> {
  const n = namesOf(index);
  const names = (await listDir(NETNS_DIR)).filter((name) => n.netnsRe.test(name));
  const counts = await Promise.all(
    names.map(async (name) => {
      const result = await runRaw([programs.ip, 'netns', 'pids', name]);
      // Unreadable counts as running: never take an index on a doubt.
      if (result.code !== 0) return 1;
      return result.stdout.split('\n').filter((line) => line.trim() !== '').length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** IPv4 prefixes this machine already routes (except the default route), and its name servers. */
async function usedSubnets(programs: Programs): Promise<{ base: string; prefix: number; dev?: string }[]> {
  const used: { base: string; prefix: number; dev?: string }[] = [];
  const result = await runRaw([programs.ip, '-j', '-4', 'route', 'show', 'table', 'all']);
  if (result.code === 0) {
    try {
      for (const route of JSON.parse(result.stdout) as { dst?: string; dev?: string }[]) {
        const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(route.dst ?? '');
        if (m) used.push({ base: m[1]!, prefix: m[2] === undefined ? 32 : Number(m[2]), ...(route.dev ? { dev: route.dev } : {}) });
      }
    } catch {
      // no routes to learn from
    }
  }
  const resolv = await fsp.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  for (const m of resolv.matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)) used.push({ base: m[1]!, prefix: 32 });
  return used;
}
