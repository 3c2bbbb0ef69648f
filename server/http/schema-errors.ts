import type { TSchema } from 'typebox';
import { expectationOf, tagLabelOf } from '../../contract/common';

/*
 * Turns the compiled validator's error list (TypeBox's, in Ajv's shape: every failure, every union branch) into the
 * one issue a person should fix first, phrased from the schema: `items[0].replicas: must be an integer >= 1`.
 * Nothing here decides validity; it only chooses among the errors the compiled check reported and words one.
 */

export type PathSegment = string | number;
export interface SchemaIssue {
  path: PathSegment[];
  message: string;
}
/** One entry of TypeBox's `Validator.Errors(value)`. */
export interface CompiledError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** The JSON Schema keywords TypeBox emits for the contract's types. */
interface Node {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: Node[];
  properties?: Record<string, Node>;
  required?: string[];
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

interface Context {
  schema: TSchema;
  value: unknown;
}

/** The first issue, in the order a reader meets them: the value's own shape, then its fields in their order. */
export function explainErrors(schema: TSchema, value: unknown, errors: readonly CompiledError[]): SchemaIssue {
  // `boolean` ("schema is false") repeats, per field, what its object's `additionalProperties` error says.
  const relevant = errors.filter((error) => error.keyword !== 'boolean');
  return firstIssue({ schema, value }, relevant) ?? { path: [], message: errors[0]?.message ?? 'is invalid' };
}

function firstIssue(ctx: Context, errors: readonly CompiledError[]): SchemaIssue | undefined {
  const unions = new Set(errors.filter((error) => error.keyword === 'anyOf').map((union) => `${union.schemaPath}\u0000${union.instancePath}`));
  // An error inside a failed union's branch is that union's to explain.
  const top = unions.size === 0 ? errors : errors.filter((error) => !insideUnion(error, unions));
  if (top.length === 0) return undefined;
  const first = top.reduce((best, error) => (comesBefore(ctx.value, error, best) ? error : best));
  return phrase(ctx, first, errors);
}

/** Whether one of `unions` (schema path and instance path) holds `error` in one of its branches. */
function insideUnion(error: CompiledError, unions: ReadonlySet<string>): boolean {
  for (let at = error.schemaPath.indexOf('/anyOf/'); at >= 0; at = error.schemaPath.indexOf('/anyOf/', at + 1)) {
    const union = error.schemaPath.slice(0, at);
    for (let pointer = error.instancePath; ; pointer = pointer.slice(0, pointer.lastIndexOf('/'))) {
      if (unions.has(`${union}\u0000${pointer}`)) return true;
      if (pointer === '') break;
    }
  }
  return false;
}

const KEYWORD_ORDER = ['anyOf', 'const', 'enum', 'type', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'additionalProperties', 'required'];
const rank = (keyword: string) => (KEYWORD_ORDER.includes(keyword) ? KEYWORD_ORDER.indexOf(keyword) : KEYWORD_ORDER.indexOf('pattern'));

/** A value's own failure comes before its fields'; fields and items in the order the value has them. */
function comesBefore(value: unknown, a: CompiledError, b: CompiledError): boolean {
  const pa = pointerSegments(a.instancePath);
  const pb = pointerSegments(b.instancePath);
  let node = value;
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) {
      if (Array.isArray(node)) return Number(pa[i]) < Number(pb[i]);
      const keys = isRecord(node) ? Object.keys(node) : [];
      return keys.indexOf(pa[i]!) < keys.indexOf(pb[i]!);
    }
    node = childOf(node, pa[i]!);
  }
  if (pa.length !== pb.length) return pa.length < pb.length;
  return rank(a.keyword) < rank(b.keyword);
}

function phrase(ctx: Context, error: CompiledError, errors: readonly CompiledError[]): SchemaIssue {
  const node = nodeAt(ctx.schema, error.schemaPath);
  const path = instancePath(ctx.value, error.instancePath);
  const here = valueAt(ctx.value, path);
  switch (error.keyword) {
    case 'anyOf':
      return explainUnion(ctx, error, errors);
    case 'required': {
      const missing = (node.required ?? []).find((key) => !(isRecord(here) && Object.hasOwn(here, key)));
      return { path: missing === undefined ? path : [...path, missing], message: 'is required' };
    }
    case 'additionalProperties': {
      const unknown = error.params.additionalProperties as string[] | undefined;
      const key = isRecord(here) ? Object.keys(here).find((k) => unknown?.includes(k)) : undefined;
      return { path: key === undefined ? path : [...path, key], message: 'unknown field' };
    }
    case 'minLength':
      return { path, message: node.minLength === 1 ? 'must not be empty' : `must be at least ${node.minLength} characters` };
    case 'maxLength':
      return { path, message: `must be at most ${node.maxLength} characters` };
    case 'minItems':
      return { path, message: `must have at least ${plural(node.minItems!, 'item')}` };
    case 'maxItems':
      return { path, message: `must have at most ${plural(node.maxItems!, 'item')} (got ${(here as unknown[]).length})` };
    case 'const':
    case 'enum':
    case 'type':
    case 'pattern':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, message: `must be ${describe(node)}` };
    default:
      return { path, message: error.message };
  }
}

function explainUnion(ctx: Context, union: CompiledError, errors: readonly CompiledError[]): SchemaIssue {
  const schema = nodeAt(ctx.schema, union.schemaPath);
  const path = instancePath(ctx.value, union.instancePath);
  const value = valueAt(ctx.value, path);
  const branch = (k: number) => {
    const at = `${union.schemaPath}/anyOf/${k}`;
    const within = (pointer: string) => pointer === union.instancePath || pointer.startsWith(`${union.instancePath}/`);
    return errors.filter((error) => (error.schemaPath === at || error.schemaPath.startsWith(`${at}/`)) && within(error.instancePath));
  };
  const candidates = (schema.anyOf ?? []).map((variant, k) => ({ variant, k })).filter(({ variant }) => variant.type !== 'null');
  const whole = { path, message: `must be ${describe(schema)}` };

  const tag = discriminatorOf(candidates.map(({ variant }) => variant));
  if (tag !== undefined && isRecord(value)) {
    const chosen = candidates.find(({ variant }) => variant.properties?.[tag]?.const === value[tag]);
    if (chosen) return firstIssue(ctx, branch(chosen.k)) ?? whole;
    if (!Object.hasOwn(value, tag)) return { path: [...path, tag], message: 'is required' };
    const allowed = candidates.map(({ variant }) => formatValue(variant.properties?.[tag]?.const));
    const label = tagLabelOf(schema as TSchema) ?? tag;
    return { path: [...path, tag], message: `unknown ${label} ${formatValue(value[tag])}; expected one of ${allowed.join(', ')}` };
  }

  // Report from the branch the value most looks like: same JSON kind, then most fields in common, then deepest issue.
  const sameKind = candidates.filter(({ variant }) => couldBe(variant, value));
  if (sameKind.length === 0) return whole;
  const overlap = (variant: Node) => (isRecord(value) ? Object.keys(value).filter((key) => Object.hasOwn(variant.properties ?? {}, key)).length : 0);
  const best = Math.max(...sameKind.map(({ variant }) => overlap(variant)));
  const issues = sameKind
    .filter(({ variant }) => overlap(variant) === best)
    .map(({ k }) => firstIssue(ctx, branch(k)))
    .filter((issue): issue is SchemaIssue => issue !== undefined);
  if (issues.length === 0) return whole;
  const chosen = issues.reduce((deepest, issue) => (issue.path.length > deepest.path.length ? issue : deepest));
  // When the value itself is wrong, name every acceptable form ("... or null"), not just the branch's.
  return chosen.path.length === path.length && chosen.message.startsWith('must be ') ? whole : chosen;
}

/** The property whose const value tells every variant apart, if there is one. */
function discriminatorOf(variants: Node[]): string | undefined {
  const [first] = variants;
  if (!first || variants.length < 2) return undefined;
  return Object.keys(first.properties ?? {}).find((key) => {
    const consts = variants.map((variant) => variant.properties?.[key]?.const);
    return consts.every((c) => c !== undefined) && new Set(consts).size === consts.length;
  });
}

function couldBe(schema: Node, value: unknown): boolean {
  if (schema.anyOf) return schema.anyOf.some((variant) => couldBe(variant, value));
  if (schema.type !== undefined) return typeof value === 'number' ? hasType(schema.type, value) || schema.type === 'integer' : hasType(schema.type, value);
  const literals = schema.enum ?? (schema.const !== undefined ? [schema.const] : undefined);
  return literals ? literals.some((literal) => typeof literal === typeof value) : true;
}

function describe(schema: Node): string {
  const expectation = expectationOf(schema as TSchema);
  if (expectation) return expectation;
  if (schema.anyOf) return [...new Set(schema.anyOf.map(describe))].join(' or ');
  if (schema.const !== undefined) return formatValue(schema.const);
  if (schema.enum) return `one of ${schema.enum.map(formatValue).join(', ')}`;
  switch (schema.type) {
    case 'string':
      if (schema.pattern !== undefined) return `a string matching /${schema.pattern}/`;
      return schema.minLength ? 'a non-empty string' : 'a string';
    case 'integer':
      return `an integer${describeRange(schema)}`;
    case 'number':
      return `a number${describeRange(schema)}`;
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

function describeRange({ minimum, maximum, exclusiveMinimum, exclusiveMaximum }: Node): string {
  if (minimum !== undefined && maximum !== undefined) return ` between ${minimum} and ${maximum}`;
  const bounds = [
    minimum !== undefined ? `>= ${minimum}` : undefined,
    exclusiveMinimum !== undefined ? `> ${exclusiveMinimum}` : undefined,
    maximum !== undefined ? `<= ${maximum}` : undefined,
    exclusiveMaximum !== undefined ? `< ${exclusiveMaximum}` : undefined,
  ].filter((bound) => bound !== undefined);
  return bounds.length ? ` ${bounds.join(' and ')}` : '';
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

/** `items[0].resources[0].hostname`; `''` is the root. A huge key is cut short so the error does not echo it. */
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

const unescapePointer = (part: string) => part.replaceAll('~1', '/').replaceAll('~0', '~');
const pointerSegments = (pointer: string) => (pointer === '' ? [] : pointer.split('/').slice(1).map(unescapePointer));

/** An instance pointer as a path whose array indices are numbers (they print as `[0]`, a key "0" as `["0"]`). */
function instancePath(value: unknown, pointer: string): PathSegment[] {
  const path: PathSegment[] = [];
  let node = value;
  for (const part of pointerSegments(pointer)) {
    path.push(Array.isArray(node) ? Number(part) : part);
    node = childOf(node, part);
  }
  return path;
}

function childOf(node: unknown, key: string): unknown {
  if (Array.isArray(node)) return node[Number(key)];
  return isRecord(node) && Object.hasOwn(node, key) ? node[key] : undefined;
}

function valueAt(value: unknown, path: readonly PathSegment[]): unknown {
  return path.reduce<unknown>((node, key) => childOf(node, String(key)), value);
}

function nodeAt(schema: TSchema, schemaPath: string): Node {
  const parts = schemaPath.replace(/^#/, '');
  return pointerSegments(parts).reduce<Node>((node, key) => ((node as Record<string, Node>)[key] ?? {}) as Node, schema as Node);
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
