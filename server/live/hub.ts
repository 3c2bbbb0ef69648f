import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { TSchema } from 'typebox';
import type { Db } from '../db/index';
import type { Principal } from '../auth/principal';
import { ClientFrame } from '../../contract/socket';
import { check } from '../http/parse';
import { authorize, refuseProject } from '../auth/plugin';
import { SESSION_ENDED_CHANNEL, TOKEN_REVOKED_CHANNEL, parseSessionEnded } from '../auth/token-cache';
import { HttpError } from '../http/errors';
import { CallRegistry, type LiveCall } from './call-registry';
import { admitBearer, releaseBearers, type Connection, type HubOptions, type Stream } from './hub-model';

export { DEFAULT_HUB_OPTIONS, type HubOptions } from './hub-model';

/** Client frames are tiny; anything bigger is not one of ours. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
const MAX_STREAM_ID_LENGTH = 128;
const MAX_QUEUED_FRAMES = 256;
const USER = ['USER'] as const;

const errorBody = (why: string) => ({ why, errorCode: null });
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The WebSocket hub (contract §7): UCloud's call envelope, several streams per socket. It knows frames, stream
 * ids, tokens and limits, not what a call does: each call is registered (`register`) by the plugin that owns it,
 * and that plugin turns its own events into messages.
 */
export class LiveHub {
  private readonly connections = new Set<Connection>();
  private readonly calls = new CallRegistry();
  private pingTimer: NodeJS.Timeout | null = null;
  private unlistenRevoked: (() => Promise<void>) | null = null;
  /** Token → the sockets with a call authorised by it. */
  private readonly socketsByBearer = new Map<string, Set<Connection>>();

  constructor(
    private readonly db: Db,
    private readonly options: HubOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Adds a socket call: frames naming `name` (or one of the call's aliases) open a stream of it. */
  register<S extends TSchema>(name: string, call: LiveCall<S>) {
    this.calls.register(name, call);
  }

  /** The registered calls' names. */
  callNames(): readonly string[] {
    return this.calls.list();
  }

  async start() {
    this.pingTimer = setInterval(() => this.heartbeat(), this.options.pingIntervalMs);
    this.pingTimer.unref();
    // A revocation (this process's or another's, through NOTIFY) ends the user's streams at once, not at the next ping.
    const recheckUser = (username: string) => {
      for (const conn of this.connections) {
        if ([...conn.streams.values()].some((s) => s.principal.username === username)) void this.recheckTokens(conn);
      }
    };
    const offRevoked = await this.db.listen(TOKEN_REVOKED_CHANNEL, recheckUser);
    // A session ended at sign-out: its streams end at once (the user's other sessions and tokens are rechecked, and pass).
    const offEnded = await this.db.listen(SESSION_ENDED_CHANNEL, (payload) => {
      const ended = parseSessionEnded(payload);
      if (ended) recheckUser(ended.username);
    });
    this.unlistenRevoked = async () => {
      await offRevoked();
      await offEnded();
    };
  }

  /** Open sockets and calls, for health checks and tests. */
  stats() {
    let streams = 0;
    for (const conn of this.connections) streams += conn.streams.size;
    return { sockets: this.connections.size, streams };
  }

  accept(ws: WebSocket) {
    // Every socket holds memory and a file descriptor here: past the cap a new one is turned away before it costs more.
    if (this.connections.size >= this.options.maxSockets) {
      ws.close(1013, `at most ${this.options.maxSockets} sockets are open at once; try again later`);
      return;
    }
    const conn: Connection = { ws, streams: new Map(), chain: Promise.resolve(), queued: 0, alive: true, closed: false, idle: null, bearers: new Set() };
    conn.idle = setTimeout(() => {
      conn.ws.close(1008, 'no authorised call');
      this.drop(conn);
    }, this.options.idleUnauthenticatedMs);
    conn.idle.unref();
    this.connections.add(conn);
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on('pong', () => (conn.alive = true));
    ws.on('close', () => this.drop(conn));
  }

  close() {
    if (this.pingTimer) clearInterval(this.pingTimer);
    void this.unlistenRevoked?.();
    for (const conn of this.connections) {
      conn.ws.terminate();
      this.drop(conn);
    }
  }

  // ---- frames -------------------------------------------------------------------------------------------

  private onFrame(conn: Connection, data: RawData, isBinary: boolean) {
    if (isBinary) {
      this.respond(conn, '', 400, '(frame): must be a text frame holding a JSON call');
      return;
    }
    const text = Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data).toString('utf8');
    // Frames wait their turn (in-order handling); a client that sends far faster than it is answered is cut off
    // rather than queueing without bound.
    if (conn.queued >= MAX_QUEUED_FRAMES) {
      conn.ws.close(1008, 'too many frames waiting for an answer');
      this.drop(conn);
      return;
    }
    conn.queued += 1;
    conn.chain = conn.chain
      .then(() => this.handleFrame(conn, text))
      // Frames carry tokens: log that something failed, never the frame.
      .catch((error) => this.log.error({ err: error }, 'handling a socket frame failed'))
      .finally(() => (conn.queued -= 1));
  }

  private async handleFrame(conn: Connection, text: string) {
    if (conn.closed) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.respond(conn, '', 400, `(frame): malformed JSON (${(error as Error).message})`);
      return;
    }
    const streamIdGuess = isRecord(value) && typeof value.streamId === 'string' ? value.streamId.slice(0, MAX_STREAM_ID_LENGTH) : '';
    const checked = check(ClientFrame, value, '(frame)');
    if (!checked.ok) {
      // No token is a 401 (contract §0), like a missing Authorization header, not a malformed frame.
      const noBearer = checked.path === 'bearer' && isRecord(value) && (value.bearer === undefined || value.bearer === null);
      this.respond(conn, streamIdGuess, noBearer ? 401 : 400, noBearer ? 'bearer: a bearer token is required in the frame' : checked.why);
      return;
    }
    const frame = checked.value;
    const streamId = frame.streamId;
    if (streamId.length > MAX_STREAM_ID_LENGTH) {
      this.respond(conn, streamIdGuess, 400, `streamId: must be at most ${MAX_STREAM_ID_LENGTH} characters`);
      return;
    }
    const existing = conn.streams.get(streamId);
    if (existing) {
      // The answer ends the id for the client, so the server ends its call under that id too.
      this.remove(existing);
      this.respond(conn, streamId, 400, `streamId: a call with stream id '${streamId}' is already open on this socket; give each call its own streamId`);
      return;
    }
    const call = this.calls.get(frame.call);
    if (!call) {
      this.respond(conn, streamId, 400, `call: unknown call '${frame.call.slice(0, 64)}'; expected one of ${this.calls.list().join(', ')}`);
      return;
    }
    if (conn.streams.size >= this.options.maxStreamsPerSocket) {
      // The envelope has no cancel call, so a client that follows job after job never closes the old follows.
      // The oldest displaceable call (jobs.follow) makes room; it is ended with a response, as any call is.
      const oldest = [...conn.streams.values()].find((s) => s.call.displaceable);
      if (!oldest) {
        this.respond(conn, streamId, 400, `streamId: at most ${this.options.maxStreamsPerSocket} calls can be open on one socket`);
        return;
      }
      this.end(oldest, 200, '');
    }

    let principal: Principal;
    try {
      principal = await authorize(this.db, frame.bearer === '' ? null : frame.bearer, USER);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      this.respond(conn, streamId, error.statusCode, error.why);
      return;
    }
    if (conn.closed) return;
    try {
      refuseProject(frame.project, 'project');
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      this.respond(conn, streamId, error.statusCode, error.why);
      return;
    }
    if (!admitBearer(this.socketsByBearer, conn, frame.bearer, this.options.maxSocketsPerToken)) {
      this.respond(conn, streamId, 429, `bearer: at most ${this.options.maxSocketsPerToken} sockets may be open with one token; close one, or use its streams`);
      return;
    }
    if (conn.idle) clearTimeout(conn.idle);
    conn.idle = null;

    const payload = check(call.payload, frame.payload, 'payload');
    if (!payload.ok) {
      this.respond(conn, streamId, 400, payload.path ? `payload.${payload.path}: ${payload.message}`.replace('payload.[', 'payload[') : payload.why);
      return;
    }

    const head = `{"type":"message","streamId":${JSON.stringify(streamId)},"payload":`;
    const stream: Stream = {
      conn,
      id: streamId,
      head,
      call,
      principal,
      bearer: frame.bearer,
      closed: false,
      get bufferedBytes() {
        return conn.closed ? Infinity : conn.ws.bufferedAmount;
      },
      send: (message) => this.sendRaw(conn, `${head}${JSON.stringify(message)}}`),
      sendJson: (json) => this.sendRaw(conn, `${head}${json}}`),
      end: (status, why) => this.end(stream, status, why),
    };
    conn.streams.set(streamId, stream);
    await call.open(stream, payload.value);
  }

  // ---- sending ------------------------------------------------------------------------------------------

  private respond(conn: Connection, streamId: string, status: number, why: string) {
    const payload = status < 400 ? {} : errorBody(why);
    this.sendRaw(conn, JSON.stringify({ type: 'response', streamId, status, payload }));
  }

  /** Ends a call with its response frame. */
  private end(stream: Stream, status: number, why: string) {
    if (stream.closed) return;
    // What the call still holds (updates already committed) goes out before it ends.
    stream.call.flush?.(stream);
    this.remove(stream);
    this.respond(stream.conn, stream.id, status, why);
  }

  private sendRaw(conn: Connection, text: string) {
    const ws = conn.ws;
    if (conn.closed || ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount + text.length > this.options.maxBufferedBytes) {
      this.log.warn({ buffered: ws.bufferedAmount }, 'disconnecting a WebSocket client that does not keep up with its events');
      ws.terminate();
      this.drop(conn);
      return;
    }
    ws.send(text);
  }

  // ---- bookkeeping --------------------------------------------------------------------------------------

  private remove(stream: Stream) {
    stream.closed = true;
    stream.conn.streams.delete(stream.id);
    stream.call.close(stream);
  }

  private drop(conn: Connection) {
    if (conn.closed) return;
    conn.closed = true;
    if (conn.idle) clearTimeout(conn.idle);
    releaseBearers(this.socketsByBearer, conn);
    for (const stream of [...conn.streams.values()]) this.remove(stream);
    this.connections.delete(conn);
  }

  private heartbeat() {
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.ws.terminate();
        this.drop(conn);
        continue;
      }
      // A socket that is already closing gets its 'close' event soon; ping() would throw on it.
      if (conn.ws.readyState !== conn.ws.OPEN) continue;
      conn.alive = false;
      conn.ws.ping();
      void this.recheckTokens(conn);
    }
  }

  /** A token revoked after subscribing ends its streams with 401: at once (revocation NOTIFY), or at the next ping. */
  private async recheckTokens(conn: Connection) {
    const bearers = new Set([...conn.streams.values()].map((s) => s.bearer));
    for (const bearer of bearers) {
      try {
        await authorize(this.db, bearer, USER);
      } catch (error) {
        if (!(error instanceof HttpError)) return;
        for (const stream of [...conn.streams.values()]) if (stream.bearer === bearer) this.end(stream, error.statusCode, error.why);
      }
    }
  }
}
