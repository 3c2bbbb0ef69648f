import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { isIP } from 'node:net';

/* A job's own hosts file: loopback, its own names, then its peers; rewritten in place so running processes see it. */

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
