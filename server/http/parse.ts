import type { TSchema, Static } from 'typebox';
import { formatPath, validate, validateQuery, type PathSegment } from '../../contract/validate';
import { badRequest } from './errors';

// Code units (no `u` flag): a high surrogate not followed by a low one, or a low one not preceded by a high one.
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Text PostgreSQL cannot store, found up front so it is a 400 naming the field rather than a failure deep in a
 * write: U+0000 (text and jsonb refuse it), and a lone UTF-16 surrogate (`"a\ud800"` is valid JSON and a valid
 * JavaScript string, but jsonb refuses its `\ud800` escape and text would silently turn it into U+FFFD).
 */
function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'the NUL character (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate (U+D800 to U+DFFF without its pair)';
  return null;
}

/**
 * Walks the validated value once. The path is one array pushed and popped, not copied per level: a document
 * nested thousands deep (where a schema allows any JSON) costs its size, not its depth squared.
 */
function rejectBadText(value: unknown, root: string, path: PathSegment[] = []): void {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem) throw badRequest(`${formatPath(path) || root}: must not contain ${problem}`);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      rejectBadText(value[i], root, path);
      path.pop();
    }
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const problem = textProblem(key);
      if (problem) throw badRequest(`${formatPath(path) || root}: a field name must not contain ${problem}`);
      path.push(key);
      rejectBadText((value as Record<string, unknown>)[key], root, path);
      path.pop();
    }
  }
}

/** Validates a request part against its contract schema, or throws a 400 whose why names the field. */
export function parse<S extends TSchema>(schema: S, value: unknown): Static<S> {
  const result = validate(schema, value);
  if (!result.ok) throw badRequest(result.why);
  rejectBadText(result.value, '(body)');
  return result.value as Static<S>;
}

/** Query strings carry only text: `"50"` and `"true"` become the number and boolean the schema declares. */
export function parseQuery<S extends TSchema>(schema: S, query: unknown): Static<S> {
  const result = validateQuery(schema, query ?? {});
  if (!result.ok) throw badRequest(result.why);
  rejectBadText(result.value, '(query)');
  return result.value as Static<S>;
}
