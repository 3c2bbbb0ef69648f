// @ts-check
/**
 * acme-simulation: simulates a quantity growing step by step and prints where it ended up (README.md in this folder).
 *
 *   node acme-simulation.mjs --steps=<n> --rate=<x> --model=<linear|exponential|logistic> [--noise] [--label=<text>] [--step-ms=<n>]
 *
 * The catalog passes its typed parameters as these options: steps (integer), rate (floating point), model
 * (enumeration), noise (boolean, a bare flag) and label (single-line text). Jobdeck checks them before the job
 * starts; this program checks them again, so it never simulates a value it was not meant to get.
 *
 * Exit codes: 0 done (or stopped by SIGTERM), 2 a value out of range or of the wrong kind, 64 bad command line.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, onTerminate, parseOptions, usageError } from './common.mjs';

const USAGE = 'acme-simulation.mjs --steps=<1-1000> --rate=<0-1> --model=<linear|exponential|logistic> [--noise] [--label=<text>] [--step-ms=<n>]';
const MODELS = ['linear', 'exponential', 'logistic'];
const CAPACITY = 100;
const MAX_LABEL = 200;

const options = parseOptions(USAGE, {
  steps: { type: 'string' },
  rate: { type: 'string' },
  model: { type: 'string' },
  noise: { type: 'boolean', default: false },
  label: { type: 'string' },
  'step-ms': { type: 'string', default: '250' },
});
for (const name of /** @type {const} */ (['steps', 'rate', 'model'])) {
  if (options[name] === undefined) usageError(`acme-simulation.mjs: --${name} is required`, USAGE);
}
const stepText = options['step-ms'] ?? '250';
if (!/^\d{1,6}$/.test(stepText)) usageError(`acme-simulation.mjs: --step-ms must be a whole number of milliseconds, not "${stepText}"`, USAGE);
const stepMs = Number(stepText);

/**
 * Refuses a value with the reason on stderr and exit 2.
 * @param {string} reason
 * @returns {never}
 */
function refuse(reason) {
  process.stderr.write(`acme-simulation: cannot simulate: ${reason}\n`);
  process.exit(EXIT.badInput);
}

const stepsText = options.steps ?? '';
if (!/^[+-]?\d+$/.test(stepsText)) refuse(`--steps must be a whole number, not ${JSON.stringify(stepsText)}`);
const steps = Number(stepsText);
if (steps < 1 || steps > 1000) refuse(`--steps must be from 1 to 1000, not ${steps}`);

const rateText = options.rate ?? '';
if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(rateText)) refuse(`--rate must be a number, not ${JSON.stringify(rateText)}`);
const rate = Number(rateText);
if (!(rate >= 0 && rate <= 1)) refuse(`--rate must be from 0 to 1, not ${rateText}`);

const model = options.model ?? '';
if (!MODELS.includes(model)) refuse(`--model must be one of ${MODELS.join(', ')}, not ${JSON.stringify(model)}`);

const label = options.label ?? null;
if (label !== null) {
  if (/\p{Cc}/u.test(label)) refuse('--label must be a single line of printable text');
  if ([...label].length > MAX_LABEL) refuse(`--label must be at most ${MAX_LABEL} characters`);
}

/**
 * The same jitter on every run: mulberry32, seeded with 42. Returns a factor within 1 % of 1.
 * @returns {() => number}
 */
function jitter() {
  let seed = 42;
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return 1 + (unit * 2 - 1) * 0.01;
  };
}

/** @type {(x: number) => number} */
const grow = {
  linear: (/** @type {number} */ x) => x + rate,
  exponential: (/** @type {number} */ x) => x * (1 + rate),
  logistic: (/** @type {number} */ x) => x + rate * x * (1 - x / CAPACITY),
}[/** @type {'linear' | 'exponential' | 'logistic'} */ (model)];
const noise = options.noise ? jitter() : null;

/** @param {number} x */
const show = (x) => x.toPrecision(6);

let current = 0;
onTerminate((signal) => {
  console.log(`Received ${signal} after step ${current}/${steps}: stopping without a result.`);
});

const named = label ? ` "${label}"` : '';
console.log(`Simulating${named}: ${model} growth at rate ${rate} for ${steps} step${steps === 1 ? '' : 's'}${noise ? ', with noise' : ''}, starting at 1`);
let x = 1;
for (current = 1; current <= steps; current++) {
  x = grow(x);
  if (noise) x *= noise();
  console.log(`step ${current}/${steps}: ${show(x)} (${Math.round((current / steps) * 100)} %)`);
  if (stepMs > 0 && current < steps) await sleep(stepMs);
}
current = steps;
console.log(`Result${named}: ${model} growth at rate ${rate} over ${steps} step${steps === 1 ? '' : 's'}${noise ? ' with noise' : ''}: ${show(x)}`);
