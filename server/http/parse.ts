import type { TSchema, Static } from 'typebox';
import { formatPath, validate, validateQuery, type PathSegment } from '../../contract/validate';
import { badRequest } from './errors';

/**
 * PostgreSQL cannot store U+0000 in text or jsonb, so a NUL anywhere in a request would fail deep in a write;
 * refuse it up front, naming the field.
 */
function rejectNul(value: unknown, root: string, path: PathSegment[] = []): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw badRequest(`${formatPath(path) || root}: must not contain the NUL character (U+0000)`);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => rejectNul(item, root, [...path, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) throw badRequest(`${formatPath(path) || root}: a field name must not contain the NUL character (U+0000)`);
      rejectNul(item, root, [...path, key]);
    }
  }
}

/** Validates a request part against its contract schema, or throws a 400 whose why names the field. */
export function parse<S extends TSchema>(schema: S, value: unknown): Static<S> {
  const result = validate(schema, value);
  if (!result.ok) throw badRequest(result.why);
  rejectNul(result.value, '(body)');
  return result.value as Static<S>;
}

/** Query strings carry only text: `"50"` and `"true"` become the number and boolean the schema declares. */
export function parseQuery<S extends TSchema>(schema: S, query: unknown): Static<S> {
  const result = validateQuery(schema, query ?? {});
  if (!result.ok) throw badRequest(result.why);
  rejectNul(result.value, '(query)');
  return result.value as Static<S>;
}
