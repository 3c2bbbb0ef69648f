import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { Db } from '../db/index';
import type { Principal } from '../auth/tokens';
import { isFinalState, type Job } from '../../contract/jobs';
import {
  ClientFrame,
  JobsFollowRequest,
  JobsListenRequest,
  SOCKET_CALLS,
  SOCKET_CALL_ALIASES,
  TASKS_BATCH_LIMIT,
  TasksListenRequest,
  type SocketCall,
} from '../../contract/socket';
import type { TasksListenRequest as TasksListenPayload } from '../../contract/socket';
import { validate } from '../../contract/validate';
import type { TSchema } from 'typebox';
import { authorize, refuseProject } from '../auth/plugin';
import { SESSION_ENDED_CHANNEL, TOKEN_REVOKED_CHANNEL, parseSessionEnded } from '../auth/token-cache';
import { HttpError } from '../http/errors';
import type { EventBus, JobEvent, LiveEvent, TaskEvent } from './bus';
import { DEFAULT_TAIL_LIMITS, OutputTail, type OutputFiles, type TailLimits } from './output-tail';
import { addTo, admitBearer, releaseBearers, removeFrom, type Connection, type HubOptions, type Stream } from './hub-model';

export { DEFAULT_HUB_OPTIONS, type HubOptions } from './hub-model';


/** Client frames are tiny; anything bigger is not one of ours. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
const MAX_STREAM_ID_LENGTH = 128;
const MAX_QUEUED_FRAMES = 256;
const USER = ['USER'] as const;

const PAYLOAD_SCHEMAS: Record<SocketCall, TSchema> = {
  'tasks.listen': TasksListenRequest,
  'jobs.follow': JobsFollowRequest,
  'jobs.listen': JobsListenRequest,
};


const errorBody = (why: string) => ({ why, errorCode: null });
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The WebSocket hub (contract §7): UCloud's call envelope, several streams per socket, in-memory fan-out
 * per process. Events come from the EventBus, which also carries other processes' events on PostgreSQL.
 */
export class LiveHub {
  private readonly connections = new Set<Connection>();
  private readonly taskListeners = new Map<string, Set<Stream>>();
  private readonly jobListeners = new Map<string, Set<Stream>>();
  private readonly followers = new Map<string, Set<Stream>>();
  private unsubscribe: (() => void) | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private unlistenRevoked: (() => Promise<void>) | null = null;
  /** Token → the sockets with a call authorised by it. */
  private readonly socketsByBearer = new Map<string, Set<Connection>>();

  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
    /** The caller's job with its updates, or an HttpError (404 for someone else's). */
    private readonly retrieveJob: (owner: string, id: string) => Promise<Job>,
    private readonly options: HubOptions,
    private readonly log: FastifyBaseLogger,
    /** Where a job's output files are on this machine (its provider's), or null when it has none to follow. */
    private readonly outputOf: (job: Job) => OutputFiles | null = () => null,
    private readonly tailLimits: TailLimits = DEFAULT_TAIL_LIMITS,
  ) {}

  async start() {
    this.unsubscribe = this.bus.subscribe((event) => this.onEvent(event));
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
    this.unsubscribe?.();
    void this.unlistenRevoked?.();
    for (const conn of this.connections) {
      conn.ws.terminate();
      this.drop(conn);
    }
  }

  // ---- events -------------------------------------------------------------------------------------------

  private onEvent(event: LiveEvent) {
    if (event.kind === 'task') this.onTask(event);
    else this.onJob(event);
  }

  private onTask(event: TaskEvent) {
    const streams = this.taskListeners.get(event.owner);
    if (!streams) return;
    // Serialised once, whatever the number of listeners.
    const json = JSON.stringify(event.update);
    for (const stream of streams) {
      if (stream.batch) this.queueUpdate(stream, stream.batch, json);
      else this.sendRaw(stream.conn, `${stream.head}${json}}`);
    }
  }

  /**
   * Batched tasks.listen: the writer publishes a whole commit in one turn, so one setImmediate gathers it into
   * one message. No timer, so no added latency.
   */
  private queueUpdate(stream: Stream, batch: NonNullable<Stream['batch']>, json: string) {
    batch.queued.push(json);
    if (batch.queued.length >= TASKS_BATCH_LIMIT) this.flushBatch(stream);
    else if (!batch.scheduled) {
      batch.scheduled = true;
      setImmediate(() => {
        batch.scheduled = false;
        this.flushBatch(stream);
      });
    }
  }

  private flushBatch(stream: Stream) {
    const batch = stream.batch;
    if (!batch || batch.queued.length === 0) return;
    const updates = batch.queued;
    batch.queued = [];
    if (!stream.closed) this.sendRaw(stream.conn, `${stream.head}{"updates":[${updates.join(',')}]}}`);
  }

  private onJob(event: JobEvent) {
    const listeners = this.jobListeners.get(event.owner);
    if (listeners) {
      // The job with the updates this change brought (not its whole history): enough for a list to read why the
      // state changed (a terminated job's SUCCESS says "Terminated by user"), small whatever the history's length.
      const json = JSON.stringify({ job: { ...event.job, updates: event.updates } });
      for (const stream of listeners) this.sendRaw(stream.conn, `${stream.head}${json}}`);
    }
    for (const stream of this.followers.get(event.jobId) ?? []) void this.refreshFollow(stream);
  }

  /**
   * jobs.follow without a gap or a duplicate: the stream is registered before the first read, and every
   * event only triggers a re-read from the database, sending the updates past what the client already has.
   * Job update histories are append-only, so "what the client has" is just a count. Reads for one stream
   * never overlap; events that arrive during a read cause one more read.
   */
  private async refreshFollow(stream: Stream) {
    const follow = stream.follow!;
    if (follow.busy) {
      follow.dirty = true;
      return;
    }
    follow.busy = true;
    try {
      do {
        follow.dirty = false;
        let job: Job;
        try {
          job = await this.retrieveJob(stream.principal.username, follow.jobId);
        } catch (error) {
          if (error instanceof HttpError) this.end(stream, error.statusCode, error.why);
          else this.log.error({ err: error }, 'jobs.follow: reading the job failed');
          return;
        }
        if (stream.closed) return;
        if (follow.cursor < 0) {
          this.message(stream, { initialJob: job });
          this.startTail(stream, job);
        } else if (job.updates.length > follow.cursor) {
          this.message(stream, { updates: job.updates.slice(follow.cursor), newStatus: job.status });
        }
        follow.cursor = job.updates.length;
        if (isFinalState(job.status.state)) follow.tail?.finish();
      } while (follow.dirty && !stream.closed);
    } finally {
      follow.busy = false;
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
    const checked = validate(ClientFrame, value, '(frame)');
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
    const callName = SOCKET_CALL_ALIASES[frame.call] ?? frame.call;
    if (!(SOCKET_CALLS as readonly string[]).includes(callName)) {
      this.respond(conn, streamId, 400, `call: unknown call '${frame.call.slice(0, 64)}'; expected one of ${SOCKET_CALLS.join(', ')}`);
      return;
    }
    if (conn.streams.size >= this.options.maxStreamsPerSocket) {
      // The envelope has no cancel call, so a client that follows job after job never closes the old follows.
      // The oldest jobs.follow makes room (it is ended with a response, as any call is); listens are never displaced.
      const oldestFollow = [...conn.streams.values()].find((s) => s.call === 'jobs.follow');
      if (!oldestFollow) {
        this.respond(conn, streamId, 400, `streamId: at most ${this.options.maxStreamsPerSocket} calls can be open on one socket`);
        return;
      }
      this.end(oldestFollow, 200, '');
    }
    const call = callName as SocketCall;

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

    const payload = validate(PAYLOAD_SCHEMAS[call], frame.payload, 'payload');
    if (!payload.ok) {
      this.respond(conn, streamId, 400, payload.path ? `payload.${payload.path}: ${payload.message}`.replace('payload.[', 'payload[') : payload.why);
      return;
    }

    const stream: Stream = {
      conn,
      id: streamId,
      head: `{"type":"message","streamId":${JSON.stringify(streamId)},"payload":`,
      call,
      principal,
      bearer: frame.bearer,
      closed: false,
    };
    conn.streams.set(streamId, stream);
    if (call === 'tasks.listen') {
      if ((payload.value as TasksListenPayload).batch) stream.batch = { queued: [], scheduled: false };
      addTo(this.taskListeners, principal.username, stream);
    }
    else if (call === 'jobs.listen') addTo(this.jobListeners, principal.username, stream);
    else {
      const { id } = payload.value as { id: string };
      stream.follow = { jobId: id, cursor: -1, busy: false, dirty: false, tail: null };
      // Registered before the first read: nothing that lands meanwhile is missed.
      addTo(this.followers, id, stream);
      await this.refreshFollow(stream);
    }
  }

  /** The job's output, from its start, as `log` messages after the initial job (UCloud's JobsFollowResponse). */
  private startTail(stream: Stream, job: Job) {
    const files = this.outputOf(job);
    if (!files) return;
    const conn = stream.conn;
    const tail = new OutputTail(
      files,
      (log) => {
        if (!stream.closed) this.message(stream, { updates: [], log, newStatus: null });
      },
      // At most one chunk waits in the socket's buffer: a slow reader makes the tail skip ahead, not queue.
      () => !conn.closed && conn.ws.bufferedAmount < this.tailLimits.chunkBytes,
      this.tailLimits,
    );
    stream.follow!.tail = tail;
    tail.start();
  }

  // ---- sending ------------------------------------------------------------------------------------------

  private message(stream: Stream, payload: unknown) {
    this.sendRaw(stream.conn, `${stream.head}${JSON.stringify(payload)}}`);
  }

  private respond(conn: Connection, streamId: string, status: number, why: string) {
    const payload = status < 400 ? {} : errorBody(why);
    this.sendRaw(conn, JSON.stringify({ type: 'response', streamId, status, payload }));
  }

  /** Ends a call with its response frame. */
  private end(stream: Stream, status: number, why: string) {
    if (stream.closed) return;
    // Updates already committed go out before the call ends.
    this.flushBatch(stream);
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
    if (stream.call === 'tasks.listen') removeFrom(this.taskListeners, stream.principal.username, stream);
    else if (stream.call === 'jobs.listen') removeFrom(this.jobListeners, stream.principal.username, stream);
    else {
      stream.follow!.tail?.stop();
      removeFrom(this.followers, stream.follow!.jobId, stream);
    }
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
