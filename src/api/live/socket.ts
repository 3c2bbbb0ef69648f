import { getToken, sessionRejected } from '@/api/session';
import { connectionChanged } from '@/api/live/status';
import type { SocketFrame, SocketRequest } from '@/api/types';

/*
 * The tab's one WebSocket. Calls follow UCloud's envelope: each subscription is a stream with its own id on the
 * same socket, the bearer travels in the frame (never in the URL), and after a drop the client reconnects with
 * backoff, resubscribes every stream and tells its open listeners, who refetch over REST what they may have missed.
 */

/** Every path accepts every call (server/live/README.md); the tab uses this one for all of them. */
export const LIVE_SOCKET_PATH = '/api/jobs';

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

export interface SocketClientOptions {
  url?: () => string;
  random?: () => number;
  /** How long an unused socket stays open, so quick navigation doesn't churn connections. */
  idleCloseMs?: number;
  /** Tests pass a fake; the app uses the browser's WebSocket. */
  createSocket?: (url: string) => WebSocket;
}

function defaultUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}${LIVE_SOCKET_PATH}`;
}

export class SocketClient {
  private ws: WebSocket | null = null;
  private readonly streams = new Map<string, Stream>();
  private attempt = 0;
  private everOpened = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly openListeners = new Set<(reconnected: boolean) => void>();
  private nextStreamId = 1;
  private readonly url: () => string;
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
  subscribe(call: string, payload: unknown, handlers: StreamHandlers): () => void {
    const stream: Stream = { id: String(this.nextStreamId++), call, payload, handlers };
    this.streams.set(stream.id, stream);
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.ws?.readyState === OPEN) this.send(stream);
    else if (!this.ws && !this.retryTimer) this.open();

    return () => {
      // The envelope has no cancel call: forgetting the id drops its messages.
      if (!this.streams.delete(stream.id)) return;
      if (this.streams.size === 0) this.scheduleIdleClose();
    };
  }

  /**
   * The one signal that the socket (re)opened: called once its streams are (re)subscribed, with `reconnected` true
   * when it had been open before, so a listener knows to refetch what it may have missed.
   */
  onOpen(listener: (reconnected: boolean) => void): () => void {
    this.openListeners.add(listener);
    return () => this.openListeners.delete(listener);
  }

  /** Drops the socket and every stream (sign-out). */
  closeAll(): void {
    this.streams.clear();
    this.shutdown();
  }

  /** Reconnect at once (e.g. the token changed, or the tab came back online). */
  reconnectNow(): void {
    if (this.streams.size === 0) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      this.detach(ws);
      ws.close();
    }
    this.attempt = 0;
    this.open();
  }

  /**
   * The browser says the network is gone: the socket is down now, whatever its close handshake does (a closing
   * socket can wait long for the server's close frame that cannot come). Retries with backoff, as after a drop.
   */
  networkLost(): void {
    if (this.streams.size === 0 || !this.ws) return;
    const ws = this.ws;
    this.ws = null;
    this.detach(ws);
    ws.close();
    if (!this.retryTimer) this.scheduleRetry();
  }

  private open(): void {
    if (!getToken()) {
      connectionChanged('idle');
      return;
    }
    connectionChanged(this.everOpened || this.attempt > 0 ? 'reconnecting' : 'connecting');
    let ws: WebSocket;
    try {
      ws = this.createSocket(this.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      connectionChanged('open');
      for (const stream of this.streams.values()) this.send(stream);
      for (const listener of this.openListeners) listener(reconnected);
    };
    ws.onmessage = (event: MessageEvent) => this.receive(event.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.streams.size > 0) this.scheduleRetry();
      else connectionChanged('idle');
    };
    // onerror is always followed by onclose, which does the work.
    ws.onerror = () => undefined;
  }

  private send(stream: Stream): void {
    const bearer = getToken();
    if (!bearer || !this.ws) return;
    const frame: SocketRequest = { call: stream.call, streamId: stream.id, payload: stream.payload, bearer };
    this.ws.send(JSON.stringify(frame));
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let frame: SocketFrame;
    try {
      frame = JSON.parse(data) as SocketFrame;
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    const stream = this.streams.get(String(frame.streamId));
    if (!stream) return;
    if (frame.type === 'message') {
      stream.handlers.onMessage(frame.payload);
    } else if (frame.type === 'response') {
      this.streams.delete(stream.id);
      if (frame.status === 401) sessionRejected();
      stream.handlers.onEnd?.(frame.status, frame.payload);
      if (this.streams.size === 0) this.scheduleIdleClose();
    }
  }

  private scheduleRetry(): void {
    connectionChanged('reconnecting');
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.streams.size > 0) this.open();
      else connectionChanged('idle');
    }, delay);
  }

  private scheduleIdleClose(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.streams.size === 0) this.shutdown();
    }, this.idleCloseMs);
  }

  private detach(ws: WebSocket): void {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    ws.onerror = null;
  }

  private shutdown(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.retryTimer = null;
    this.idleTimer = null;
    this.attempt = 0;
    this.everOpened = false;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      this.detach(ws);
      ws.close();
    }
    connectionChanged('idle');
  }
}
