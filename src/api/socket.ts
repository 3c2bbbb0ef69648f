import { create } from 'zustand';
import { getToken, sessionRejected, subscribeToToken } from '@/api/session';
import type { SocketFrame, SocketRequest } from '@/api/types';

/*
 * One class owns every WebSocket of the app. Calls follow UCloud's envelope:
 * each subscription is a stream with its own id, the bearer travels in the
 * frame (never in the URL), and after a drop the client reconnects with
 * backoff, resubscribes every stream and tells listeners to refetch over REST
 * so nothing that happened while it was down is missed.
 */

export type SocketPath = '/api/jobs' | '/api/tasks';
export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting';

interface ConnectionState {
  byPath: Partial<Record<SocketPath, ConnectionStatus>>;
}

const useConnectionStore = create<ConnectionState>(() => ({ byPath: {} }));

function connectionChanged(path: SocketPath, status: ConnectionStatus): void {
  useConnectionStore.setState((s) => ({ byPath: { ...s.byPath, [path]: status } }));
}

/** True while any socket the app needs is down and being retried. */
export const useSocketReconnecting = (): boolean =>
  useConnectionStore((s) => Object.values(s.byPath).some((status) => status === 'reconnecting'));

export const useSocketStatus = (path: SocketPath): ConnectionStatus =>
  useConnectionStore((s) => s.byPath[path] ?? 'idle');

export function getSocketStatus(path: SocketPath): ConnectionStatus {
  return useConnectionStore.getState().byPath[path] ?? 'idle';
}

const OPEN = 1; // WebSocket.OPEN, without touching the global (absent in some test environments)

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30_000;

/**
 * Delay before reconnect attempt `attempt` (0-based): 0.5 s doubling up to 30 s,
 * with "equal jitter" (half fixed, half random) so that many clients dropped at
 * once by a server restart don't all come back in the same instant.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  return ceiling / 2 + random() * (ceiling / 2);
}

export interface StreamHandlers {
  onMessage: (payload: unknown) => void;
  /** The server ended the stream (`type: "response"`). */
  onEnd?: (status: number, payload: unknown) => void;
}

interface Stream {
  id: string;
  call: string;
  payload: unknown;
  handlers: StreamHandlers;
}

interface Connection {
  path: SocketPath;
  ws: WebSocket | null;
  streams: Map<string, Stream>;
  attempt: number;
  everOpened: boolean;
  retryTimer: ReturnType<typeof setTimeout> | null;
  idleTimer: ReturnType<typeof setTimeout> | null;
}

export interface SocketClientOptions {
  url?: (path: SocketPath) => string;
  random?: () => number;
  /** How long an unused socket stays open, so quick navigation doesn't churn connections. */
  idleCloseMs?: number;
  /** Tests pass a fake; the app uses the browser's WebSocket. */
  createSocket?: (url: string) => WebSocket;
}

function defaultUrl(path: SocketPath): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}${path}`;
}

export class SocketClient {
  private readonly connections = new Map<SocketPath, Connection>();
  private readonly reconnectListeners = new Set<(path: SocketPath) => void>();
  private nextStreamId = 1;
  private readonly url: (path: SocketPath) => string;
  private readonly random: () => number;
  private readonly idleCloseMs: number;
  private readonly createSocket: (url: string) => WebSocket;

  constructor(options: SocketClientOptions = {}) {
    this.url = options.url ?? defaultUrl;
    this.random = options.random ?? Math.random;
    this.idleCloseMs = options.idleCloseMs ?? 5_000;
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url));
  }

  /** Opens a stream; returns a function that stops delivering its messages. */
  subscribe(path: SocketPath, call: string, payload: unknown, handlers: StreamHandlers): () => void {
    const conn = this.connection(path);
    const stream: Stream = { id: String(this.nextStreamId++), call, payload, handlers };
    conn.streams.set(stream.id, stream);
    if (conn.idleTimer) {
      clearTimeout(conn.idleTimer);
      conn.idleTimer = null;
    }
    if (conn.ws?.readyState === OPEN) this.send(conn, stream);
    else if (!conn.ws && !conn.retryTimer) this.open(conn);

    return () => {
      // The envelope has no cancel call: forgetting the id drops its messages.
      conn.streams.delete(stream.id);
      if (conn.streams.size === 0) this.scheduleIdleClose(conn);
    };
  }

  /** Called after a socket came back, once its streams are resubscribed. */
  onReconnect(listener: (path: SocketPath) => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** Drops every socket and stream (sign-out). */
  closeAll(): void {
    for (const conn of this.connections.values()) {
      conn.streams.clear();
      this.shutdown(conn);
    }
  }

  /** Reconnect at once (e.g. the token changed, or the tab came back online). */
  reconnectNow(): void {
    for (const conn of this.connections.values()) {
      if (conn.streams.size === 0) continue;
      if (conn.retryTimer) {
        clearTimeout(conn.retryTimer);
        conn.retryTimer = null;
      }
      if (conn.ws) {
        const ws = conn.ws;
        conn.ws = null;
        this.detach(ws);
        ws.close();
      }
      conn.attempt = 0;
      this.open(conn);
    }
  }

  private connection(path: SocketPath): Connection {
    let conn = this.connections.get(path);
    if (!conn) {
      conn = { path, ws: null, streams: new Map(), attempt: 0, everOpened: false, retryTimer: null, idleTimer: null };
      this.connections.set(path, conn);
    }
    return conn;
  }

  private open(conn: Connection): void {
    if (!getToken()) {
      connectionChanged(conn.path, 'idle');
      return;
    }
    connectionChanged(conn.path, conn.everOpened || conn.attempt > 0 ? 'reconnecting' : 'connecting');
    let ws: WebSocket;
    try {
      ws = this.createSocket(this.url(conn.path));
    } catch {
      this.scheduleRetry(conn);
      return;
    }
    conn.ws = ws;
    ws.onopen = () => {
      const wasReconnect = conn.everOpened;
      conn.everOpened = true;
      conn.attempt = 0;
      connectionChanged(conn.path, 'open');
      for (const stream of conn.streams.values()) this.send(conn, stream);
      if (wasReconnect) for (const listener of this.reconnectListeners) listener(conn.path);
    };
    ws.onmessage = (event: MessageEvent) => this.receive(conn, event.data);
    ws.onclose = () => {
      if (conn.ws !== ws) return;
      conn.ws = null;
      if (conn.streams.size > 0) this.scheduleRetry(conn);
      else connectionChanged(conn.path, 'idle');
    };
    // onerror is always followed by onclose, which does the work.
    ws.onerror = () => undefined;
  }

  private send(conn: Connection, stream: Stream): void {
    const bearer = getToken();
    if (!bearer || !conn.ws) return;
    const frame: SocketRequest = { call: stream.call, streamId: stream.id, payload: stream.payload, bearer };
    conn.ws.send(JSON.stringify(frame));
  }

  private receive(conn: Connection, data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: SocketFrame;
    try {
      frame = JSON.parse(data) as SocketFrame;
    } catch {
      return;
    }
    const stream = conn.streams.get(String(frame.streamId));
    if (!stream) return;
    if (frame.type === 'message') {
      stream.handlers.onMessage(frame.payload);
    } else if (frame.type === 'response') {
      conn.streams.delete(stream.id);
      if (frame.status === 401) sessionRejected();
      stream.handlers.onEnd?.(frame.status, frame.payload);
      if (conn.streams.size === 0) this.scheduleIdleClose(conn);
    }
  }

  private scheduleRetry(conn: Connection): void {
    connectionChanged(conn.path, 'reconnecting');
    const delay = backoffDelay(conn.attempt, this.random);
    conn.attempt += 1;
    conn.retryTimer = setTimeout(() => {
      conn.retryTimer = null;
      if (conn.streams.size > 0) this.open(conn);
      else connectionChanged(conn.path, 'idle');
    }, delay);
  }

  private scheduleIdleClose(conn: Connection): void {
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => {
      conn.idleTimer = null;
      if (conn.streams.size === 0) this.shutdown(conn);
    }, this.idleCloseMs);
  }

  private detach(ws: WebSocket): void {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
  }

  private shutdown(conn: Connection): void {
    if (conn.retryTimer) clearTimeout(conn.retryTimer);
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.retryTimer = null;
    conn.idleTimer = null;
    conn.attempt = 0;
    conn.everOpened = false;
    if (conn.ws) {
      const ws = conn.ws;
      conn.ws = null;
      this.detach(ws);
      ws.close();
    }
    connectionChanged(conn.path, 'idle');
  }
}

/** The app's one socket client. */
export const socketClient = new SocketClient();

// Signing out drops the sockets; signing in again with another token starts clean.
subscribeToToken((token) => {
  if (token === null) socketClient.closeAll();
  else socketClient.reconnectNow();
});
