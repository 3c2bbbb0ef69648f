// @ts-check
/**
 * Internal helper of acme-database.mjs: creates a new PGlite database in a folder, closes it and exits.
 *
 *   node acme-database-create.mjs --pgdata=<dir>
 *
 * It runs in a process of its own because creating a database (initdb) leaves PGlite holding ~500 MB more memory
 * than opening an existing one, for as long as the process lives; and so that the server stays responsive to
 * SIGTERM meanwhile (initdb blocks the JavaScript thread for seconds).
 *
 * Exit codes: 0 created, 1 failed, 64 bad command line.
 */

import fs from 'node:fs';
import path from 'node:path';
import { EXIT, parseOptions, usageError } from './common.mjs';
import { loadPGlite } from './pglite.mjs';

const USAGE = 'acme-database-create.mjs --pgdata=<dir>';
const options = parseOptions(USAGE, { pgdata: { type: 'string' } });
if (!options.pgdata) usageError('acme-database-create.mjs: --pgdata=<dir> is required', USAGE);
const pgdata = path.resolve(options.pgdata);

// Nothing to clean up on a signal: the caller discards an unfinished folder.
process.on('SIGTERM', () => process.exit(EXIT.failure));

try {
  fs.mkdirSync(pgdata, { recursive: true });
  const { PGlite } = await loadPGlite();
  const db = await PGlite.create(pgdata);
  await db.close();
} catch (error) {
  process.stderr.write(`acme-database: creating the database in ${pgdata} failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(EXIT.failure);
}
