import { isGatewayDown, serverAnswered, serverUnreachable } from '@/api/reachability';
import { getToken, sessionRejected, tokenAccepted } from '@/api/session';
import type { CommonErrorMessage } from '@/api/types';

export class ApiError extends Error {
  readonly status: number;
  readonly why: string;
  readonly errorCode: string | null;

  constructor(status: number, why: string, errorCode: string | null) {
    super(why);
    this.name = 'ApiError';
    this.status = status;
    this.why = why;
    this.errorCode = errorCode;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

/** A sentence to show a person for any error thrown by a call. */
export function describeError(error: unknown): string {
  if (isApiError(error)) return error.why;
  if (error instanceof TypeError) return 'Could not reach the server. Check your connection and try again.';
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}

type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  signal?: AbortSignal;
  /** Use this token instead of the stored one (sign-in validates a pasted token this way). */
  token?: string;
}

function buildUrl(path: string, query?: Record<string, QueryValue>): string {
  // An absolute URL: Node's fetch (used by the tests) does not resolve relative ones.
  const url = new URL(path, window.location.origin);
  if (query) {
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
    }
  }
  return url.toString();
}

function isErrorMessage(value: unknown): value is CommonErrorMessage {
  return typeof value === 'object' && value !== null && typeof (value as { why?: unknown }).why === 'string';
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const explicitToken = options.token !== undefined;
  const token = explicitToken ? options.token : getToken();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';

  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    // fetch rejects with a TypeError when nothing answered; an abort is the caller's own doing.
    if (error instanceof TypeError) serverUnreachable();
    throw error;
  }
  if (isGatewayDown(response.status)) serverUnreachable();
  else serverAnswered();

  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }

  if (!response.ok) {
    const why = isErrorMessage(data) ? data.why : `The server answered ${response.status} ${response.statusText}`.trim();
    const errorCode = isErrorMessage(data) ? (data.errorCode ?? null) : null;
    // A 401 on the stored token means the session is over; a 401 on a token
    // being tried at sign-in is just a wrong token.
    if (response.status === 401 && !explicitToken) sessionRejected();
    throw new ApiError(response.status, why, errorCode);
  }
  if (!explicitToken && token) tokenAccepted();
  return data as T;
}

/** A file the server sends (with the stored token), saved by the browser under `filename`. */
async function download(path: string, query: Record<string, QueryValue>, filename: string): Promise<void> {
  const token = getToken();
  const response = await fetch(buildUrl(path, query), { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!response.ok) {
    const data: unknown = await response.json().catch(() => null);
    if (response.status === 401) sessionRejected();
    throw new ApiError(response.status, isErrorMessage(data) ? data.why : `The server answered ${response.status}`, null);
  }
  const url = URL.createObjectURL(await response.blob());
  try {
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
  } finally {
    // After the click has handed the file to the browser.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

export const http = {
  download,
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
  post: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>('POST', path, { ...options, body }),
  put: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>('PUT', path, { ...options, body }),
};
