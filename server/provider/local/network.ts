import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  CLAIM_DIR,
  CommandError,
  MAX_CONCURRENT_JOBS,
  MAX_INDEX,
  NETNS_DIR,
  checkHostEntries,
  checkIndex,
  checkSlot,
  checkSources,
  createClaim,
  exists,
  findPrograms,
  hostRuleset,
  hostTeardownRuleset,
  hostsFile,
  isAlive,
  isHostname,
  jobRuleset,
  listDir,
  namesOf,
  parseClaim,
  parsePeers,
  portElement,
  prefixesOverlap,
  processStart,
  readText,
  replaceClaim,
  rewriteInPlace,
  run,
  runRaw,
  slotNamesOf,
  subnetOf,
  type ClaimOwner,
  type HostEntry,
  type PortElement,
  type Programs,
} from './netlinux';

/*
 * Network isolation of the built-in provider's jobs on Linux (root only). Each provider instance claims a network
 * index i: a bridge jdb<i> with the host at 10.(100+i).0.1/16, and host-side nftables tables that keep jobs away from
 * the host and pin each bridge port to its job's MAC and address. Each job (slot s) gets a namespace jd<i>-<s> with one
 * veth on that bridge, the address 10.(100+i).x.y, no default route, a firewall that drops incoming traffic except from
 * loopback, replies, the host and the addresses it is told to allow, and a hosts file of its own. NETWORK.md says why.
 */

export { MAX_INDEX, MAX_SLOT, MAX_CONCURRENT_JOBS, CommandError } from './netlinux';

export interface IsolationProbe {
  isolated: boolean;
  /** Why not, in plain words; null when isolated. */
  reason: string | null;
}

const PACKAGES: Record<string, string> = { ip: 'iproute2', nft: 'nftables', nsenter: 'util-linux' };

/** Whether this process can isolate jobs: Linux, root, ip/nft/nsenter present, and a test namespace works. */
export async function probeIsolation(): Promise<IsolationProbe> {
  const no = (reason: string): IsolationProbe => ({ isolated: false, reason });
  if (process.platform !== 'linux') return no(`network namespaces need Linux, and this is ${process.platform}`);
  const uid = process.getuid?.();
  if (uid !== 0) return no(`the server does not run as root (uid ${uid}), and only root can make network namespaces`);
  const programs = findPrograms();
  if ('missing' in programs) return no(`the \`${programs.missing}\` command is missing (install the ${PACKAGES[programs.missing]} package)`);
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

/**
 * Serialises a network's operations: those on one slot run one at a time, and the exclusive ones (claiming the
 * bridge and tables, cleaning leftovers, closing) run alone. Operations on different slots may overlap.
 */
class Serial {
  #exclusive: Promise<void> = Promise.resolve();
  #running = new Set<Promise<void>>();
  #slots = new Map<number, Promise<void>>();

  slot<T>(slot: number, fn: () => Promise<T>): Promise<T> {
    const result = Promise.all([this.#exclusive, this.#slots.get(slot)]).then(fn);
    const done = result.then(
      () => {},
      () => {},
    );
    this.#slots.set(slot, done);
    this.#running.add(done);
    void done.then(() => {
      this.#running.delete(done);
      if (this.#slots.get(slot) === done) this.#slots.delete(slot);
    });
    return result;
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = Promise.all([this.#exclusive, ...this.#running]).then(fn);
    this.#exclusive = result.then(
      () => {},
      () => {},
    );
    return result;
  }
}

type Log = (msg: string, extra?: object) => void;

/** Link group (plus the index) that veths are moved to just before they are deleted together. */
const DOOMED_GROUP = 0x6a640000;

/** The open networks of this process, by index: a second open of the same index supersedes the first. */
const openHere = new Map<number, JobNetwork>();
/**
 * Indexes this process claims, with the claiming instance's token. Set before the claim file is even tried, so two
 * opens in one process (which share a pid, so the claim file cannot tell them apart) never pick the same index.
 */
const heldHere = new Map<number, string>();

export interface OpenOptions {
  /** The index this provider stored last time (null on first start): taken back if no other live process holds it. */
  index: number | null;
  log?: Log;
  /** Indexes to pick a free one from, lowest first (default 0..MAX_INDEX). Tests narrow it. */
  candidates?: readonly number[];
}

export class JobNetwork {
  /** To be persisted by the caller: the next open passes it back. */
  readonly index: number;
  readonly bridge: string;
  /** The bridge's own address: the host reaches jobs from it, and every job's firewall admits it. */
  readonly hostAddress: string;

  readonly #programs: Programs;
  readonly #owner: ClaimOwner;
  readonly #log: Log;
  readonly #ipv6: boolean;
  readonly #serial = new Serial();
  #state: 'open' | 'closed' | 'superseded' = 'open';

  private constructor(index: number, programs: Programs, owner: ClaimOwner, log: Log, ipv6: boolean) {
    this.index = index;
    const names = namesOf(index);
    this.bridge = names.bridge;
    this.hostAddress = names.hostAddress;
    this.#programs = programs;
    this.#owner = owner;
    this.#log = log;
    this.#ipv6 = ipv6;
  }

  /**
   * Claims a network for one provider instance. A stored `index` is taken back (its jobs may still run: nothing of
   * them is touched); otherwise, or when another live process holds that index, the lowest free index is claimed,
   * and whatever a dead owner left of it is removed first.
   */
  static async open(opts: OpenOptions): Promise<JobNetwork> {
    const log: Log = opts.log ?? (() => {});
    const programs = findPrograms();
    if ('missing' in programs) throw new Error(`JobNetwork: the \`${programs.missing}\` command is missing (install the ${PACKAGES[programs.missing]} package)`);
    await fsp.mkdir(CLAIM_DIR, { recursive: true, mode: 0o755 });
    const start = processStart(process.pid);
    if (start === null) throw new Error('JobNetwork: cannot read this process\'s start time from /proc');
    const owner: ClaimOwner = { pid: process.pid, start, token: randomBytes(8).toString('hex'), at: new Date().toISOString() };
    const content = `${JSON.stringify(owner)}\n`;
    const ipv6 = await exists('/proc/sys/net/ipv6');

    let index: number | null = null;
    let fresh = false;
    if (opts.index !== null) {
      checkIndex(opts.index);
      const holder = await takeStored(opts.index, content, owner.token);
      if (holder === null) index = opts.index;
      else log(`network index ${opts.index} is held by live process ${holder.pid}; claiming another`, { index: opts.index, holder: holder.pid });
    }
    if (index === null) {
      index = await claimFree(opts.candidates ?? range(0, MAX_INDEX), content, owner.token, programs, log);
      fresh = true;
    }

    const network = new JobNetwork(index, programs, owner, log, ipv6);
    const previous = openHere.get(index);
    if (previous && previous.#state === 'open') {
      previous.#state = 'superseded';
      log(`network ${index} was still open in this process; the new instance takes it over`, { index });
    }
    openHere.set(index, network);
    try {
      await network.#serial.exclusive(async () => {
        if (fresh) await network.#wipe();
        await network.#ensureInfra();
      });
    } catch (error) {
      network.#state = 'closed';
      if (openHere.get(index) === network) openHere.delete(index);
      await network.#releaseClaim();
      if (heldHere.get(index) === owner.token) heldHere.delete(index);
      throw error;
    }
    log(`network ${index} claimed (bridge ${network.bridge}, host ${network.hostAddress})`, { index, fresh });
    return network;
  }

  netnsName(slot: number): string {
    checkSlot(slot);
    return slotNamesOf(this.index, slot).netns;
  }

  addressOf(slot: number): string {
    checkSlot(slot);
    return slotNamesOf(this.index, slot).address;
  }

  /** Runs a command inside the job's namespace, with its hosts file over /etc/hosts: prefix of the command's argv. */
  execPrefix(slot: number): string[] {
    return [this.#programs.ip, 'netns', 'exec', this.netnsName(slot)];
  }

  /**
   * Creates the job's namespace, its veth on the bridge, its address, loopback, its firewall (deny incoming) and its
   * hosts file. On a job that exists it rebuilds what is missing and verifies the rest, keeping the sources it allows
   * and the peers in its hosts file.
   */
  async createJob(slot: number): Promise<{ netns: string; address: string }> {
    checkSlot(slot);
    return this.#serial.slot(slot, async () => {
      this.#assertOpen();
      const s = slotNamesOf(this.index, slot);
      const hadNetns = await exists(path.join(NETNS_DIR, s.netns));
      try {
        await this.#buildJob(slot, hadNetns);
      } catch (error) {
        // A job that never was leaves nothing behind; one that was stays for the next attempt.
        if (!hadNetns) await Promise.allSettled([this.#removeSlots([slot]), this.#unpin(slot)]);
        if (error instanceof Error && /Exchange full/.test(error.message)) {
          throw new Error(`JobNetwork ${this.index}: bridge ${this.bridge} has no free port (a Linux bridge takes at most ${MAX_CONCURRENT_JOBS}): ${error.message}`, {
            cause: error,
          });
        }
        throw error;
      }
      return { netns: s.netns, address: s.address };
    });
  }

  async #buildJob(slot: number, hadNetns: boolean) {
    const s = slotNamesOf(this.index, slot);
    const { ip, nft, nsenter } = this.#programs;

    await fsp.mkdir(s.etcDir, { recursive: true, mode: 0o755 });
    // Explicitly: the server's umask (077) would leave it unreadable to the job's account, and its names unresolved.
    await fsp.chmod(s.etcDir, 0o755);
    const hostsPath = path.join(s.etcDir, 'hosts');
    const previous = await readText(hostsPath);
    await rewriteInPlace(hostsPath, hostsFile(this.#own(slot), previous ? parsePeers(previous) : []));

    const pin = run([nft, '-f', '-'], `add element bridge ${namesOf(this.index).hostTable} ports { ${portElement(this.#port(slot))} }\n`);
    const inside = async () => {
      let hadVeth = await exists(`/sys/class/net/${s.veth}`);
      const allowed = hadNetns ? await this.#readAllowed(s.netns) : [];
      const firewall = () => run([nsenter, `--net=${path.join(NETNS_DIR, s.netns)}`, nft, '-f', '-'], jobRuleset(this.hostAddress, allowed));
      const jobSideArgv = [ip, '-n', s.netns, '-b', '-'];
      const jobSide = () =>
        runRaw(
          jobSideArgv,
          [
            'link set lo up',
            ...(this.#ipv6 ? ['link set eth0 addrgenmode none'] : []),
            `link set eth0 address ${s.mac}`,
            `addr replace ${s.address}/16 dev eth0`,
            'link set eth0 up',
          ].join('\n'),
        );
      for (let attempt = 0; ; attempt++) {
        const host = [
          ...(hadNetns || attempt > 0 ? [] : [`netns add ${s.netns}`]),
          ...(hadVeth ? [] : [`link add ${s.veth} type veth peer name eth0 address ${s.mac} netns ${s.netns}`]),
          ...(this.#ipv6 ? [`link set ${s.veth} addrgenmode none`] : []),
          `link set ${s.veth} master ${this.bridge} up`,
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
        this.#log(`job ${s.netns}: its veth did not lead into its namespace; recreating it`, { slot });
        await run([ip, 'link', 'del', s.veth]);
        hadVeth = false;
      }
    };
    const [a, b] = await Promise.allSettled([pin, inside()]);
    for (const r of [b, a]) if (r.status === 'rejected') throw r.reason;
  }

  /**
   * Replaces the job's whole rule set in one transaction: incoming traffic is admitted only from `allowFrom` (and
   * loopback, replies, and the host). Connections already established stay (conntrack), new ones from a removed
   * source time out.
   */
  async setAllowedSources(slot: number, allowFrom: string[]): Promise<void> {
    checkSlot(slot);
    const sources = checkSources(allowFrom);
    return this.#serial.slot(slot, async () => {
      this.#assertOpen();
      const s = slotNamesOf(this.index, slot);
      await this.#assertJob(slot);
      await run([this.#programs.nsenter, `--net=${path.join(NETNS_DIR, s.netns)}`, this.#programs.nft, '-f', '-'], jobRuleset(this.hostAddress, sources));
    });
  }

  /**
   * Rewrites the job's hosts file in place (truncate and write; the file stays the same), so processes already in
   * the job see the change. Keeps localhost and the job's own names.
   */
  async setHosts(slot: number, entries: { hostname: string; address: string }[]): Promise<void> {
    checkSlot(slot);
    checkHostEntries(entries);
    const copy: HostEntry[] = entries.map((e) => ({ hostname: e.hostname, address: e.address }));
    return this.#serial.slot(slot, async () => {
      this.#assertOpen();
      await this.#assertJob(slot);
      await rewriteInPlace(path.join(slotNamesOf(this.index, slot).etcDir, 'hosts'), hostsFile(this.#own(slot), copy));
    });
  }

  /** Removes the job's veth, namespace, hosts folder and port pin. Idempotent. */
  async destroyJob(slot: number): Promise<void> {
    checkSlot(slot);
    return this.#serial.slot(slot, async () => {
      this.#assertOpen();
      const [removed, unpinned] = await Promise.allSettled([this.#removeSlots([slot]), this.#unpin(slot)]);
      for (const r of [removed, unpinned]) if (r.status === 'rejected') throw r.reason;
    });
  }

  /** Removes everything of this index whose slot is not in `keep` (what a crashed run left). */
  async cleanLeftovers(keep: Set<number>): Promise<void> {
    return this.#serial.exclusive(async () => {
      this.#assertOpen();
      const gone = (await this.#presentSlots()).filter((slot) => !keep.has(slot));
      if (gone.length > 0) {
        await this.#removeSlots(gone);
        this.#log(`network ${this.index}: removed leftover jobs`, { index: this.index, slots: gone });
      }
      await this.#loadHostRules();
    });
  }

  /**
   * Releases the claim; jobs keep running (a later open of the same index takes them back). With teardown, also
   * removes every job, the bridge, the host tables and the claim file: nothing of this index is left.
   */
  async close(opts: { teardown?: boolean } = {}): Promise<void> {
    return this.#serial.exclusive(async () => {
      if (this.#state === 'superseded') {
        this.#log(`network ${this.index}: close of a superseded instance does nothing`, { index: this.index });
        this.#state = 'closed';
        return;
      }
      if (this.#state === 'closed') return;
      if (opts.teardown) await this.#wipe();
      this.#state = 'closed';
      if (openHere.get(this.index) === this) openHere.delete(this.index);
      await this.#releaseClaim();
      if (heldHere.get(this.index) === this.#owner.token) heldHere.delete(this.index);
      this.#log(`network ${this.index} ${opts.teardown ? 'torn down' : 'released'}`, { index: this.index });
    });
  }

  /** Slots whose namespace exists now, ascending (to re-attach to jobs after a restart). */
  async existingSlots(): Promise<number[]> {
    const re = namesOf(this.index).netnsRe;
    return (await listDir(NETNS_DIR))
      .map((name) => re.exec(name))
      .flatMap((m) => (m ? [Number(m[1])] : []))
      .sort((a, b) => a - b);
  }

  // -------------------------------------------------------------------------------------------------------------

  #assertOpen() {
    if (this.#state === 'superseded') throw new Error(`JobNetwork ${this.index}: another instance in this process has taken this network over`);
    if (this.#state === 'closed') throw new Error(`JobNetwork ${this.index} is closed`);
  }

  async #assertJob(slot: number) {
    const s = slotNamesOf(this.index, slot);
    if (!(await exists(path.join(NETNS_DIR, s.netns))) || !(await exists(s.etcDir))) {
      throw new Error(`JobNetwork ${this.index}: job slot ${slot} has no namespace (${s.netns}); createJob first`);
    }
  }

  #own(slot: number) {
    const s = slotNamesOf(this.index, slot);
    // Jobs share the machine's hostname (no UTS namespace), so it names the job itself inside it.
    const hostname = os.hostname();
    return { address: s.address, names: [s.netns, ...(isHostname(hostname) && hostname !== s.netns ? [hostname] : [])] };
  }

  #port(slot: number): PortElement {
    const s = slotNamesOf(this.index, slot);
    return { veth: s.veth, mac: s.mac, address: s.address };
  }

  async #readAllowed(netns: string): Promise<string[]> {
    const { nsenter, nft } = this.#programs;
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
  async #presentSlots(): Promise<number[]> {
    const n = namesOf(this.index);
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

  /** Drops the slot's pin from the bridge table (adding it first makes the delete succeed whether or not it was there). */
  async #unpin(slot: number) {
    const element = portElement(this.#port(slot));
    const table = namesOf(this.index).hostTable;
    const argv = [this.#programs.nft, '-f', '-'];
    const result = await runRaw(argv, `add element bridge ${table} ports { ${element} }\ndelete element bridge ${table} ports { ${element} }\n`);
    // No table at all (removed from outside) means no pin either.
    if (result.code !== 0 && !/No such file or directory/.test(result.stderr)) throw new CommandError(argv, result.code, result.stderr, `unpinning slot ${slot}`);
  }

  /**
   * Deletes the veths (first: that cuts a job off even while its processes live on), namespaces and hosts folders.
   * Several veths go in one kernel call (moved into a link group, then the group deleted): deleting links one by one
   * waits for an RCU grace period each, about 20 ms apiece here.
   */
  async #removeSlots(slots: number[]) {
    const { ip } = this.#programs;
    const present = async () =>
      (
        await Promise.all(
          slots.map(async (slot) => {
            const s = slotNamesOf(this.index, slot);
            const [veth, netns] = await Promise.all([exists(`/sys/class/net/${s.veth}`), exists(path.join(NETNS_DIR, s.netns))]);
            return { veth: veth ? s.veth : null, netns: netns ? s.netns : null };
          }),
        )
      ).filter((p) => p.veth || p.netns);
    const found = await present();
    const veths = found.flatMap((p) => (p.veth ? [p.veth] : []));
    const group = DOOMED_GROUP + this.index;
    const lines = [
      ...(veths.length > 1 ? [...veths.map((v) => `link set ${v} group ${group}`), `link del group ${group}`] : veths.map((v) => `link del ${v}`)),
      ...found.flatMap((p) => (p.netns ? [`netns del ${p.netns}`] : [])),
    ];
    if (lines.length > 0) {
      const result = await runRaw([ip, '-force', '-b', '-'], lines.join('\n'));
      const left = (await present()).flatMap((p) => [p.veth, p.netns].filter((x): x is string => x !== null));
      if (left.length > 0) throw new CommandError([ip, '-force', '-b', '-'], result.code, result.stderr, `still there: ${left.join(', ')}`);
    }
    await Promise.all(slots.map((slot) => fsp.rm(slotNamesOf(this.index, slot).etcDir, { recursive: true, force: true })));
  }

  async #loadHostRules() {
    const slots = (await this.existingSlots()).map((slot) => this.#port(slot));
    await run([this.#programs.nft, '-f', '-'], hostRuleset(this.index, slots));
  }

  /** The host side: tables first (so nothing is open for a moment), then the bridge with its fixed MAC and address. */
  async #ensureInfra() {
    const { ip } = this.#programs;
    const n = namesOf(this.index);
    await this.#loadHostRules();
    if (!(await exists(`/sys/class/net/${n.bridge}`))) {
      const result = await runRaw([ip, 'link', 'add', n.bridge, 'type', 'bridge']);
      if (result.code !== 0 && !(await exists(`/sys/class/net/${n.bridge}`))) throw new CommandError([ip, 'link', 'add', n.bridge, 'type', 'bridge'], result.code, result.stderr);
    }
    const lines = [
      ...(this.#ipv6 ? [`link set ${n.bridge} addrgenmode none`] : []),
      // A fixed MAC: a bridge otherwise takes its lowest port's, which changes as jobs come and go.
      `link set ${n.bridge} address 02:6a:64:${this.index.toString(16).padStart(2, '0')}:ff:ff`,
      `addr replace ${this.hostAddress}/16 dev ${n.bridge}`,
      `link set ${n.bridge} up`,
    ];
    await run([ip, '-b', '-'], lines.join('\n'));
  }

  /** Removes everything of this index: jobs, host tables, bridge. */
  async #wipe() {
    const { ip, nft } = this.#programs;
    const n = namesOf(this.index);
    const slots = await this.#presentSlots();
    if (slots.length > 0) await this.#removeSlots(slots);
    await run([nft, '-f', '-'], hostTeardownRuleset(this.index));
    if (await exists(`/sys/class/net/${n.bridge}`)) {
      const result = await runRaw([ip, 'link', 'del', n.bridge]);
      if (result.code !== 0 && (await exists(`/sys/class/net/${n.bridge}`))) throw new CommandError([ip, 'link', 'del', n.bridge], result.code, result.stderr);
    }
  }

  /** Removes the claim file if it is still this instance's. */
  async #releaseClaim() {
    const file = namesOf(this.index).claimFile;
    const raw = await readText(file);
    if (raw !== null && parseClaim(raw)?.token === this.#owner.token) await fsp.rm(file, { force: true });
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Takes a stored index back. Returns null when taken, or the live process that holds it. */
async function takeStored(index: number, content: string, token: string): Promise<ClaimOwner | null> {
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
async function claimFree(candidates: readonly number[], content: string, token: string, programs: Programs, log: Log): Promise<number> {
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
