import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { describeWhere } from './prerequisite';
import { JobNetwork, MAX_INDEX, MAX_SLOT, probeIsolation } from './network';
import { CLAIM_DIR, namesOf, prefixesOverlap, slotNamesOf } from './net-names';
import { checkSources, hostRuleset, jobRuleset } from './nft-rulesets';
import { findProgram, runRaw } from './host-commands';
import { hostsFile, parsePeers } from './hosts-file';

/*
 * The job network against the real kernel (root only; CI runs these as root). Every namespace, link, table and claim
 * a test makes is removed after it, pass or fail, and checked gone.
 */

const probe = await probeIsolation();

describe('job network names and rule sets', () => {
  it('keeps every interface name within 15 characters, and addresses inside 10.(100+index).0.0/16', () => {
    for (const index of [0, 9, 10, MAX_INDEX]) {
      const n = namesOf(index);
      expect(n.bridge.length).toBeLessThanOrEqual(15);
      for (const slot of [0, 1, 253, 254, 255, 1000, MAX_SLOT]) {
        const s = slotNamesOf(index, slot);
        expect(s.veth.length).toBeLessThanOrEqual(15);
        expect(s.address.startsWith(`10.${100 + index}.`)).toBe(true);
        expect(s.address).not.toBe(n.hostAddress);
      }
    }
    expect(slotNamesOf(3, 0).address).toBe('10.103.0.2');
    expect(slotNamesOf(3, 254).address).toBe('10.103.1.0');
    expect(slotNamesOf(3, MAX_SLOT).address).toBe('10.103.255.254');
    const all = new Set(Array.from({ length: 2000 }, (_, slot) => slotNamesOf(7, slot).address));
    expect(all.size).toBe(2000);
    expect(slotNamesOf(0x2a, 0x1234).mac).toBe('02:6a:64:2a:12:34');
  });

  it('writes rule sets that replace themselves whole and admit only what they list', () => {
    const job = jobRuleset('10.100.0.1', ['10.100.0.3', '10.100.0.2']);
    expect(job).toMatch(/^table inet jobdeck\ndelete table inet jobdeck\ntable inet jobdeck \{/);
    expect(job).toContain('policy drop;');
    expect(job).toContain('iif lo accept');
    expect(job).toContain('ct state established,related accept');
    expect(job).toContain('ip saddr 10.100.0.1 accept');
    expect(job).toContain('elements = { 10.100.0.3, 10.100.0.2 }');
    expect(jobRuleset('10.100.0.1', [])).not.toContain('elements');
    const host = hostRuleset(4, [{ veth: 'jdv4-0', mac: '02:6a:64:04:00:00', address: '10.104.0.2' }]);
    expect(host).toContain('iifname "jdb4" ct state established,related accept\n    iifname "jdb4" drop');
    expect(host).toContain('"jdv4-0" . 02:6a:64:04:00:00 . 10.104.0.2');
    expect(host).toContain('iifname != "jdv4-*" accept');
  });

  it('refuses sources and host entries that are not plain addresses and names', () => {
    expect(checkSources(['10.100.0.3', '10.100.0.2', '10.100.0.3'])).toEqual(['10.100.0.2', '10.100.0.3']);
    expect(() => checkSources(['10.100.0.2; flush ruleset'])).toThrow(/not an IPv4 address/);
    expect(() => checkSources(['10.100.0.0/16'])).toThrow(/not an IPv4 address/);
    const text = hostsFile({ address: '10.100.0.2', names: ['jd0-0'] }, [{ hostname: 'database', address: '10.100.0.3' }]);
    expect(text).toContain('127.0.0.1\tlocalhost\n');
    expect(text).toContain('10.100.0.2\tjd0-0\n');
    expect(parsePeers(text)).toEqual([{ hostname: 'database', address: '10.100.0.3' }]);
    expect(prefixesOverlap({ base: '10.100.0.0', prefix: 16 }, { base: '10.0.0.0', prefix: 8 })).toBe(true);
    expect(prefixesOverlap({ base: '10.100.0.0', prefix: 16 }, { base: '10.255.255.53', prefix: 32 })).toBe(false);
    expect(prefixesOverlap({ base: '10.100.0.0', prefix: 16 }, { base: '10.100.7.9', prefix: 32 })).toBe(true);
  });

  it.runIf(!probe.isolated)('says in words why isolation is off', () => {
    expect(probe.reason).toMatch(/\w{3,}/);
  });
});

const NSENTER = findProgram('nsenter') ?? 'nsenter';
const IP = findProgram('ip') ?? 'ip';
const NFT = findProgram('nft') ?? 'nft';
const NODE = process.execPath;

/** Listens on 0.0.0.0:<port>, greets each connection with "hello", prints "listening" once ready. */
const SERVER = `
const net = require('node:net');
net.createServer((s) => s.end('hello\\n')).listen(Number(process.argv[1]), '0.0.0.0', () => console.log('listening'));
`;

/** Connects to <host>:<port> [from <local address>]; prints as JSON what happened: data, an error, or a timeout after <ms>. */
const CLIENT = `
const net = require('node:net');
const [host, port, ms, localAddress] = process.argv.slice(1);
const started = Date.now();
const done = (what) => { console.log(JSON.stringify({ ...what, ms: Date.now() - started })); process.exit(0); };
const timer = setTimeout(() => done({ result: 'timeout' }), Number(ms));
const socket = net.connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) });
let data = '';
socket.on('data', (d) => (data += d));
socket.on('end', () => { clearTimeout(timer); done({ result: 'data', data: data.trim() }); });
socket.on('error', (e) => { clearTimeout(timer); done({ result: 'error', code: e.code }); });
`;

type Outcome = { result: 'data'; data: string; ms: number } | { result: 'timeout'; ms: number } | { result: 'error'; code: string; ms: number };

describeWhere(probe.isolated, probe.reason, 'JobNetwork on the real kernel', () => {
  const opened: JobNetwork[] = [];
  const children: ChildProcess[] = [];
  const planted: string[] = [];

  async function open(opts: { index?: number | null; candidates?: number[] } = {}) {
    const network = await JobNetwork.open({ index: opts.index ?? null, ...(opts.candidates ? { candidates: opts.candidates } : {}) });
    opened.push(network);
    return network;
  }

  /** Starts a command in the job's namespace the way the provider does: argv only, no shell. Killed after the test. */
  function startIn(network: JobNetwork, slot: number, argv: string[]): ChildProcess {
    const full = [...network.execPrefix(slot), ...argv];
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  }

  async function serve(network: JobNetwork, slot: number, port: number) {
    const child = startIn(network, slot, [NODE, '-e', SERVER, String(port)]);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    await expect.poll(() => (child.exitCode === null ? out : `exited ${child.exitCode}: ${err}`), { timeout: 20_000, interval: 50 }).toContain('listening');
    return child;
  }

  async function connectFrom(network: JobNetwork, slot: number, host: string, port: number, ms: number, from?: string): Promise<Outcome> {
    const result = await runRaw([...network.execPrefix(slot), NODE, '-e', CLIENT, host, String(port), String(ms), ...(from ? [from] : [])]);
    if (result.code !== 0) throw new Error(`client in slot ${slot} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as Outcome;
  }

  function connectFromHost(host: string, port: number, ms: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = net.connect({ host, port });
      let data = '';
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ result: 'timeout', ms: Date.now() - started });
      }, ms);
      socket.on('data', (d) => (data += String(d)));
      socket.on('end', () => {
        clearTimeout(timer);
        resolve({ result: 'data', data: data.trim(), ms: Date.now() - started });
      });
      socket.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ result: 'error', code: e.code ?? e.message, ms: Date.now() - started });
      });
    });
  }

  /** What `ip netns list`, `ip link` and `nft list tables` say now, once for any number of indexes. */
  async function snapshot() {
    const [netns, links, tables] = await Promise.all([runRaw([IP, 'netns', 'list']), runRaw([IP, '-o', 'link', 'show']), runRaw([NFT, 'list', 'tables'])]);
    const etc = fs.existsSync('/etc/netns') ? fs.readdirSync('/etc/netns') : [];
    return { netns: netns.stdout.split('\n'), links: links.stdout.split('\n'), tables: tables.stdout.split('\n'), etc };
  }

  /** Everything of `index` that is on this machine: namespaces, links, tables, hosts folders, the claim. */
  async function traces(index: number, now?: Awaited<ReturnType<typeof snapshot>>): Promise<string[]> {
    const seen = now ?? (await snapshot());
    const found: string[] = [];
    for (const line of seen.netns) if (new RegExp(`^jd${index}-\\d+\\b`).test(line)) found.push(`netns ${line}`);
    for (const line of seen.links) if (new RegExp(`^\\d+: (jdb${index}|jdv${index}-\\d+)[:@]`).test(line)) found.push(`link ${line.split(':')[1]!.trim()}`);
    for (const line of seen.tables) if (line.trim().endsWith(` jobdeck${index}`)) found.push(line.trim());
    for (const dir of seen.etc) if (new RegExp(`^jd${index}-\\d+$`).test(dir)) found.push(`/etc/netns/${dir}`);
    if (fs.existsSync(`${CLAIM_DIR}/${index}`)) found.push(`${CLAIM_DIR}/${index}`);
    return found;
  }

  /**
   * What this process left of `index` after tearing it down. Another process (a parallel test file, a dev server)
   * may claim the freed index at once, so what is there once someone else's claim file is (looked at after the
   * snapshot) is theirs, not ours.
   */
  async function leftOf(index: number): Promise<string[]> {
    const found = await traces(index);
    const claim = fs.existsSync(`${CLAIM_DIR}/${index}`) ? fs.readFileSync(`${CLAIM_DIR}/${index}`, 'utf8') : null;
    if (claim !== null && !claim.includes(`"pid":${process.pid},`)) return [];
    return found;
  }

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }
    }
    const indexes = new Set(opened.map((n) => n.index));
    const errors: unknown[] = [];
    for (const network of opened.splice(0).reverse()) await network.close({ teardown: true }).catch((e: unknown) => errors.push(e));
    for (const thing of planted.splice(0)) await runRaw([IP, 'netns', 'del', thing]).catch(() => {});
    for (const index of indexes) expect(await leftOf(index), `left of network ${index}`).toEqual([]);
    expect(errors).toEqual([]);
  });

  /** A high index that nothing uses now, for tests that pick the index themselves (at random: other runs may do the same). */
  async function unusedIndex(): Promise<number> {
    const unused: number[] = [];
    const now = await snapshot();
    for (let index = MAX_INDEX; index > MAX_INDEX / 2; index--) {
      if ((await traces(index, now)).length === 0) unused.push(index);
    }
    if (unused.length === 0) throw new Error('no unused network index');
    return unused[Math.floor(Math.random() * unused.length)]!;
  }

  it('lets a job reach another only where allowed, by the name in its hosts file, and keeps the host out of reach', async () => {
    const network = await open();
    const [A, B, C] = [0, 1, 2];
    for (const slot of [A, B, C]) {
      const job = await network.createJob(slot);
      expect(job).toEqual({ netns: network.netnsName(slot), address: network.addressOf(slot) });
    }
    expect(new Set([A, B, C].map((s) => network.addressOf(s))).size).toBe(3);
    expect(await network.existingSlots()).toEqual([A, B, C]);
    const routes = await runRaw([IP, '-n', network.netnsName(A), '-j', 'route', 'show']);
    expect(routes.stdout).not.toContain('default');

    await serve(network, B, 5432);
    await network.setAllowedSources(B, [network.addressOf(A)]);
    await network.setHosts(A, [{ hostname: 'database', address: network.addressOf(B) }]);

    expect(await connectFrom(network, A, 'database', 5432, 15_000)).toMatchObject({ result: 'data', data: 'hello' });
    // A drop policy: nothing answers, so the attempt runs into the client's own timeout.
    const fromC = await connectFrom(network, C, network.addressOf(B), 5432, 1_000);
    expect(fromC.result).toBe('timeout');
    expect(fromC.ms).toBeGreaterThanOrEqual(900);
    // C has no hosts entry for it (the lookup fails: no name server is reachable from a job).
    expect((await connectFrom(network, C, 'database', 5432, 5_000)).result).not.toBe('data');

    // The host reaches into B from its bridge address.
    expect(await connectFromHost(network.addressOf(B), 5432, 15_000)).toMatchObject({ result: 'data', data: 'hello' });

    // A service of the host on every address is out of the jobs' reach.
    const hostServer = net.createServer((s) => s.end('host\n'));
    await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
    try {
      const port = (hostServer.address() as net.AddressInfo).port;
      expect(await connectFromHost(network.hostAddress, port, 15_000)).toMatchObject({ result: 'data', data: 'host' });
      const fromA = await connectFrom(network, A, network.hostAddress, port, 1_000);
      expect(fromA.result).toBe('timeout');
    } finally {
      await new Promise((resolve) => hostServer.close(resolve));
    }

    // A process already running in A sees its hosts file change in place.
    const sleeper = startIn(network, A, ['sleep', '600']);
    await expect.poll(() => fs.readFileSync(`/proc/${sleeper.pid}/comm`, 'utf8').trim(), { timeout: 20_000 }).toBe('sleep');
    const lookup = async () => (await runRaw([NSENTER, '-t', String(sleeper.pid), '-n', '-m', 'getent', 'hosts', 'database'])).stdout.trim();
    expect(await lookup()).toMatch(new RegExp(`^${network.addressOf(B).replaceAll('.', '\\.')}\\s+database$`));
    await network.setHosts(A, []);
    await expect.poll(lookup, { timeout: 10_000 }).toBe('');
    // ... and it still knows itself.
    const self = await runRaw([NSENTER, '-t', String(sleeper.pid), '-n', '-m', 'getent', 'hosts', network.netnsName(A)]);
    expect(self.stdout).toContain(network.addressOf(A));

    await network.setAllowedSources(B, []);
    const revoked = await connectFrom(network, A, network.addressOf(B), 5432, 1_000);
    expect(revoked.result).toBe('timeout');
    // The host is always let in.
    expect(await connectFromHost(network.addressOf(B), 5432, 15_000)).toMatchObject({ result: 'data', data: 'hello' });

    await network.destroyJob(C);
    await network.destroyJob(C);
    expect(await network.existingSlots()).toEqual([A, B]);
  });

  it('does not let a job pose as another to get past that one\'s firewall', async () => {
    const network = await open();
    const [A, B, C] = [0, 1, 2];
    for (const slot of [A, B, C]) await network.createJob(slot);
    await serve(network, B, 5433);
    await network.setAllowedSources(B, [network.addressOf(C)]);
    expect(await connectFrom(network, C, network.addressOf(B), 5433, 15_000)).toMatchObject({ result: 'data', data: 'hello' });
    // Root in A takes C's address as well (a job running as root could): the bridge drops what A sends from it.
    const add = await runRaw([IP, '-n', network.netnsName(A), 'addr', 'add', `${network.addressOf(C)}/32`, 'dev', 'eth0']);
    expect(add.stderr).toBe('');
    const posing = await connectFrom(network, A, network.addressOf(B), 5433, 1_000, network.addressOf(C));
    expect(posing.result).toBe('timeout');
  });

  it('keeps what a job allows and knows when createJob runs again on it', async () => {
    const network = await open();
    await network.createJob(0);
    await network.createJob(1);
    await network.setAllowedSources(1, [network.addressOf(0)]);
    await network.setHosts(0, [{ hostname: 'database', address: network.addressOf(1) }]);
    await serve(network, 1, 7000);

    await network.createJob(1);
    await network.createJob(0);
    expect(await connectFrom(network, 0, 'database', 7000, 15_000)).toMatchObject({ result: 'data', data: 'hello' });

    // A job whose veth went missing gets a new one on the next createJob.
    await runRaw([IP, 'link', 'del', slotNamesOf(network.index, 0).veth]);
    expect((await connectFrom(network, 0, 'database', 7000, 1_000)).result).not.toBe('data');
    await network.createJob(0);
    expect(await connectFrom(network, 0, 'database', 7000, 15_000)).toMatchObject({ result: 'data', data: 'hello' });
  });

  it('refuses bad input with the reason', async () => {
    const network = await open();
    await network.createJob(0);
    await expect(network.setAllowedSources(0, ['10.0.0.1 } ; flush ruleset ; {'])).rejects.toThrow(/not an IPv4 address/);
    await expect(network.setHosts(0, [{ hostname: 'db\n10.0.0.1 evil', address: '10.100.0.9' }])).rejects.toThrow(/not a valid hostname/);
    await expect(network.setHosts(5, [])).rejects.toThrow(/no namespace/);
    expect(() => network.addressOf(-1)).toThrow(RangeError);
    expect(() => network.netnsName(MAX_SLOT + 1)).toThrow(RangeError);
  });

  it('gives two networks opened at once different indexes', async () => {
    const [first, second] = await Promise.all([open(), open()]);
    expect(first!.index).not.toBe(second!.index);
    expect(first!.bridge).not.toBe(second!.bridge);
    await Promise.all([first!.createJob(0), second!.createJob(0)]);
    expect(first!.addressOf(0)).not.toBe(second!.addressOf(0));
    // A job of one network cannot reach a job of the other (no route, and the host forwards nothing).
    await serve(second!, 0, 7001);
    await second!.setAllowedSources(0, [first!.addressOf(0)]);
    expect((await connectFrom(first!, 0, second!.addressOf(0), 7001, 1_000)).result).not.toBe('data');
  });

  it('takes a stored index back after a crash, and cleans the jobs it is not told to keep', async () => {
    const crashed = await open();
    await crashed.createJob(0);
    await crashed.createJob(1);
    await crashed.createJob(2);
    // No close: the next open takes over, as a restarted provider would.
    const restarted = await open({ index: crashed.index });
    expect(restarted.index).toBe(crashed.index);
    await expect(crashed.createJob(3)).rejects.toThrow(/taken this network over/);
    expect(await restarted.existingSlots()).toEqual([0, 1, 2]);
    await restarted.cleanLeftovers(new Set([1]));
    expect(await restarted.existingSlots()).toEqual([1]);
    await restarted.cleanLeftovers(new Set());
    expect(await restarted.existingSlots()).toEqual([]);
    const left = (await traces(restarted.index)).filter((t) => !t.startsWith('link jdb') && !t.startsWith('table') && !t.startsWith(CLAIM_DIR));
    expect(left).toEqual([]);
  });

  it('lets jobs outlive a closed network, and another provider skips an index whose jobs run on', async () => {
    const index = await unusedIndex();
    const first = await open({ candidates: [index] });
    expect(first.index).toBe(index);
    await first.createJob(0);
    const job = await serve(first, 0, 7003);
    await first.close();
    expect(fs.existsSync(`${CLAIM_DIR}/${index}`)).toBe(false);
    expect(fs.existsSync(`/run/netns/${first.netnsName(0)}`)).toBe(true);
    // Its owner is gone but its job runs on: not free.
    await fsp.writeFile(`${CLAIM_DIR}/${index}`, JSON.stringify({ pid: 4_194_304 + 1, start: 1, token: 'dead', at: '' }));
    await expect(open({ candidates: [index] })).rejects.toThrow(/no free network index.*jobs run on it/);
    // Nor when nobody claims it at all.
    await fsp.rm(`${CLAIM_DIR}/${index}`);
    await expect(open({ candidates: [index] })).rejects.toThrow(/unclaimed but jobs run on it/);
    const back = await open({ index });
    expect(back.index).toBe(index);
    expect(await back.existingSlots()).toEqual([0]);
    job.kill('SIGKILL');
  });

  it('cleans and takes an index whose dead owner left jobs attached with no process left in them', async () => {
    const index = await unusedIndex();
    const crashed = await open({ candidates: [index] });
    await crashed.createJob(0);
    await crashed.createJob(1);
    const job = await serve(crashed, 1, 7004);
    await crashed.close();
    await fsp.writeFile(`${CLAIM_DIR}/${index}`, JSON.stringify({ pid: 4_194_304 + 1, start: 1, token: 'dead', at: '' }));
    // While one process runs in one of them the index stays theirs; once it is gone, the index is stale.
    await expect(open({ candidates: [index] })).rejects.toThrow(/no free network index/);
    job.kill('SIGKILL');
    await expect.poll(() => job.exitCode !== null || job.signalCode !== null, { timeout: 10_000, interval: 20 }).toBe(true);
    const network = await open({ candidates: [index] });
    expect(network.index).toBe(index);
    expect(await network.existingSlots()).toEqual([]);
    expect(fs.existsSync(`/run/netns/jd${index}-0`)).toBe(false);
  });

  it('cleans and takes an index that a dead owner left without jobs', async () => {
    const index = await unusedIndex();
    const leftover = `jd${index}-5`;
    await fsp.mkdir(CLAIM_DIR, { recursive: true });
    await fsp.writeFile(`${CLAIM_DIR}/${index}`, JSON.stringify({ pid: 4_194_304 + 1, start: 1, token: 'dead', at: '' }));
    planted.push(leftover);
    expect((await runRaw([IP, 'netns', 'add', leftover])).code).toBe(0);
    await fsp.mkdir(`/etc/netns/${leftover}`, { recursive: true });
    expect((await runRaw([NFT, 'add', 'table', 'inet', `jobdeck${index}`])).code).toBe(0);

    const network = await open({ candidates: [index] });
    expect(network.index).toBe(index);
    expect(await network.existingSlots()).toEqual([]);
    expect(fs.existsSync(`/etc/netns/${leftover}`)).toBe(false);
  });

  it('removes many jobs in one go, with their bridge-port pins, and leaves the others as they were', async () => {
    const network = await open();
    for (const slot of [0, 1, 2, 3, 4]) await network.createJob(slot);
    const pinned = async () => {
      const set = await runRaw([NFT, 'list', 'set', 'bridge', namesOf(network.index).hostTable, 'ports']);
      return [0, 1, 2, 3, 4].filter((slot) => set.stdout.includes(slotNamesOf(network.index, slot).veth));
    };
    expect(await pinned()).toEqual([0, 1, 2, 3, 4]);
    await network.destroyJobs([1, 2, 3]);
    expect(await network.existingSlots()).toEqual([0, 4]);
    expect(await pinned()).toEqual([0, 4]);
    for (const slot of [1, 2, 3]) expect(fs.existsSync(`/etc/netns/${network.netnsName(slot)}`)).toBe(false);
    // Idempotent, and the rest still work.
    await network.destroyJobs([1, 2, 3]);
    await network.setAllowedSources(4, [network.addressOf(0)]);
    expect(await network.existingSlots()).toEqual([0, 4]);
  });

  it('leaves nothing of its index after close with teardown', async () => {
    const network = await open();
    await network.createJob(0);
    await network.createJob(7);
    await network.setAllowedSources(7, [network.addressOf(0)]);
    expect((await traces(network.index)).length).toBeGreaterThan(0);
    await network.close({ teardown: true });
    expect(await leftOf(network.index)).toEqual([]);
    await expect(network.createJob(1)).rejects.toThrow(/closed/);
  });
});
