import WebSocket from 'ws';
import type { FastifyInstance } from 'fastify';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- payloads are whatever the server sent; the tests check them.
type Json = any;

/** A server frame as a client sees it (contract §7). */
export type Frame =
  | { type: 'message'; streamId: string; payload: Json }
  | { type: 'response'; streamId: string; status: number; payload: Json };

/**
 * A test client for the hub: records every frame, and lets a test wait for the frames it expects.
 * The waits have a deadline only so that a broken server fails the test instead of hanging it.
 */
export class TestSocket {
  readonly frames: Frame[] = [];
  private consumed = 0;
  private readonly waiters = new Set<() => void>();
  private syncCount = 0;
  closed: Promise<{ code: number }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve({ code })));
  }

  /** Through Fastify's injectWS: no port needed. */
  static async inject(app: FastifyInstance, path = '/api/tasks'): Promise<TestSocket> {
    return new TestSocket(await app.injectWS(path));
  }

  /** Over a real TCP socket to a listening server, e.g. `ws://127.0.0.1:1234/api/tasks`. */
  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      ws.once('open', () => resolve(new TestSocket(ws)));
      ws.once('error', reject);
    });
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  call(call: string, streamId: string, payload: unknown, bearer: string) {
    this.send({ call, streamId, payload, bearer });
  }

  /** Frames on one stream, in order. */
  on(streamId: string): Frame[] {
    return this.frames.filter((f) => f.streamId === streamId);
  }

  messages(streamId: string): Json[] {
    return this.on(streamId).filter((f) => f.type === 'message').map((f) => f.payload);
  }

  /** Waits until `ready()` returns a value (re-checked on every frame), then returns it. */
  until<T>(ready: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    const now = ready();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`Timed out waiting for ${what}; frames so far: ${JSON.stringify(this.frames).slice(0, 2000)}`));
      }, timeoutMs);
      const wake = () => {
        const value = ready();
        if (!value) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(value);
      };
      this.waiters.add(wake);
    });
  }

  /** Waits for `count` messages on a stream and returns them all. */
  waitMessages(streamId: string, count: number, timeoutMs?: number): Promise<Json[]> {
    return this.until(() => {
      const messages = this.messages(streamId);
      return messages.length >= count ? messages : undefined;
    }, `${count} message(s) on stream '${streamId}'`, timeoutMs);
  }

  waitResponse(streamId: string, timeoutMs?: number): Promise<Extract<Frame, { type: 'response' }>> {
    return this.until(
      () => this.on(streamId).find((f): f is Extract<Frame, { type: 'response' }> => f.type === 'response'),
      `a response on stream '${streamId}'`,
      timeoutMs,
    );
  }

  /** The next frame not yet returned by nextFrame(). */
  async nextFrame(timeoutMs?: number): Promise<Frame> {
    const frame = await this.until(() => this.frames[this.consumed], 'the next frame', timeoutMs);
    this.consumed += 1;
    return frame;
  }

  /**
   * The server handles one socket's frames in order, so once a later call has been answered, every earlier
   * call on this socket is live. The barrier is a jobs.follow of a job that cannot exist (404).
   */
  async sync(bearer: string) {
    const streamId = `sync-${++this.syncCount}`;
    this.call('jobs.follow', streamId, { id: 'no-such-job' }, bearer);
    const response = await this.waitResponse(streamId);
    if (response.status !== 404) throw new Error(`sync: expected a 404, got ${JSON.stringify(response)}`);
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}
