// @ts-check
/**
 * acme-batch: processes a text value in ten steps and prints the result (README.md in this folder).
 *
 *   node acme-batch.mjs [--debug] [--step-ms=<n>] <text>
 *   node acme-batch.mjs [--debug] [--step-ms=<n>] --value=<text>
 *
 * The catalog passes the value as the operand; Jobdeck refuses a value that starts with '-', which would read as an option.
 *
 * Exit codes: 0 done (or stopped by SIGTERM), 2 a value it cannot process, 64 bad command line.
 */

import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, onTerminate, parseOptions, usageError } from './common.mjs';

const USAGE = 'acme-batch.mjs [--debug] [--step-ms=<n>] (<text> | --value=<text>)';
const MAX_CHARACTERS = 10_000;

// The operand is the one argument that is not an option (an operand cannot start with '-').
const argv = process.argv.slice(2);
const operands = argv.filter((arg) => !arg.startsWith('-'));
if (operands.length > 1) usageError(`acme-batch.mjs: one value to process, not ${operands.length}`, USAGE);
const options = parseOptions(USAGE, {
  value: { type: 'string' },
  debug: { type: 'boolean', default: false },
  'step-ms': { type: 'string', default: '300' },
}, argv.filter((arg) => arg.startsWith('-')));
if (operands.length === 1 && options.value !== undefined) usageError('acme-batch.mjs: give the value once', USAGE);
if (operands.length === 1) options.value = operands[0];
if (options.value === undefined) usageError('acme-batch.mjs: a value to process is required', USAGE);
const stepText = options['step-ms'] ?? '300';
if (!/^\d{1,6}$/.test(stepText)) usageError(`acme-batch.mjs: --step-ms must be a whole number of milliseconds, not "${stepText}"`, USAGE);
const stepMs = Number(stepText);
const value = options.value;
const debug = options.debug;

/**
 * Why a value cannot be processed, or null if it can.
 * @param {string} text
 * @returns {string | null}
 */
function rejectReason(text) {
  if (text.length === 0) return 'the value is empty: there is nothing to process';
  const control = /\p{Cc}/u.exec(text);
  if (control) {
    const code = control[0].codePointAt(0) ?? 0;
    return `the value contains a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')} at position ${control.index + 1}); only printable text can be processed`;
  }
  if (/\p{Cs}/u.test(text)) return 'the value is not valid Unicode text';
  if ([...text].length > MAX_CHARACTERS) return `the value is longer than ${MAX_CHARACTERS} characters`;
  return null;
}

const reason = rejectReason(value);
if (reason !== null) {
  process.stderr.write(`acme-batch: cannot process the value: ${reason}\n`);
  process.exit(EXIT.badInput);
}

const graphemes = Array.from(new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(value), (s) => s.segment);
const words = Array.from(new Intl.Segmenter(undefined, { granularity: 'word' }).segment(value)).filter((s) => s.isWordLike);
const bytes = Buffer.from(value, 'utf8');
const sha256 = createHash('sha256').update(bytes).digest('hex');

/**
 * A quoted string for a log line.
 * @param {string} text
 */
const quote = (text) => JSON.stringify(text);

/**
 * `1 word`, `2 words`.
 * @param {number} n
 * @param {string} noun
 */
const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** @type {{run: () => {line: string, debug: string}}[]} */
const steps = [
  {
    run: () => ({
      line: `${count(graphemes.length, 'character')}, ${count([...value].length, 'code point')}, ${count(bytes.length, 'byte')} in UTF-8`,
      debug: `code points: ${[...value].map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`).join(' ')}`,
    }),
  },
  {
    run: () => ({ line: count(words.length, 'word'), debug: `words: ${quote(words.map((w) => w.segment).join(' | '))}` }),
  },
  {
    run: () => {
      const letters = (value.match(/\p{L}/gu) ?? []).length;
      const digits = (value.match(/\p{Nd}/gu) ?? []).length;
      const spaces = (value.match(/\s/gu) ?? []).length;
      const other = [...value].length - letters - digits - spaces;
      return { line: `${count(letters, 'letter')}, ${count(digits, 'digit')}, ${count(spaces, 'space')}, ${other} other`, debug: `upper-case letters: ${(value.match(/\p{Lu}/gu) ?? []).length}, lower-case: ${(value.match(/\p{Ll}/gu) ?? []).length}` };
    },
  },
  {
    run: () => ({ line: `upper-cased: ${quote(value.toUpperCase())}`, debug: `lower-cased: ${quote(value.toLowerCase())}` }),
  },
  {
    run: () => ({ line: `reversed: ${quote([...graphemes].reverse().join(''))}`, debug: `reversed and upper-cased: ${quote([...graphemes].reverse().join('').toUpperCase())}` }),
  },
  {
    run: () => {
      /** @type {Map<string, number>} */
      const counts = new Map();
      for (const g of graphemes) counts.set(g, (counts.get(g) ?? 0) + 1);
      const sorted = [...counts].sort((a, b) => b[1] - a[1]);
      const [top, times] = sorted[0] ?? ['', 0];
      return { line: `most frequent character: ${quote(top)} (${count(times, 'time')})`, debug: count(counts.size, 'distinct character') };
    },
  },
  {
    run: () => {
      const letters = value.toLowerCase().match(/[\p{L}\p{Nd}]/gu) ?? [];
      const palindrome = letters.length > 0 && letters.join('') === [...letters].reverse().join('');
      return { line: `palindrome (letters and digits only): ${palindrome ? 'yes' : 'no'}`, debug: `compared ${letters.length} letters and digits` };
    },
  },
  {
    run: () => ({ line: `base64: ${bytes.toString('base64')}`, debug: `hex: ${bytes.toString('hex')}` }),
  },
  {
    run: () => ({ line: `sha256: ${sha256}`, debug: `hashed ${bytes.length} bytes` }),
  },
  {
    run: () => {
      const again = createHash('sha256').update(value, 'utf8').digest('hex');
      if (again !== sha256) throw new Error('the hash changed between two computations');
      return { line: 'hash checked: computed twice, the same', debug: `sha256 of the reversed text: ${createHash('sha256').update([...graphemes].reverse().join('')).digest('hex')}` };
    },
  },
];

let current = 0;
onTerminate((signal) => {
  console.log(`Received ${signal} after step ${current}/${steps.length}: stopping without a result.`);
});

console.log(`Processing ${quote(value)} in ${steps.length} steps${stepMs > 0 ? `, ${stepMs} ms apart` : ''}${debug ? ' (debug output on)' : ''}`);
for (const [index, step] of steps.entries()) {
  current = index + 1;
  const started = performance.now();
  const { line, debug: detail } = step.run();
  console.log(`step ${current}/${steps.length}: ${line}`);
  if (debug) {
    console.log(`debug: step ${current}: ${detail}`);
    console.log(`debug: step ${current}: took ${(performance.now() - started).toFixed(2)} ms`);
  }
  if (stepMs > 0 && current < steps.length) await sleep(stepMs);
}
console.log(`Result: processed ${quote(value)} (${count(graphemes.length, 'character')}, ${count(words.length, 'word')}, sha256 ${sha256})`);
