import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { isIPv4, isIP } from 'node:net';
import { spawn } from 'node:child_process';

/*
 * Low-level pieces of the job network (network.ts): running `ip` and `nft` with argv arrays, the naming and address
 * scheme, the nftables rule sets, and the claim files that tie a network index to a provider instance. Nothing here
 * keeps state; JobNetwork does.
 */

// ---------------------------------------------------------------------------------------------------------------
// Commands

/** A command that exited non-zero (or could not start, or ran too long). The message names it and its stderr. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
    detail?: string,
  ) {
    const how = code === null ? 'could not run' : `failed (exit ${code})`;
    const said = stderr.trim() || '(no output on stderr)';
    super(`\`${argv.join(' ')}\` ${how}: ${said}${detail ? ` [${detail}]` : ''}`);
    this.name = 'CommandError';
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const COMMAND_TIMEOUT_MS = 30_000;

/**
 * Runs `argv` (no shell) and resolves with its output whatever the exit code; rejects only when it cannot start or
 * runs longer than 30 s. `input` is written to its stdin.
 */
export function runRaw(argv: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) throw new Error('runRaw: empty argv');
    const child = spawn(file, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CommandError(argv, null, stderr, `killed after ${COMMAND_TIMEOUT_MS} ms`));
    }, COMMAND_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new CommandError(argv, null, error.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // the command may exit before reading it all; its exit code says why
      child.stdin.end(input);
    }
  });
}

/** Runs `argv` and rejects with a CommandError naming it and its stderr unless it exits 0. */
export async function run(argv: readonly string[], input?: string): Promise<string> {
  const result = await runRaw(argv, input);
  if (result.code !== 0) throw new CommandError(argv, result.code, result.stderr, input === undefined ? undefined : `stdin: ${oneLine(input)}`);
  return result.stdout;
}

function oneLine(text: string, max = 600): string {
  const flat = text.trim().replace(/\s*\n\s*/g, ' ⏎ ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Absolute path of a program, from PATH and the usual system folders (a server's PATH may lack /usr/sbin). */
export function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface Programs {
  ip: string;
  nft: string;
  nsenter: string;
}

/** The programs the job network runs, or the name of the first one missing. */
export function findPrograms(): Programs | { missing: string } {
  const ip = findProgram('ip');
  if (!ip) return { missing: 'ip' };
  const nft = findProgram('nft');
  if (!nft) return { missing: 'nft' };
  const nsenter = findProgram('nsenter');
  if (!nsenter) return { missing: 'nsenter' };
  return { ip, nft, nsenter };
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** Entries of a folder; none when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Names and addresses

/** Network indexes 0..MAX_INDEX: index i owns 10.(100+i).0.0/16. */
export const MAX_INDEX = 99;
/** Slots 0..MAX_SLOT: slot s is host number s+2 of the /16 (the bridge is host 1; .255.255 is broadcast). */
export const MAX_SLOT = 65532;
/** A Linux bridge takes at most 1023 ports, so at most this many jobs of one index run at once. */
export const MAX_CONCURRENT_JOBS = 1023;

export const NETNS_DIR = '/run/netns';
export const ETC_NETNS_DIR = '/etc/netns';
export const CLAIM_DIR = '/run/jobdeck/net';
/** The table inside each job's namespace. */
export const JOB_TABLE = 'jobdeck';

export function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) throw new RangeError(`network index must be an integer 0..${MAX_INDEX}, got ${index}`);
}

export function checkSlot(slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot > MAX_SLOT) throw new RangeError(`job slot must be an integer 0..${MAX_SLOT}, got ${slot}`);
}

export function subnetOf(index: number): { base: string; prefix: number } {
  return { base: `10.${100 + index}.0.0`, prefix: 16 };
}

/** Every name the network of `index` uses on this machine. Interface names stay within Linux's 15 characters. */
export function namesOf(index: number) {
  return {
    /** The bridge, host side: `jdb<index>` (5 characters at most). */
    bridge: `jdb${index}`,
    /** The host's address on the bridge. */
    hostAddress: `10.${100 + index}.0.1`,
    /** Host-side tables: `inet` protects the host, `bridge` pins each port to its job's MAC and address. */
    hostTable: `jobdeck${index}`,
    /** Host-side veth ends are `jdv<index>-<slot>` (11 characters at most); this matches all of them in nft. */
    vethPattern: `jdv${index}-*`,
    vethRe: new RegExp(`^jdv${index}-(\\d+)$`),
    netnsRe: new RegExp(`^jd${index}-(\\d+)$`),
    claimFile: path.join(CLAIM_DIR, String(index)),
  };
}

export function slotNamesOf(index: number, slot: number) {
  const host = slot + 2;
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    netns: `jd${index}-${slot}`,
    veth: `jdv${index}-${slot}`,
    address: `10.${100 + index}.${host >> 8}.${host & 255}`,
    /** Locally administered, fixed per slot, so the bridge table can pin it. */
    mac: `02:6a:64:${hex(index)}:${hex(slot >> 8)}:${hex(slot & 255)}`,
    etcDir: path.join(ETC_NETNS_DIR, `jd${index}-${slot}`),
  };
}

export function ipv4ToInt(address: string): number {
  const parts = address.split('.').map(Number);
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

/** Whether two IPv4 prefixes share any address. */
export function prefixesOverlap(a: { base: string; prefix: number }, b: { base: string; prefix: number }): boolean {
  const shortest = Math.min(a.prefix, b.prefix);
  const mask = shortest === 0 ? 0 : (~0 << (32 - shortest)) >>> 0;
  return ((ipv4ToInt(a.base) & mask) >>> 0) === ((ipv4ToInt(b.base) & mask) >>> 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Hosts files

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;

export function isHostname(name: string): boolean {
  return HOSTNAME_RE.test(name);
}

export interface HostEntry {
  hostname: string;
  address: string;
}

export function checkHostEntries(entries: readonly HostEntry[]): void {
  for (const entry of entries) {
    if (typeof entry.hostname !== 'string' || !isHostname(entry.hostname)) throw new TypeError(`not a valid hostname for a hosts file: ${JSON.stringify(entry.hostname)}`);
    if (typeof entry.address !== 'string' || isIP(entry.address) === 0) throw new TypeError(`not an IP address: ${JSON.stringify(entry.address)} (for ${entry.hostname})`);
  }
}

const PEERS_MARK = '# peers';

/** The whole hosts file of a job: loopback, the job's own names, then its peers. */
export function hostsFile(own: { address: string; names: string[] }, entries: readonly HostEntry[]): string {
  const lines = [
    '# Written by Jobdeck (server/provider/local/network.ts), rewritten in place when the job\'s links change.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${own.address}\t${own.names.join(' ')}`,
    PEERS_MARK,
    ...entries.map((e) => `${e.address}\t${e.hostname}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The peer entries of a hosts file that hostsFile wrote (to keep them when a job is verified). */
export function parsePeers(text: string): HostEntry[] {
  const lines = text.split('\n');
  const mark = lines.indexOf(PEERS_MARK);
  if (mark < 0) return [];
  const peers: HostEntry[] = [];
  for (const line of lines.slice(mark + 1)) {
    const [address, hostname] = line.trim().split(/\s+/);
    if (address && hostname && isIP(address) !== 0 && isHostname(hostname)) peers.push({ address, hostname });
  }
  return peers;
}

/**
 * Replaces a file's content without replacing the file: O_TRUNC, then one write. A bind mount of it (what
 * `ip netns exec` makes of /etc/netns/<ns>/hosts over /etc/hosts) shows the new content at once.
 */
export async function rewriteInPlace(file: string, content: string): Promise<void> {
  const handle = await fsp.open(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC | fs.constants.O_CREAT, 0o644);
  try {
    // Readable by the job's account whatever the server's umask (077): it is the job's /etc/hosts.
    await handle.chmod(0o644);
    const buffer = Buffer.from(content);
    let done = 0;
    while (done < buffer.length) done += (await handle.write(buffer, done, buffer.length - done, done)).bytesWritten;
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// nftables rule sets

export function checkSources(addresses: readonly string[]): string[] {
  for (const a of addresses) if (typeof a !== 'string' || !isIPv4(a)) throw new TypeError(`allowed source is not an IPv4 address: ${JSON.stringify(a)}`);
  return [...new Set(addresses)].sort((a, b) => ipv4ToInt(a) - ipv4ToInt(b));
}

/**
 * The job's own firewall, inside its namespace, replaced whole in one transaction (the `table; delete table; table {}`
 * idiom works whether or not the table exists). Incoming: loopback, replies, the host (Jobdeck's proxy) and the
 * allowed sources; everything else is dropped, so a connection from elsewhere times out.
 */
export function jobRuleset(hostAddress: string, allowFrom: readonly string[]): string {
  const elements = allowFrom.length > 0 ? ` elements = { ${allowFrom.join(', ')} };` : '';
  return [
    `table inet ${JOB_TABLE}`,
    `delete table inet ${JOB_TABLE}`,
    `table inet ${JOB_TABLE} {`,
    `  set allowed { type ipv4_addr;${elements} }`,
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    iif lo accept',
    '    ct state established,related accept',
    `    ip saddr ${hostAddress} accept`,
    '    ip saddr @allowed accept',
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface PortElement {
  veth: string;
  mac: string;
  address: string;
}

export function portElement(p: PortElement): string {
  return `"${p.veth}" . ${p.mac} . ${p.address}`;
}

/**
 * The host's tables for one index, replaced whole in one transaction.
 *
 * `inet jobdeck<i>`: nothing that arrives from the bridge reaches the host itself, except replies to connections the
 * host opened. Forwarding between the bridge and any other interface is dropped (jobs have no way out, even if
 * forwarding is on). Bridged traffic between two jobs passes the host's inet forward hook only where br_netfilter is
 * active (it is on this machine kind); it is accepted here, so job-to-job links keep working either way.
 *
 * `bridge jobdeck<i>`: a frame from a job's port is let in only with that job's MAC and IPv4 address (IPv4 and ARP);
 * anything else from those ports (other addresses, IPv6, VLAN tags) is dropped before the bridge learns from it, so a
 * job cannot pose as another to get past that one's firewall.
 */
export function hostRuleset(index: number, ports: readonly PortElement[]): string {
  const n = namesOf(index);
  const elements = ports.length > 0 ? ` elements = { ${ports.map(portElement).join(', ')} };` : '';
  return [
    `table inet ${n.hostTable}`,
    `delete table inet ${n.hostTable}`,
    `table inet ${n.hostTable} {`,
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    iifname "${n.bridge}" ct state established,related accept`,
    `    iifname "${n.bridge}" drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    iifname "${n.bridge}" oifname "${n.bridge}" accept`,
    `    iifname "${n.bridge}" drop`,
    `    oifname "${n.bridge}" drop`,
    '  }',
    '}',
    `table bridge ${n.hostTable}`,
    `delete table bridge ${n.hostTable}`,
    `table bridge ${n.hostTable} {`,
    `  set ports { type ifname . ether_addr . ipv4_addr;${elements} }`,
    '  chain prerouting {',
    '    type filter hook prerouting priority filter; policy accept;',
    `    iifname != "${n.vethPattern}" accept`,
    '    ether type ip iifname . ether saddr . ip saddr @ports accept',
    '    ether type arp iifname . arp saddr ether . arp saddr ip @ports accept',
    '    drop',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Removes both host tables of an index, whether or not they exist. */
export function hostTeardownRuleset(index: number): string {
  const t = namesOf(index).hostTable;
  return [`table inet ${t}`, `delete table inet ${t}`, `table bridge ${t}`, `delete table bridge ${t}`, ''].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Claims

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
