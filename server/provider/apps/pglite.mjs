// @ts-check
/**
 * Loads PGlite with V8 compiling its WebAssembly with the baseline compiler only (Liftoff).
 *
 * By default V8 also recompiles the hot parts of PGlite's 9 MB module with its optimising compiler, in background
 * threads. On this project's 2-core machines that competes with the database itself for seconds after every start
 * (measured under load: 4000 inserts took 4.5 s by default, 1.8 s with Liftoff only), costs ~80 MB more memory, and
 * makes the process take 1–2 s to exit after SIGTERM, as Node waits for those threads.
 */

import v8 from 'node:v8';

/** @returns {Promise<typeof import('@electric-sql/pglite')>} */
export async function loadPGlite() {
  // Must be set before PGlite compiles its module; flags set at run time apply to later compilations.
  v8.setFlagsFromString('--liftoff-only');
  return import('@electric-sql/pglite');
}
