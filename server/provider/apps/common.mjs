// @ts-check
/**
 * What the catalog's programs share: strict `--name=value` options, the bind address, shutting down on a signal.
 */

import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** Exit codes (README.md). */
export const EXIT = Object.freeze({
  ok: 0,
  failure: 1,
  badInput: 2,
  usage: 64,
  inUse: 75,
  config: 78,
});

/**
 * @typedef {{type: 'string' | 'boolean', default?: string | boolean}} OptionSpec
 */

/**
 * Parses the command line strictly: only the given `--name=value` options (booleans as a bare `--name`), no
 * positionals, no `--name value`. On any error it prints the reason and the usage line on stderr and exits 64.
 * @template {Record<string, OptionSpec>} T
 * @param {string} usage the usage line, e.g. `acme-batch.mjs --value=<text> [--debug]`
 * @param {T} options
 * @param {string[]} [args]
 * @returns {{[K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : string | undefined}}
 */
export function parseOptions(usage, options, args = process.argv.slice(2)) {
  const program = path.basename(process.argv[1] ?? 'program');
  try {
    const { values, tokens } = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true });
    for (const token of tokens) {
      if (token.kind === 'option' && options[token.name]?.type === 'string' && !token.inlineValue) {
        throw new Error(`option ${token.rawName} takes its value as ${token.rawName}=<value>`);
      }
    }
    return /** @type {any} */ (values);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return usageError(`${program}: ${message.split('\n')[0]}`, usage);
  }
}

/**
 * Prints a usage error and exits 64.
 * @param {string} message
 * @param {string} usage
 * @returns {never}
 */
export function usageError(message, usage) {
  process.stderr.write(`${message}\nusage: ${usage}\n`);
  process.exit(EXIT.usage);
}

/**
 * Parses a TCP port option: an integer 0–65535 (0 lets the system choose one; the "Listening" line shows it).
 * @param {string} text
 * @param {string} option e.g. `--port`
 * @param {string} usage
 * @returns {number}
 */
export function parsePort(text, option, usage) {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    usageError(`${path.basename(process.argv[1] ?? 'program')}: ${option} must be a port number from 0 to 65535, not "${text}"`, usage);
  }
  return Number(text);
}

/**
 * The address servers listen on: JOBDECK_BIND_ADDRESS, by default 0.0.0.0. Exits 78 if it is not an IP address.
 * @returns {string}
 */
export function bindAddress() {
  const address = process.env.JOBDECK_BIND_ADDRESS?.trim() || '0.0.0.0';
  if (net.isIP(address) === 0) {
    process.stderr.write(`JOBDECK_BIND_ADDRESS must be an IP address, not "${address}"\n`);
    process.exit(EXIT.config);
  }
  return address;
}

/**
 * `host:port`, with an IPv6 address in brackets.
 * @param {string} host
 * @param {number} port
 * @returns {string}
 */
export function hostPort(host, port) {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0. If `stop` fails, or takes longer than `graceMs`, the process
 * says so and exits 1 (after `beforeForcedExit`, which must be synchronous).
 * @param {(signal: string) => Promise<void> | void} stop
 * @param {{graceMs?: number, beforeForcedExit?: () => void}} [opts]
 */
export function onTerminate(stop, opts = {}) {
  const graceMs = opts.graceMs ?? 1500;
  let stopping = false;
  /** @param {NodeJS.Signals} signal */
  const handler = (signal) => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => {
      console.error(`Still stopping after ${graceMs} ms; exiting now.`);
      opts.beforeForcedExit?.();
      process.exit(EXIT.failure);
    }, graceMs);
    Promise.resolve()
      .then(() => stop(signal))
      .then(
        () => {
          clearTimeout(timer);
          process.exit(EXIT.ok);
        },
        (error) => {
          console.error(`Error while stopping: ${error instanceof Error ? error.message : String(error)}`);
          clearTimeout(timer);
          opts.beforeForcedExit?.();
          process.exit(EXIT.failure);
        },
      );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
