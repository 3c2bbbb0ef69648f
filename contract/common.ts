import { Type, type Static, type TObject, type TProperties, type TSchema } from 'typebox';

/*
 * Shape rules shared by every resource file:
 * - objects are strict, so a misspelt field is a 400 rather than silently ignored;
 * - a field the seeds show as nullable may also be absent (contract §0: absent is sent as null);
 * - a non-nullable field is required.
 */

export function StrictObject<P extends TProperties>(properties: P) {
  return Type.Object(properties, { additionalProperties: false });
}

export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** May be absent or null. */
export function Maybe<T extends TSchema>(schema: T) {
  return Type.Optional(Nullable(schema));
}

// Kept out of the schema objects so they stay plain JSON Schema (Ajv's strict mode rejects unknown keywords).
const tagLabels = new WeakMap<TSchema, string>();
const expectations = new WeakMap<TSchema, string>();

/** A union of objects told apart by the const `type` field; `label` names the tag in errors ("unknown parameter type 'xyz'"). */
export function TaggedUnion<T extends TObject[]>(label: string, variants: [...T]) {
  const union = Type.Union(variants);
  tagLabels.set(union, label);
  return union;
}

export function tagLabelOf(schema: TSchema): string | undefined {
  return tagLabels.get(schema);
}

/** Overrides the generic "must be a string matching ..." with a phrase a person can act on. */
export function Described<T extends TSchema>(schema: T, expectation: string): T {
  expectations.set(schema, expectation);
  return schema;
}

export function expectationOf(schema: TSchema): string | undefined {
  return expectations.get(schema);
}

export const MAX_BULK_ITEMS = 1000;
export const MAX_ITEMS_PER_PAGE = 1000;
export const DEFAULT_ITEMS_PER_PAGE = 50;

export const Timestamp = Type.Integer({ minimum: 0 });

/**
 * `{items}`, and UCloud's web client's `bulkRequestOf` adds `"type": "bulk"`: accepted, and means the same. (UCloud's
 * other tag, a single item, is not: `type` may only be `"bulk"`.)
 */
export function BulkRequest<T extends TSchema>(item: T) {
  return StrictObject({ type: Type.Optional(Type.Literal('bulk')), items: Type.Array(item, { minItems: 1, maxItems: MAX_BULK_ITEMS }) });
}
export type BulkRequest<T> = { type?: 'bulk'; items: T[] };

export function BulkResponse<T extends TSchema>(item: T) {
  return StrictObject({ responses: Type.Array(item) });
}
export type BulkResponse<T> = { responses: T[] };

export const FindByStringId = StrictObject({ id: Type.String({ minLength: 1 }) });
export type FindByStringId = Static<typeof FindByStringId>;

export const ItemsPerPage = Type.Integer({ minimum: 1, maximum: MAX_ITEMS_PER_PAGE });

export function PageV2<T extends TSchema>(item: T) {
  return StrictObject({
    items: Type.Array(item),
    itemsPerPage: ItemsPerPage,
    next: Maybe(Type.String()),
  });
}
export type PageV2<T> = { items: T[]; itemsPerPage: number; next?: string | null };

/** Legacy pagination; only tasks.list uses it, as in seed 002. */
export function Page<T extends TSchema>(item: T) {
  return StrictObject({
    itemsInTotal: Type.Integer({ minimum: 0 }),
    itemsPerPage: ItemsPerPage,
    pageNumber: Type.Integer({ minimum: 0 }),
    items: Type.Array(item),
  });
}
export type Page<T> = { itemsInTotal: number; itemsPerPage: number; pageNumber: number; items: T[] };

export const SimpleDuration = StrictObject({
  hours: Type.Integer({ minimum: 0 }),
  minutes: Type.Integer({ minimum: 0, maximum: 59 }),
  seconds: Type.Integer({ minimum: 0, maximum: 59 }),
});
export type SimpleDuration = Static<typeof SimpleDuration>;

export function durationToMillis(duration: SimpleDuration): number {
  return ((duration.hours * 60 + duration.minutes) * 60 + duration.seconds) * 1000;
}

/**
 * Extension: the longest a job may be allocated in all, at creation and after every extend (720 hours, every
 * product's maximum). The core refuses more, from a user (create, extend) and from a provider (control/update's
 * newTimeAllocation), so a job's expiresAt always stays a date a browser can show.
 */
export const MAX_TIME_ALLOCATION_MS = 720 * 3600 * 1000;

export const Unit = StrictObject({});
export type Unit = Static<typeof Unit>;
