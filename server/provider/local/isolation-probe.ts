import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { NETNS_DIR } from './net-names';
import { findPrograms, listDir, run, runRaw, type Programs } from './host-commands';
import { hostRuleset, jobRuleset } from './nft-rulesets';
import { processStart } from './claim-files';

export interface IsolationProbe {
  isolated: boolean;
  /** Why not, in plain words; null when isolated. */
  reason: string | null;
}

/** The package that brings each command the isolation needs. */
export const PACKAGE_OF: Readonly<Record<string, string>> = { ip: 'iproute2', nft: 'nftables', nsenter: 'util-linux' };

/** Whether this process can isolate jobs: Linux, root, ip/nft/nsenter present, and a test namespace works. */
export async function probeIsolation(): Promise<IsolationProbe> {
  const no = (reason: string): IsolationProbe => ({ isolated: false, reason });
  if (process.platform !== 'linux') return no(`network namespaces need Linux, and this is ${process.platform}`);
  const uid = process.getuid?.();
  if (uid !== 0) return no(`the server does not run as root (uid ${uid}), and only root can make network namespaces`);
  const programs = findPrograms();
  if ('missing' in programs) return no(`the \`${programs.missing}\` command is missing (install the ${PACKAGE_OF[programs.missing]} package)`);
  await removeDeadProbes(programs);
  const ns = `jdprobe-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    await run([programs.ip, 'netns', 'add', ns]);
    // Both rule sets as the network loads them, in the throwaway namespace: proves this nft and kernel take them.
    const probePort = { veth: 'jdv0-0', mac: '02:6a:64:00:00:00', address: '10.100.0.2' };
    await run([programs.nsenter, `--net=${path.join(NETNS_DIR, ns)}`, programs.nft, '-f', '-'], jobRuleset('10.100.0.1', ['10.100.0.3']) + hostRuleset(0, [probePort]));
    await run([programs.ip, 'netns', 'exec', ns, programs.ip, 'link', 'set', 'lo', 'up']);
    return { isolated: true, reason: null };
  } catch (error) {
    return no(`a test network namespace could not be set up: ${(error as Error).message}`);
  } finally {
    await runRaw([programs.ip, 'netns', 'del', ns]).catch(() => {});
  }
}

async function removeDeadProbes(programs: Programs) {
  for (const name of await listDir(NETNS_DIR)) {
    const match = /^jdprobe-(\d+)-/.exec(name);
    if (match && processStart(Number(match[1])) === null) await runRaw([programs.ip, 'netns', 'del', name]).catch(() => {});
  }
}
