// @ts-check
/**
 * Where a job finds its peers (README.md in this folder).
 *
 * The provider may set JOBDECK_PEERS to a JSON object {"<hostname>": "<address>"} when it cannot give the job a
 * hosts file of its own. A hostname listed there is connected to at that address; any other name is left for the
 * system resolver (in the isolated mode, the job's own /etc/hosts has its peers).
 */

import net from 'node:net';

/** Thrown when JOBDECK_PEERS is set but is not a JSON object of hostname → IP address. */
export class PeersConfigError extends Error {}

/** @type {Map<string, string> | null} */
let cached = null;
/** @type {string | undefined} */
let cachedFrom;

/**
 * Parses JOBDECK_PEERS (or the given text). Hostnames are matched without regard to case.
 * @param {string | undefined} [text] the variable's value; defaults to process.env.JOBDECK_PEERS
 * @returns {Map<string, string>} hostname (lower case) → address
 * @throws {PeersConfigError} when the text is not a JSON object whose values are IP addresses
 */
export function parsePeers(text = process.env.JOBDECK_PEERS) {
  /** @type {Map<string, string>} */
  const peers = new Map();
  if (text === undefined || text.trim() === '') return peers;
  /** @type {unknown} */
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new PeersConfigError(`JOBDECK_PEERS is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PeersConfigError('JOBDECK_PEERS must be a JSON object such as {"database": "127.1.0.5"}');
  }
  for (const [hostname, address] of Object.entries(parsed)) {
    if (typeof address !== 'string' || net.isIP(address) === 0) {
      throw new PeersConfigError(`JOBDECK_PEERS: the address of "${hostname}" must be an IP address, not ${JSON.stringify(address)}`);
    }
    peers.set(hostname.toLowerCase(), address);
  }
  return peers;
}

/**
 * The address to connect to for a peer's hostname: its entry in JOBDECK_PEERS if it has one, otherwise the
 * hostname itself, for the client to resolve the ordinary way.
 * @param {string} hostname
 * @returns {string}
 * @throws {PeersConfigError} when JOBDECK_PEERS is malformed
 */
export function resolvePeer(hostname) {
  const text = process.env.JOBDECK_PEERS;
  if (cached === null || cachedFrom !== text) {
    cached = parsePeers(text);
    cachedFrom = text;
  }
  return cached.get(hostname.toLowerCase()) ?? hostname;
}
