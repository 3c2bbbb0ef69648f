// @ts-check
/**
 * acme-database: a PostgreSQL-protocol database server (PGlite behind pglite-socket) keeping its files in a folder
 * (README.md in this folder).
 *
 *   node acme-database.mjs --data=<dir> [--port=5432] [--max-connections=<n>]
 *
 * Layout of <dir>: `pgdata/` PGlite's files, renamed into place once fully created (acme-database-create.mjs);
 * `acme-database.lock` while a process serves the folder (data-lock.mjs).
 *
 * Exit codes: 0 stopped by SIGTERM, 1 could not start or failed, 64 bad command line, 75 the folder is in use by
 * another process, 78 bad JOBDECK_BIND_ADDRESS.
 */

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { EXIT, bindAddress, hostPort, onTerminate, parseOptions, parsePort, usageError } from './common.mjs';
import { acquireLock } from './data-lock.mjs';
import { loadPGlite } from './pglite.mjs';

const USAGE = 'acme-database.mjs --data=<dir> [--port=5432] [--max-connections=<n>]';
const PGDATA = 'pgdata';

const options = parseOptions(USAGE, {
  data: { type: 'string' },
  port: { type: 'string', default: '5432' },
  'max-connections': { type: 'string', default: '10' },
});
if (options.data === undefined || options.data === '') usageError('acme-database.mjs: --data=<dir> is required', USAGE);
const port = parsePort(options.port ?? '5432', '--port', USAGE);
const maxText = options['max-connections'] ?? '10';
if (!/^\d{1,4}$/.test(maxText) || Number(maxText) < 1) {
  usageError(`acme-database.mjs: --max-connections must be a whole number from 1 to 9999, not "${maxText}"`, USAGE);
}
const maxConnections = Number(maxText);
const host = bindAddress();
const dir = path.resolve(options.data);

/**
 * Prints a reason on stderr and exits with the given code (the lock, if taken, is released by the 'exit' handler).
 * @param {string} message
 * @param {number} [code]
 * @returns {never}
 */
function fail(message, code = EXIT.failure) {
  process.stderr.write(`acme-database: ${message}\n`);
  process.exit(code);
}

/** @param {unknown} error */
const describe = (error) => (error instanceof Error ? error.message : String(error));

/** @param {number} startedAt a Date.now() */
const since = (startedAt) => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;

const started = Date.now();
const pgliteVersion = packageVersion('@electric-sql/pglite');

/**
 * The version of an installed package (its package.json is not among its exports, so it is found from its entry).
 * @param {string} name
 * @returns {string}
 */
function packageVersion(name) {
  try {
    let at = path.dirname(fileURLToPath(import.meta.resolve(name)));
    while (path.dirname(at) !== at) {
      const file = path.join(at, 'package.json');
      if (fs.existsSync(file)) {
        const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
        if (pkg.name === name) return String(pkg.version);
      }
      at = path.dirname(at);
    }
  } catch {
    // fall through
  }
  return '?';
}

// The folder, and the lock on it.
try {
  fs.mkdirSync(dir, { recursive: true });
} catch (error) {
  fail(`cannot create the data folder ${dir}: ${describe(error)}`);
}
if (!fs.statSync(dir).isDirectory()) fail(`--data must be a folder, but ${dir} is not one`);

/** @type {import('./data-lock.mjs').DataLock} */
let lock;
{
  let result;
  try {
    result = acquireLock(dir, (line) => console.log(line));
  } catch (error) {
    fail(`cannot lock the data folder ${dir}: ${describe(error)}`);
  }
  if (!result.ok) {
    fail(`the data folder ${dir} is in use by another database process: ${result.why}. Stop that one first; two processes on the same files would corrupt them.`, EXIT.inUse);
  }
  lock = result.lock;
}
process.on('exit', () => lock.release());

/** @type {import('@electric-sql/pglite').PGlite | null} */
let db = null;
/** @type {PGLiteSocketServer | null} */
let server = null;
/** @type {import('node:child_process').ChildProcess | null} */
let creator = null;
let stopping = false;
onTerminate(
  async (signal) => {
    stopping = true;
    if (db === null) {
      console.log(`Received ${signal} while starting: stopping.`);
      creator?.kill('SIGKILL');
      return;
    }
    console.log(`Received ${signal}: closing client connections and the database.`);
    await server?.stop();
    await db.close();
    lock.release();
    console.log('Stopped; the database is closed.');
  },
  { graceMs: 3000, beforeForcedExit: () => lock.release() },
);
lock.startHeartbeat((why) => fail(`stopping at once to protect the data: ${why}`));

// Create the database if the folder has none: in a child process, into a folder of its own that is renamed into
// place only when complete, so that a creation cut short (a signal, a crash) leaves nothing half made behind.
const pgdata = path.join(dir, PGDATA);
for (const name of fs.readdirSync(dir)) {
  if (name.startsWith(`${PGDATA}.creating-`)) {
    console.log(`Removing ${name}, left by an earlier start that was stopped while creating the database.`);
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}
const exists = fs.existsSync(pgdata);
if (exists && !fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
  fail(`${pgdata} exists but holds no database (no PG_VERSION); not touching it`);
}
if (!exists) {
  console.log(`Creating a new database in ${dir} (PGlite ${pgliteVersion}); this takes from a few seconds to half a minute.`);
  const draft = path.join(dir, `${PGDATA}.creating-${process.pid}`);
  const code = await new Promise((resolve) => {
    creator = spawn(process.execPath, [fileURLToPath(new URL('./acme-database-create.mjs', import.meta.url)), `--pgdata=${draft}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    creator.on('error', (error) => {
      console.error(`Cannot start the creation: ${describe(error)}`);
      resolve(EXIT.failure);
    });
    creator.on('exit', (status, signal) => resolve(status ?? (signal ? 128 : EXIT.failure)));
  });
  creator = null;
  if (stopping) await new Promise(() => {}); // the signal handler is exiting
  if (code !== 0 || !fs.existsSync(path.join(draft, 'PG_VERSION'))) {
    fs.rmSync(draft, { recursive: true, force: true });
    fail(`creating the database in ${dir} failed (exit code ${code})`);
  }
  fs.renameSync(draft, pgdata);
  console.log(`Database created in ${since(started)}.`);
}
console.log(`Opening the database in ${dir} (PGlite ${pgliteVersion}).`);
try {
  const { PGlite } = await loadPGlite();
  db = await PGlite.create(pgdata);
} catch (error) {
  fail(`cannot open the database in ${pgdata}: ${describe(error)}`);
}
const version = (await db.query('SHOW server_version')).rows[0];
console.log(`Database open (PostgreSQL ${/** @type {{server_version?: string}} */ (version)?.server_version ?? '?'}).`);

// Serve it.
server = new PGLiteSocketServer({ db, host, port, maxConnections });
let connected = 0;
server.addEventListener('error', (event) => {
  console.error(`Server error: ${describe(/** @type {CustomEvent} */ (event).detail)}`);
});
try {
  await server.start();
} catch (error) {
  fail(`cannot listen on ${hostPort(host, port)}: ${describe(error)}`);
}
// pglite-socket reports connections but not their end or the ones it refuses; its net.Server tells both.
const netServer = /** @type {unknown} */ (server['server']);
let actualPort = port;
if (netServer instanceof net.Server) {
  const address = netServer.address();
  if (address !== null && typeof address === 'object') actualPort = address.port;
  netServer.on('connection', (socket) => {
    const peer = hostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    connected += 1;
    console.log(`Client ${peer} connected (${connected} connected)`);
    socket.on('close', () => {
      connected -= 1;
      console.log(`Client ${peer} disconnected (${connected} connected)`);
    });
  });
  netServer.on('drop', (data) => {
    const peer = hostPort(data?.remoteAddress ?? '?', data?.remotePort ?? 0);
    console.log(`Refused client ${peer}: already ${maxConnections} connected (--max-connections=${maxConnections})`);
  });
} else {
  server.addEventListener('connection', (event) => {
    const { clientAddress, clientPort } = /** @type {CustomEvent<{clientAddress: string, clientPort: number}>} */ (event).detail;
    console.log(`Client ${hostPort(clientAddress, clientPort)} connected`);
  });
}
console.log(`Listening on ${hostPort(host, actualPort)}`);
console.log(
  `Serving one database, "postgres", to any user without a password and without TLS, to at most ${maxConnections} clients at a time (one query at a time between them). Started in ${since(started)}.`,
);
