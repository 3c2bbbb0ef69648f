import type { Static, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { expectationOf, tagLabelOf } from './common';

export type PathSegment = string | number;

export type ValidationFailure = {
  ok: false;
  /** JS-style path of the offending value, e.g. `items[0].resources[0].hostname`; `''` is the root. */
  path: string;
  message: string;
  /** `path: message`, ready for CommonErrorMessage.why. */
  why: string;
};
export type ValidationResult<T> = { ok: true; value: T } | ValidationFailure;

type Issue = { path: PathSegment[]; message: string };

// The compiled check is the hot path; explaining a failure walks the schema only when there is one.
const validators = new WeakMap<TSchema, Validator>();

function validatorFor(schema: TSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema);
    validators.set(schema, validator);
  }
  return validator;
}

/** Checks `value` against a contract schema; on failure names the single most specific offending field. */
export function validate<S extends TSchema>(schema: S, value: unknown, root = '(body)'): ValidationResult<Static<S>> {
  const validator = validatorFor(schema);
  if (validator.Check(value)) return { ok: true, value: value as Static<S> };
  const issue = explain(schema, value) ?? firstCompilerError(validator, value);
  const path = formatPath(issue.path);
  return { ok: false, path, message: issue.message, why: `${path || root}: ${issue.message}` };
}

/** Like validate, for a parsed query string: numbers and booleans arrive as strings, so they are converted first. */
export function validateQuery<S extends TSchema>(schema: S, query: unknown): ValidationResult<Static<S>> {
  return validate(schema, coerceQuery(schema, query), '(query)');
}

// Hand-written rather than TypeBox's Convert, which truncates '1.5' to 1 for an integer instead of refusing it.
function coerceQuery(schema: TSchema, query: unknown): unknown {
  const properties = (schema as JsonSchema).properties;
  if (!isRecord(query) || !properties) return query;
  // fromEntries defines own properties, so a `__proto__` parameter stays a field (and an unknown one) instead of a prototype.
  return Object.fromEntries(
    Object.entries(query).map(([key, raw]) => {
      const types = Object.hasOwn(properties, key) ? typesOf(properties[key]!) : [];
      return [key, typeof raw === 'string' ? coerceScalar(raw, types) : raw];
    }),
  );
}

function typesOf(schema: TSchema): string[] {
  const s = schema as JsonSchema;
  if (s.anyOf) return s.anyOf.flatMap(typesOf);
  return s.type === undefined ? [] : [s.type].flat();
}

function coerceScalar(raw: string, types: string[]): unknown {
  if (types.includes('string')) return raw;
  if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) return Number(raw);
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
      continue;
    }
    const key = truncate(segment);
    out += /^[A-Za-z_$][\w$]*$/.test(key) ? (out === '' ? key : `.${key}`) : `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** The first reason `value` does not match `schema`, or undefined when it matches. */
export function explain(schema: TSchema, value: unknown, path: PathSegment[] = []): Issue | undefined {
  const s = schema as JsonSchema;
  if (s.anyOf) return explainUnion(schema, s.anyOf, value, path);
  const fail = (message = `must be ${describe(schema)}`): Issue => ({ path, message });

  if (s.const !== undefined && value !== s.const) return fail();
  if (s.enum && !s.enum.includes(value as never)) return fail();
  if (s.type !== undefined && !hasType(s.type, value)) return fail();

  if (typeof value === 'string') {
    if (s.minLength !== undefined && value.length < s.minLength)
      return fail(s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters`);
    if (s.maxLength !== undefined && value.length > s.maxLength) return fail(`must be at most ${s.maxLength} characters`);
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) return fail();
  }
  if (typeof value === 'number' && !inRange(s, value)) return fail();
  if (Array.isArray(value)) return explainArray(s, value, path);
  if (isRecord(value) && (s.type === 'object' || s.properties || s.patternProperties)) return explainObject(s, value, path);
  return undefined;
}

function explainArray(s: JsonSchema, value: unknown[], path: PathSegment[]): Issue | undefined {
  if (s.minItems !== undefined && value.length < s.minItems)
    return { path, message: `must have at least ${plural(s.minItems, 'item')}` };
  if (s.maxItems !== undefined && value.length > s.maxItems)
    return { path, message: `must have at most ${plural(s.maxItems, 'item')} (got ${value.length})` };
  if (!s.items) return undefined;
  for (const [index, item] of value.entries()) {
    const issue = explain(s.items, item, [...path, index]);
    if (issue) return issue;
  }
  return undefined;
}

function explainObject(s: JsonSchema, value: Record<string, unknown>, path: PathSegment[]): Issue | undefined {
  const properties = s.properties ?? {};
  const patterns = Object.entries(s.patternProperties ?? {}).map(([p, schema]) => [new RegExp(p, 'u'), schema] as const);
  const isDeclared = (key: string) => Object.hasOwn(properties, key) || patterns.some(([re]) => re.test(key));

  // An unknown field is checked first: a misspelt name also shows up as a missing one, and the spelling is the real mistake.
  if (s.additionalProperties === false) {
    const unknown = Object.keys(value).find((key) => !isDeclared(key));
    if (unknown !== undefined) return { path: [...path, unknown], message: 'unknown field' };
  }
  const missing = (s.required ?? []).find((key) => !Object.hasOwn(value, key));
  if (missing !== undefined) return { path: [...path, missing], message: 'is required' };

  for (const [key, item] of Object.entries(value)) {
    const schemas = [
      ...(Object.hasOwn(properties, key) ? [properties[key]!] : []),
      ...patterns.filter(([re]) => re.test(key)).map(([, schema]) => schema),
    ];
    if (schemas.length === 0 && typeof s.additionalProperties === 'object') schemas.push(s.additionalProperties);
    for (const schema of schemas) {
      const issue = explain(schema, item, [...path, key]);
      if (issue) return issue;
    }
  }
  return undefined;
}

function explainUnion(union: TSchema, variants: TSchema[], value: unknown, path: PathSegment[]): Issue | undefined {
  if (variants.some((variant) => explain(variant, value, path) === undefined)) return undefined;
  const candidates = variants.filter((variant) => (variant as JsonSchema).type !== 'null');

  const tag = discriminatorOf(candidates);
  if (tag !== undefined && isRecord(value)) {
    const branch = candidates.find((variant) => (variant as JsonSchema).properties?.[tag]?.const === value[tag]);
    if (branch) return explain(branch, value, path);
    if (!Object.hasOwn(value, tag)) return { path: [...path, tag], message: 'is required' };
    const allowed = candidates.map((variant) => formatValue((variant as JsonSchema).properties?.[tag]?.const));
    const label = tagLabelOf(union) ?? tag;
    return {
      path: [...path, tag],
      message: `unknown ${label} ${formatValue(value[tag])}; expected one of ${allowed.join(', ')}`,
    };
  }

  // Report from the branch the value most looks like: same JSON kind, then most fields in common, then deepest issue.
  const sameKind = candidates.filter((variant) => couldBe(variant, value));
  if (sameKind.length === 0) return { path, message: `must be ${describe(union)}` };
  const overlap = (variant: TSchema) =>
    isRecord(value) ? Object.keys(value).filter((key) => Object.hasOwn((variant as JsonSchema).properties ?? {}, key)).length : 0;
  const best = Math.max(...sameKind.map(overlap));
  const issues = sameKind
    .filter((variant) => overlap(variant) === best)
    .map((variant) => explain(variant, value, path))
    .filter((issue): issue is Issue => issue !== undefined);
  const chosen = issues.reduce((deepest, issue) => (issue.path.length > deepest.path.length ? issue : deepest));
  // When the value itself is wrong, name every acceptable form ("... or null"), not just the branch's.
  return chosen.path.length === path.length && chosen.message.startsWith('must be ')
    ? { path, message: `must be ${describe(union)}` }
    : chosen;
}

/** The property whose const value tells every variant apart, if there is one. */
function discriminatorOf(variants: TSchema[]): string | undefined {
  const [first] = variants;
  if (!first || variants.length < 2) return undefined;
  const keys = Object.keys((first as JsonSchema).properties ?? {});
  return keys.find((key) => {
    const consts = variants.map((variant) => (variant as JsonSchema).properties?.[key]?.const);
    return consts.every((c) => c !== undefined) && new Set(consts).size === consts.length;
  });
}

function couldBe(schema: TSchema, value: unknown): boolean {
  const s = schema as JsonSchema;
  if (s.anyOf) return s.anyOf.some((variant) => couldBe(variant, value));
  if (s.type !== undefined) return typeof value === 'number' ? hasType(s.type, value) || s.type === 'integer' : hasType(s.type, value);
  const literals = s.enum ?? (s.const !== undefined ? [s.const] : undefined);
  return literals ? literals.some((literal) => typeof literal === typeof value) : true;
}

function describe(schema: TSchema): string {
  const s = schema as JsonSchema;
  const expectation = expectationOf(schema);
  if (expectation) return expectation;
  if (s.anyOf) return [...new Set(s.anyOf.map(describe))].join(' or ');
  if (s.const !== undefined) return formatValue(s.const);
  if (s.enum) return `one of ${s.enum.map(formatValue).join(', ')}`;
  switch (s.type) {
    case 'string':
      if (s.pattern !== undefined) return `a string matching /${s.pattern}/`;
      return s.minLength ? 'a non-empty string' : 'a string';
    case 'integer':
      return `an integer${describeRange(s)}`;
    case 'number':
      return `a number${describeRange(s)}`;
    case 'boolean':
      return 'a boolean';
    case 'null':
      return 'null';
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    default:
      return 'a valid value';
  }
}

function describeRange(s: JsonSchema): string {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = s;
  if (minimum !== undefined && maximum !== undefined) return ` between ${minimum} and ${maximum}`;
  const bounds = [
    minimum !== undefined ? `>= ${minimum}` : undefined,
    exclusiveMinimum !== undefined ? `> ${exclusiveMinimum}` : undefined,
    maximum !== undefined ? `<= ${maximum}` : undefined,
    exclusiveMaximum !== undefined ? `< ${exclusiveMaximum}` : undefined,
  ].filter((bound) => bound !== undefined);
  return bounds.length ? ` ${bounds.join(' and ')}` : '';
}

function inRange(s: JsonSchema, value: number): boolean {
  return (
    (s.minimum === undefined || value >= s.minimum) &&
    (s.maximum === undefined || value <= s.maximum) &&
    (s.exclusiveMinimum === undefined || value > s.exclusiveMinimum) &&
    (s.exclusiveMaximum === undefined || value < s.exclusiveMaximum)
  );
}

function hasType(type: string | string[], value: unknown): boolean {
  if (Array.isArray(type)) return type.some((t) => hasType(t, value));
  switch (type) {
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'null':
      return value === null;
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? `'${truncate(value)}'` : truncate(JSON.stringify(value) ?? String(value));
}

// Keeps an attacker's megabyte-long key or value out of the error message.
function truncate(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Used only for a schema keyword the walker above does not know; TypeBox's own message is then the best we have. */
function firstCompilerError(validator: Validator, value: unknown): Issue {
  const [error] = validator.Errors(value);
  if (!error) return { path: [], message: 'is invalid' };
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part): PathSegment => (/^\d+$/.test(part) ? Number(part) : part));
  return { path, message: error.message };
}

/** The JSON Schema keywords TypeBox emits for the contract's types. */
interface JsonSchema {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: TSchema[];
  properties?: Record<string, JsonSchema & TSchema>;
  patternProperties?: Record<string, TSchema>;
  additionalProperties?: boolean | TSchema;
  required?: string[];
  items?: TSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}
