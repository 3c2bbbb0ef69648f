import type { TSchema, Static } from 'typebox';
import { validate } from '../../contract/validate';
import { badRequest } from './errors';

/** Validates a request part against its contract schema, or throws a 400 whose why names the field. */
export function parse<S extends TSchema>(schema: S, value: unknown): Static<S> {
  const result = validate(schema, value);
  if (!result.ok) throw badRequest(result.why);
  return result.value as Static<S>;
}

interface PropertySchema {
  type?: string;
  anyOf?: PropertySchema[];
}

function typesOf(schema: PropertySchema | undefined): string[] {
  if (!schema) return [];
  if (schema.anyOf) return schema.anyOf.flatMap(typesOf);
  return schema.type ? [schema.type] : [];
}

/**
 * Query strings carry only text; turn `"50"` and `"true"` into the number and boolean the contract's
 * query schema declares, then validate. Text that does not convert is left as is, so the 400 names it.
 */
export function parseQuery<S extends TSchema>(schema: S, query: unknown): Static<S> {
  const properties = (schema as unknown as { properties?: Record<string, PropertySchema> }).properties ?? {};
  const raw = (query ?? {}) as Record<string, unknown>;
  const coerced: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const types = typesOf(properties[key]);
    if (typeof value !== 'string') coerced[key] = value;
    else if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?$/.test(value)) coerced[key] = Number(value);
    else if (types.includes('boolean') && (value === 'true' || value === 'false')) coerced[key] = value === 'true';
    else coerced[key] = value;
  }
  return parse(schema, coerced);
}
