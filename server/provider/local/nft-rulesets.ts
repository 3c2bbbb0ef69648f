import { isIPv4 } from 'node:net';
import { JOB_TABLE, namesOf, ipv4ToInt } from './net-names';

/* The nftables rule sets: the job's own firewall, and the host tables that keep jobs off the host and pin bridge ports. */

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
