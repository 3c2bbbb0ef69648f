import type { TSchema, Static } from 'typebox';
import { validate, validateQuery } from '../../contract/validate';
import { badRequest } from './errors';

/** Validates a request part against its contract schema, or throws a 400 whose why names the field. */
export function parse<S extends TSchema>(schema: S, value: unknown): Static<S> {
  const result = validate(schema, value);
  if (!result.ok) throw badRequest(result.why);
  return result.value as Static<S>;
}

/** Query strings carry only text: `"50"` and `"true"` become the number and boolean the schema declares. */
export function parseQuery<S extends TSchema>(schema: S, query: unknown): Static<S> {
  const result = validateQuery(schema, query ?? {});
  if (!result.ok) throw badRequest(result.why);
  return result.value as Static<S>;
}
