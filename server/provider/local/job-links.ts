import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CommandError, exists, listDir, run, runRaw, type Programs } from './host-commands';
import { NETNS_DIR, namesOf, slotNamesOf } from './net-names';
import { checkSources, jobRuleset, portElement, type PortElement } from './nft-rulesets';
import { hostsFile, isHostname, parsePeers, rewriteInPlace } from './hosts-file';
import { readText } from './claim-files';
import type { Log } from './index-claims';

/* A job's own links: its namespace, its veth on the bridge, its firewall and hosts file, built and removed. */

/** What of a JobNetwork its jobs' links depend on. */
export interface NetworkContext {
  readonly index: number;
  readonly bridge: string;
  readonly hostAddress: string;
  readonly programs: Programs;
  readonly ipv6: boolean;
  readonly log: Log;
}

/** Link group (plus the index) that veths are moved to just before they are deleted together. */
const DOOMED_GROUP = 0x6a640000;

/** Builds (or rebuilds and verifies) the job's namespace, veth, firewall and hosts file: JobNetwork.createJob. */
export async function buildJob(net: NetworkContext, slot: number, hadNetns: boolean) {
  const s = slotNamesOf(net.index, slot);
  const { ip, nft, nsenter } = net.programs;

  await fsp.mkdir(s.etcDir, { recursive: true, mode: 0o755 });
  // Explicitly: the server's umask (077) would leave it unreadable to the job's account, and its names unresolved.
  await fsp.chmod(s.etcDir, 0o755);
  const hostsPath = path.join(s.etcDir, 'hosts');
  const previous = await readText(hostsPath);
  await rewriteInPlace(hostsPath, hostsFile(ownHosts(net.index, slot), previous ? parsePeers(previous) : []));

  const pin = run([nft, '-f', '-'], `add element bridge ${namesOf(net.index).hostTable} ports { ${portElement(portOf(net.index, slot))} }\n`);
  const inside = async () => {
    let hadVeth = await exists(`/sys/class/net/${s.veth}`);
    const allowed = hadNetns ? await readAllowed(net, s.netns) : [];
    const firewall = () => run([nsenter, `--net=${path.join(NETNS_DIR, s.netns)}`, nft, '-f', '-'], jobRuleset(net.hostAddress, allowed));
    const jobSideArgv = [ip, '-n', s.netns, '-b', '-'];
    const jobSide = () =>
      runRaw(
        jobSideArgv,
        [
          'link set lo up',
          ...(net.ipv6 ? ['link set eth0 addrgenmode none'] : []),
          `link set eth0 address ${s.mac}`,
          `addr replace ${s.address}/16 dev eth0`,
          'link set eth0 up',
        ].join('\n'),
      );
    for (let attempt = 0; ; attempt++) {
      const host = [
        ...(hadNetns || attempt > 0 ? [] : [`netns add ${s.netns}`]),
        ...(hadVeth ? [] : [`link add ${s.veth} type veth peer name eth0 address ${s.mac} netns ${s.netns}`]),
        ...(net.ipv6 ? [`link set ${s.veth} addrgenmode none`] : []),
        `link set ${s.veth} master ${net.bridge} up`,
      ];
      await run([ip, '-b', '-'], host.join('\n'));
      let result;
      if (hadNetns) {
        // Processes may run in it: the firewall is in place before its interface is (re)configured.
        await firewall();
        result = await jobSide();
      } else {
        // Nothing runs in a new namespace yet (it has no address either), so both at once.
        const [fw, js] = await Promise.allSettled([firewall(), jobSide()]);
        if (fw.status === 'rejected') throw fw.reason;
        if (js.status === 'rejected') throw js.reason;
        result = js.value;
      }
      if (result.code === 0) return;
      if (!hadVeth || attempt > 0) throw new CommandError(jobSideArgv, result.code, result.stderr);
      // The veth on the bridge does not lead into this namespace (a job that was half rebuilt): make it anew.
      net.log(`job ${s.netns}: its veth did not lead into its namespace; recreating it`, { slot });
      await run([ip, 'link', 'del', s.veth]);
      hadVeth = false;
    }
  };
  const [a, b] = await Promise.allSettled([pin, inside()]);
  for (const r of [b, a]) if (r.status === 'rejected') throw r.reason;
}

/** The job's own entry in its hosts file. */
export function ownHosts(index: number, slot: number) {
  const s = slotNamesOf(index, slot);
  // Jobs share the machine's hostname (no UTS namespace), so it names the job itself inside it.
  const hostname = os.hostname();
  return { address: s.address, names: [s.netns, ...(isHostname(hostname) && hostname !== s.netns ? [hostname] : [])] };
}

/** The bridge port pin of the job (veth, MAC, address). */
export function portOf(index: number, slot: number): PortElement {
  const s = slotNamesOf(index, slot);
  return { veth: s.veth, mac: s.mac, address: s.address };
}

/** The sources the job's firewall admits now (empty when it has none, or none to read). */
export async function readAllowed(net: NetworkContext, netns: string): Promise<string[]> {
  const { nsenter, nft } = net.programs;
  const result = await runRaw([nsenter, `--net=${path.join(NETNS_DIR, netns)}`, nft, '-j', 'list', 'set', 'inet', 'jobdeck', 'allowed']);
  if (result.code !== 0) return [];
  try {
    const parsed = JSON.parse(result.stdout) as { nftables?: { set?: { elem?: unknown[] } }[] };
    const elem = parsed.nftables?.find((o) => o.set)?.set?.elem ?? [];
    return checkSources(elem.filter((e): e is string => typeof e === 'string'));
  } catch {
    return [];
  }
}

/** Every slot with anything of it on this machine: namespace, host veth or hosts folder. */
export async function presentSlots(index: number): Promise<number[]> {
  const n = namesOf(index);
  const slots = new Set<number>();
  for (const [dir, re] of [
    [NETNS_DIR, n.netnsRe],
    ['/sys/class/net', n.vethRe],
    ['/etc/netns', n.netnsRe],
  ] as const) {
    for (const name of await listDir(dir)) {
      const m = re.exec(name);
      if (m) slots.add(Number(m[1]));
    }
  }
  return [...slots].sort((a, b) => a - b);
}

/**
 * Deletes the veths (first: that cuts a job off even while its processes live on), namespaces and hosts folders.
 * Several veths go in one kernel call (moved into a link group, then the group deleted): deleting links one by one
 * waits for an RCU grace period each, about 20 ms apiece here.
 */
export async function removeSlots(net: NetworkContext, slots: number[]) {
  const { ip } = net.programs;
  const present = async () =>
    (
      await Promise.all(
        slots.map(async (slot) => {
          const s = slotNamesOf(net.index, slot);
          const [veth, netns] = await Promise.all([exists(`/sys/class/net/${s.veth}`), exists(path.join(NETNS_DIR, s.netns))]);
          return { veth: veth ? s.veth : null, netns: netns ? s.netns : null };
        }),
      )
    ).filter((p) => p.veth || p.netns);
  const found = await present();
  const veths = found.flatMap((p) => (p.veth ? [p.veth] : []));
  const group = DOOMED_GROUP + net.index;
  const lines = [
    ...(veths.length > 1 ? [...veths.map((v) => `link set ${v} group ${group}`), `link del group ${group}`] : veths.map((v) => `link del ${v}`)),
    ...found.flatMap((p) => (p.netns ? [`netns del ${p.netns}`] : [])),
  ];
  if (lines.length > 0) {
    const result = await runRaw([ip, '-force', '-b', '-'], lines.join('\n'));
    const left = (await present()).flatMap((p) => [p.veth, p.netns].filter((x): x is string => x !== null));
    if (left.length > 0) throw new CommandError([ip, '-force', '-b', '-'], result.code, result.stderr, `still there: ${left.join(', ')}`);
  }
  await Promise.all(slots.map((slot) => fsp.rm(slotNamesOf(net.index, slot).etcDir, { recursive: true, force: true })));
}
