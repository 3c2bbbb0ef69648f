import type { WebSocket } from 'ws';
import type { Principal } from '../auth/principal';
import type { LiveCall, LiveStream } from './call-registry';

/* The hub's options and its bookkeeping types (hub.ts), apart so the hub itself stays readable. */

export interface HubOptions {
  /** Contract §7: the server pings every 30 s; a socket that has not answered the previous ping is dropped. */
  pingIntervalMs: number;
  /** A socket whose unsent data passes this many bytes is disconnected, so a slow client cannot grow our memory. */
  maxBufferedBytes: number;
  /** Calls that may be open at once on one socket; past it the oldest displaceable call (jobs.follow) is ended to make room. */
  maxStreamsPerSocket: number;
  /** A socket with no authorised call this long after it opened is closed: an anonymous socket costs us, not them. */
  idleUnauthenticatedMs: number;
  /** Sockets one token may hold open; a call that would open one more is refused with 429. */
  maxSocketsPerToken: number;
  /** Sockets this process holds open in all; one more is closed at once (1013, try again later). */
  maxSockets: number;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  pingIntervalMs: 30_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxStreamsPerSocket: 64,
  idleUnauthenticatedMs: 5_000,
  maxSocketsPerToken: 16,
  maxSockets: 10_000,
};

/** The hub's record of one call on one socket; the call itself sees it as a LiveStream. */
export interface Stream extends LiveStream {
  readonly conn: Connection;
  /** `{"type":"message","streamId":"…","payload":` — messages are this, the payload's JSON and `}`. */
  readonly head: string;
  readonly call: LiveCall;
  readonly principal: Principal;
  /** Kept to re-check the token at each ping, so a revoked token stops its streams. Never logged. */
  readonly bearer: string;
  closed: boolean;
}

export interface Connection {
  readonly ws: WebSocket;
  readonly streams: Map<string, Stream>;
  /** Frames are handled strictly in order, so a response to a later frame means earlier calls are live. */
  chain: Promise<void>;
  /** Frames received and not yet handled. */
  queued: number;
  alive: boolean;
  closed: boolean;
  /** Until the first authorised call: closes the socket if none comes. */
  idle: NodeJS.Timeout | null;
  /** The tokens this socket's calls were authorised with (the per-token socket cap counts them). */
  readonly bearers: Set<string>;
}

/** Counts `conn` among the sockets of `bearer`, unless that token already holds `max` others; false if it does. */
export function admitBearer(index: Map<string, Set<Connection>>, conn: Connection, bearer: string, max: number): boolean {
  if (conn.bearers.has(bearer)) return true;
  const sockets = index.get(bearer) ?? new Set<Connection>();
  if (sockets.size >= max) return false;
  conn.bearers.add(bearer);
  sockets.add(conn);
  index.set(bearer, sockets);
  return true;
}

export function releaseBearers(index: Map<string, Set<Connection>>, conn: Connection) {
  for (const bearer of conn.bearers) {
    const sockets = index.get(bearer);
    sockets?.delete(conn);
    if (sockets?.size === 0) index.delete(bearer);
  }
}
