// @ts-check
/*
 * Copies a finished job's output into its user's files: `node collect-worker.mjs <from> <to>`, run under the job's
 * own account (the destination is in the user's storage area, which the provider never writes with root's rights).
 * `<from>` is the job's work folder; file descriptors 3 and 4, opened by the provider, are the job's stdout and stderr
 * logs, copied as stdout.txt and stderr.txt. Symbolic links and special files are skipped, never followed.
 *
 * The copy is made in a hidden folder beside `<to>` (`.<name>.partial`) and renamed to `<to>` when it is whole, so a
 * copy cut short (Jobdeck stopped or crashed) never looks collected; the next try removes what it left.
 *
 * Progress goes to stdout as one JSON object a line: {type: 'total', files, bytes}, then {type: 'file', path, bytes}
 * as each file is done, then {type: 'done', files, bytes}. Errors go to stderr, with exit code 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  process.stderr.write('usage: collect-worker.mjs <from> <to>\n');
  process.exit(64);
}

/** @param {object} message */
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** @typedef {{rel: string, size: number, source: string | number}} Item */

/** @returns {Item[]} */
function walk(dir, rel = '') {
  /** @type {Item[]} */
  const items = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const source = path.join(dir, entry.name);
    const name = path.join(rel, entry.name);
    if (entry.isDirectory()) items.push(...walk(source, name));
    else if (entry.isFile()) items.push({ rel: name, size: fs.lstatSync(source).size, source });
  }
  return items;
}

/** @param {number} fd */
function logItem(fd, name) {
  try {
    return [{ rel: name, size: fs.fstatSync(fd).size, source: fd }];
  } catch {
    return [];
  }
}

try {
  const items = [...logItem(3, 'stdout.txt'), ...logItem(4, 'stderr.txt'), ...walk(from).map((i) => ({ ...i, rel: path.join('work', i.rel) }))];
  say({ type: 'total', files: items.length, bytes: items.reduce((sum, i) => sum + i.size, 0) });
  const staging = path.join(path.dirname(to), `.${path.basename(to)}.partial`);
  // Never follows a link placed there: rmSync removes the link itself.
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
  fs.mkdirSync(staging, { mode: 0o700 });
  let files = 0;
  let bytes = 0;
  for (const item of items) {
    const target = path.join(staging, item.rel);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    const input = typeof item.source === 'number'
      ? fs.createReadStream('', { fd: item.source, start: 0, autoClose: false })
      : fs.createReadStream(item.source);
    // 'wx': a file already there (or a link someone placed there) is an error, never overwritten or followed.
    await pipeline(input, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 }));
    files += 1;
    bytes += item.size;
    say({ type: 'file', path: item.rel, bytes: item.size, files, bytesDone: bytes });
  }
  fs.renameSync(staging, to);
  say({ type: 'done', files, bytes });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
