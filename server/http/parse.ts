import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { Settings } from 'typebox/system';
import { explainErrors, formatPath, type CompiledError, type PathSegment, type SchemaIssue } from './schema-errors';

/*
 * Validation of everything that arrives from outside: Fastify validates each route's `schema.body` and
 * `schema.querystring` with `validatorCompiler` (TypeBox's compiled check) and words a failure with
 * `schemaErrorFormatter`; the socket hub and the catalog file use `check` directly.
 */

export type Checked<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      /** JS-style path of the offending value, e.g. `items[0].resources[0].hostname`; `''` is the root. */
      path: string;
      message: string;
      /** `path: message`, ready for CommonErrorMessage.why. */
      why: string;
    };

// Compiled once per schema; a failure is explained only when there is one.
const validators = new WeakMap<TSchema, Validator>();

function validatorFor(schema: TSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema);
    validators.set(schema, validator);
  }
  return validator;
}

function failure(issue: SchemaIssue, root: string): Checked<never> {
  const path = formatPath(issue.path);
  return { ok: false, path, message: issue.message, why: `${path || root}: ${issue.message}` };
}

/** Checks `value` against a contract schema; on failure names the single most specific offending field. */
export function check<S extends TSchema>(schema: S, value: unknown, root = '(body)'): Checked<Static<S>> {
  const validator = validatorFor(schema);
  if (validator.Check(value)) return { ok: true, value: value as Static<S> };
  return failure(explainErrors(schema, value, allErrors(validator, value)), root);
}

/**
 * TypeBox lists 8 errors by default, which can stop before a union's own error; choosing the one to report needs
 * them all. The cap only bounds the work a pathological body can cause.
 */
const MAX_ERRORS = 10_000;

function allErrors(validator: Validator, value: unknown): CompiledError[] {
  const previous = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: MAX_ERRORS });
  try {
    return [...validator.Errors(value)] as CompiledError[];
  } finally {
    Settings.Set({ maxErrors: previous });
  }
}

/** Like check, for a parsed query string: numbers and booleans arrive as strings, so they are converted first. */
export function checkQuery<S extends TSchema>(schema: S, query: unknown): Checked<Static<S>> {
  return check(schema, coerceQuery(schema, query), '(query)');
}

// Hand-written rather than TypeBox's Convert, which truncates '1.5' to 1 for an integer instead of refusing it.
function coerceQuery(schema: TSchema, query: unknown): unknown {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
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
  const s = schema as { anyOf?: TSchema[]; type?: string | string[] };
  if (s.anyOf) return s.anyOf.flatMap(typesOf);
  return s.type === undefined ? [] : [s.type].flat();
}

function coerceScalar(raw: string, types: string[]): unknown {
  if (types.includes('string')) return raw;
  if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) return Number(raw);
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

// Code units (no `u` flag): a high surrogate not followed by a low one, or a low one not preceded by a high one.
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Text PostgreSQL cannot store, found up front so it is a 400 naming the field rather than a failure deep in a
 * write: U+0000 (text and jsonb refuse it), and a lone UTF-16 surrogate (`"a\ud800"` is valid JSON and a valid
 * JavaScript string, but jsonb refuses its `\ud800` escape and text would silently turn it into U+FFFD).
 * No JSON Schema keyword says this of every string and every field name, so it is one walk over the valid value.
 */
function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'the NUL character (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate (U+D800 to U+DFFF without its pair)';
  return null;
}

/** The path is one array pushed and popped, so a document nested thousands deep costs its size, not its depth squared. */
function badText(value: unknown, path: PathSegment[] = []): SchemaIssue | null {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? { path: [...path], message: `must not contain ${problem}` } : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const issue = badText(value[i], path);
      path.pop();
      if (issue) return issue;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const problem = textProblem(key);
      if (problem) return { path: [...path], message: `a field name must not contain ${problem}` };
      path.push(key);
      const issue = badText((value as Record<string, unknown>)[key], path);
      path.pop();
      if (issue) return issue;
    }
  }
  return null;
}

/** Like check, and then refuses text PostgreSQL cannot store: what every request body and query goes through. */
export function checkRequest<S extends TSchema>(schema: S, value: unknown, part: 'body' | 'query'): Checked<Static<S>> {
  const result = part === 'query' ? checkQuery(schema, value ?? {}) : check(schema, value);
  if (!result.ok) return result;
  const issue = badText(result.value);
  return issue ? failure(issue, part === 'query' ? '(query)' : '(body)') : result;
}

/** The root's label in a why when the request part itself is wrong: `(body): must be an object`. */
const ROOTS: Record<string, string> = { body: '(body)', querystring: '(query)', params: '(path)', headers: '(headers)' };

/** Fastify's validator for every route's `schema.body`/`querystring`/`params`; a failure carries its one worded issue. */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const part = httpPart === 'body' ? 'body' : 'query';
  return (value: unknown) => {
    const result = checkRequest(schema, value, part);
    if (result.ok) return { value: result.value };
    const error: FastifySchemaValidationError = { keyword: 'contract', instancePath: '', schemaPath: '', params: { field: result.path }, message: result.message };
    return { error: [error] };
  };
};

/** `field: message` (contract §0's `why`), or the request part's label when the whole part is wrong. */
export function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const [first] = errors;
  const field = typeof first?.params.field === 'string' ? first.params.field : '';
  return new Error(`${field || (ROOTS[dataVar] ?? `(${dataVar})`)}: ${first?.message ?? 'is invalid'}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
