import path from 'node:path';

/* The job network's naming and address scheme: index i owns 10.(100+i).0.0/16, slot s is one job in it. */

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
