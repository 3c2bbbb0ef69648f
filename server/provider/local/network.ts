import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CLAIM_DIR, MAX_CONCURRENT_JOBS, MAX_INDEX, NETNS_DIR, checkIndex, checkSlot, namesOf, slotNamesOf } from './net-names';
import { CommandError, exists, findPrograms, listDir, run, runRaw, type Programs } from './host-commands';
import { checkHostEntries, hostsFile, rewriteInPlace, type HostEntry } from './hosts-file';
import { checkSources, hostRuleset, hostTeardownRuleset, jobRuleset, portElement } from './nft-rulesets';
import { parseClaim, processStart, readText, type ClaimOwner } from './claim-files';
import { PACKAGE_OF } from './isolation-probe';
import { claimFree, range, releaseHeld, takeStored, type Log } from './index-claims';
import { buildJob, ownHosts, portOf, presentSlots, removeSlots, type NetworkContext } from './job-links';
import { Serial } from './slot-serial';

/*
 * Network isolation of the built-in provider's jobs on Linux (root only). Each provider instance claims a network
 * index i: a bridge jdb<i> with the host at 10.(100+i).0.1/16, and host-side nftables tables that keep jobs away from
 * the host and pin each bridge port to its job's MAC and address. Each job (slot s) gets a namespace jd<i>-<s> with one
 * veth on that bridge, the address 10.(100+i).x.y, no default route, a firewall that drops incoming traffic except from
 * loopback, replies, the host and the addresses it is told to allow, and a hosts file of its own. NETWORK.md says why.
 * The parts: isolation-probe.ts (can this process isolate at all), index-claims.ts (which index is ours),
 * job-links.ts (a job's namespace, veth, firewall and hosts file), slot-serial.ts (which operations may overlap).
 */

export { MAX_INDEX, MAX_SLOT, MAX_CONCURRENT_JOBS } from './net-names';
export { CommandError } from './host-commands';
export { probeIsolation, type IsolationProbe } from './isolation-probe';

/** The open networks of this process, by index: a second open of the same index supersedes the first. */
const openHere = new Map<number, JobNetwork>();
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
  readonly #context: NetworkContext;
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
    this.#context = { index, bridge: this.bridge, hostAddress: this.hostAddress, programs, ipv6, log };
  }

  /**
   * Claims a network for one provider instance. A stored `index` is taken back (its jobs may still run: nothing of
   * them is touched); otherwise, or when another live process holds that index, the lowest free index is claimed,
   * and whatever a dead owner left of it is removed first.
   */
  static async open(opts: OpenOptions): Promise<JobNetwork> {
    const log: Log = opts.log ?? (() => {});
    const programs = findPrograms();
    if ('missing' in programs) throw new Error(`JobNetwork: the \`${programs.missing}\` command is missing (install the ${PACKAGE_OF[programs.missing]} package)`);
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
      releaseHeld(index, owner.token);
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
        await buildJob(this.#context, slot, hadNetns);
      } catch (error) {
        // A job that never was leaves nothing behind; one that was stays for the next attempt.
        if (!hadNetns) await Promise.allSettled([removeSlots(this.#context, [slot]), this.#unpin([slot])]);
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
      await rewriteInPlace(path.join(slotNamesOf(this.index, slot).etcDir, 'hosts'), hostsFile(ownHosts(this.index, slot), copy));
    });
  }

  /** Removes the job's veth, namespace, hosts folder and port pin. Idempotent. */
  async destroyJob(slot: number): Promise<void> {
    checkSlot(slot);
    return this.#serial.slot(slot, async () => {
      this.#assertOpen();
      const [removed, unpinned] = await Promise.allSettled([removeSlots(this.#context, [slot]), this.#unpin([slot])]);
      for (const r of [removed, unpinned]) if (r.status === 'rejected') throw r.reason;
    });
  }

  /**
   * Removes several jobs' veths, namespaces, hosts folders and port pins in one `ip -b` and one `nft -f`. When many
   * jobs end at once, one process per job would spend seconds each on a loaded machine. Idempotent.
   */
  async destroyJobs(slots: number[]): Promise<void> {
    for (const slot of slots) checkSlot(slot);
    if (slots.length === 0) return;
    if (slots.length === 1) return this.destroyJob(slots[0]!);
    return this.#serial.exclusive(async () => {
      this.#assertOpen();
      const [removed, unpinned] = await Promise.allSettled([removeSlots(this.#context, slots), this.#unpin(slots)]);
      for (const r of [removed, unpinned]) if (r.status === 'rejected') throw r.reason;
    });
  }

  /** Removes everything of this index whose slot is not in `keep` (what a crashed run left). */
  async cleanLeftovers(keep: Set<number>): Promise<void> {
    return this.#serial.exclusive(async () => {
      this.#assertOpen();
      const gone = (await presentSlots(this.index)).filter((slot) => !keep.has(slot));
      if (gone.length > 0) {
        await removeSlots(this.#context, gone);
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
      releaseHeld(this.index, this.#owner.token);
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

  /** Drops the slots' pins from the bridge table (adding them first makes the delete succeed whether or not they were there). */
  async #unpin(slots: number[]) {
    const elements = slots.map((slot) => portElement(portOf(this.index, slot))).join(', ');
    const table = namesOf(this.index).hostTable;
    const argv = [this.#programs.nft, '-f', '-'];
    const result = await runRaw(argv, `add element bridge ${table} ports { ${elements} }\ndelete element bridge ${table} ports { ${elements} }\n`);
    // No table at all (removed from outside) means no pin either.
    if (result.code !== 0 && !/No such file or directory/.test(result.stderr)) throw new CommandError(argv, result.code, result.stderr, `unpinning slots ${slots.join(', ')}`);
  }

  async #loadHostRules() {
    const slots = (await this.existingSlots()).map((slot) => portOf(this.index, slot));
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
    const slots = await presentSlots(this.index);
    if (slots.length > 0) await removeSlots(this.#context, slots);
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

