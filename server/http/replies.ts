import type { FastifySerializerCompiler } from 'fastify';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { TSchema } from 'typebox';
import { CommonErrorMessage } from '../../contract/errors';

/**
 * A contract schema made fit to serialise a response: the same fields, but every object open. fast-json-stringify
 * writes only the fields a schema declares unless it allows more, and UCloud's wire objects carry extension fields
 * (and the contract grows new ones) that a client must still get.
 */
export function open<T extends TSchema>(schema: T): T {
  return openNode(schema) as T;
}

function openNode(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(openNode);
  if (typeof node !== 'object' || node === null) return node;
  const copy: Record<string, unknown> = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, openNode(value)]));
  if (copy.type === 'object') copy.additionalProperties = true;
  return copy;
}

/** A route's `schema.response`: its 200 body, and contract §0's `{why, errorCode}` for every 4xx and 5xx it sends. */
export function replies<T extends TSchema>(ok: T) {
  return { 200: open(ok), '4xx': CommonErrorMessage, '5xx': CommonErrorMessage } as const;
}

/** For a path that never answers 200 itself (a socket path's plain GET). */
export const ERROR_REPLIES = { '4xx': CommonErrorMessage, '5xx': CommonErrorMessage } as const;

/**
 * Fastify's own serialiser compiler (fast-json-stringify), compiling each route's response schema when that route
 * first answers with it rather than all of them while the app starts: a Job schema takes a noticeable part of a
 * second, and a dozen of them in one block at start-up is event-loop lag that load shedding then reads as overload.
 */
export function lazySerializerCompiler(): FastifySerializerCompiler<TSchema> {
  const compile = SerializerSelector()({}, {});
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data) => (serialize ??= compile(route as Parameters<typeof compile>[0]))(data);
  };
}
