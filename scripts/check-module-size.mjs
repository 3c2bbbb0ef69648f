// Fails when a module in server/ or contract/ is over 400 lines, naming each one. Tests (*.test.*) are exempt.
// A module that long holds more than one job; split it by what it does. Run by `npm run lint` and `npm test`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Paths are the repository's, wherever this is run from.
process.chdir(path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));

const MAX_LINES = 400;
const ROOTS = ['server', 'contract'];
const MODULE = /\.(?:[cm]?[jt]s|tsx)$/;
const TEST = /\.test\.[^/]+$/;

function* modules(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') yield* modules(file);
    } else if (MODULE.test(entry.name) && !TEST.test(entry.name)) yield file;
  }
}

/** Lines as an editor numbers them: a final newline does not start one more. */
function lineCount(text) {
  if (text === '') return 0;
  const newlines = text.split('\n').length - 1;
  return text.endsWith('\n') ? newlines : newlines + 1;
}

const over = [];
for (const root of ROOTS) {
  for (const file of modules(root)) {
    const lines = lineCount(fs.readFileSync(file, 'utf8'));
    if (lines > MAX_LINES) over.push({ file: file.split(path.sep).join('/'), lines });
  }
}
if (over.length > 0) {
  for (const { file, lines } of over.sort((a, b) => b.lines - a.lines)) {
    console.error(`${file}: ${lines} lines, over the ${MAX_LINES}-line limit for a module (split it by what it does)`);
  }
  process.exit(1);
}
console.log(`module size: every module in ${ROOTS.join('/, ')}/ has at most ${MAX_LINES} lines`);
