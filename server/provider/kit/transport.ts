import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';

/*
 * HTTP between the core and a provider, either way: `fetch` to a base URL, or `app.inject` for an app that never
 * listens (tests). A provider is a separate component that a third party's could replace, so every call goes
 * through one of these, never a function call into the other side.
 */

export interface HttpResult {
  status: number;
  body: unknown;
}

/** One HTTP call: path (with its query) relative to the peer's base URL, bearer token, JSON text body, extra headers. */
export type Transport = (
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  token: string,
  json?: string,
  headers?: Record<string, string>,
) => Promise<HttpResult>;

/** The peer gave no HTTP answer at all (refused, reset, timed out). */
export class TransportError extends Error {}

export const isSuccess = (status: number) => status >= 200 && status < 300;

/** The peer's `why` with its status, for a log line or a job's status line. */
export function whyOf(result: HttpResult): string {
  const why = (result.body as { why?: unknown } | null)?.why;
  return typeof why === 'string' ? `${result.status}: ${why}` : `HTTP ${result.status}`;
}

function requestHeaders(token: string, json: string | undefined, extra: Record<string, string> | undefined): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...extra };
}

function describeFetchError(error: unknown): string {
  const err = error as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer before the time limit';
  if (err.cause?.code) return `${err.cause.code}${err.cause.message ? `: ${err.cause.message}` : ''}`;
  return err.cause?.message ?? err.message;
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return { why: text.slice(0, 300), errorCode: null };
  }
}

/** `fetch` against a base URL (which may carry a path prefix). */
export function fetchTransport(baseUrl: string | (() => string), timeoutMs = 10_000): Transport {
  return async (method, path, token, json, headers) => {
    const base = (typeof baseUrl === 'function' ? baseUrl() : baseUrl).replace(/\/+$/, '');
    try {
      const response = await fetch(base + path, {
        method,
        headers: requestHeaders(token, json, headers),
        body: json,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: response.status, body: parseBody(await response.text()) };
    } catch (error) {
      throw new TransportError(describeFetchError(error));
    }
  };
}

/** The same HTTP semantics without a socket: tests and an app that never listens. */
export function injectTransport(app: FastifyInstance): Transport {
  return async (method, path, token, json, headers) => {
    try {
      const response = await app.inject({
        method,
        url: path,
        headers: requestHeaders(token, json, headers),
        ...(json !== undefined ? { payload: json } : {}),
      });
      return { status: response.statusCode, body: parseBody(response.body) };
    } catch (error) {
      throw new TransportError((error as Error).message);
    }
  };
}

/** This server's own address, as a client on the same machine reaches it. */
export function ownBaseUrl(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo | string | null;
  if (!address || typeof address === 'string') throw new TransportError('the server is not listening on a TCP port');
  const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

/** 'http': real loopback HTTP (the running server). 'inject': app.inject (an app that never listens, i.e. tests). */
export type Loopback = 'http' | 'inject';

export function loopbackTransport(app: FastifyInstance, loopback: Loopback, timeoutMs: number): Transport {
  return loopback === 'http' ? fetchTransport(() => ownBaseUrl(app), timeoutMs) : injectTransport(app);
}
