import type { Static, TSchema } from 'typebox';
import type { Principal } from '../auth/principal';

/**
 * What a socket call sees of its stream: who opened it and how to answer. The hub owns the envelope (frames,
 * stream ids, tokens, limits); a call only turns its payload into messages.
 */
export interface LiveStream {
  readonly id: string;
  readonly principal: Principal;
  /** True once the call has ended or its socket has gone: nothing sent after that reaches anyone. */
  readonly closed: boolean;
  /** Bytes the stream's socket has not sent yet (Infinity once it is closed): for calls that skip ahead rather than queue. */
  readonly bufferedBytes: number;
  /** One message frame with this payload. */
  send(payload: unknown): void;
  /** One message frame whose payload is already JSON: an event serialised once for all its streams. */
  sendJson(payloadJson: string): void;
  /** Ends the call with its response frame: 200 with `{}`, or a status and why. */
  end(status: number, why: string): void;
}

export interface LiveCall<S extends TSchema = TSchema> {
  /** The payload the call accepts; the hub answers anything else with a 400 that names the field. */
  readonly payload: S;
  /** Other names clients use for this call. */
  readonly aliases?: readonly string[];
  /**
   * The envelope has no cancel call. When a socket holds its most calls, the hub ends the oldest call that
   * may be displaced (with a 200 response) to make room; with none, the new call is refused.
   */
  readonly displaceable?: boolean;
  /** A new stream, authorised and with a valid payload. The socket's next frame waits until this resolves. */
  open(stream: LiveStream, payload: Static<S>): void | Promise<void>;
  /** Before the hub ends the call with a response: send what the stream still has pending. */
  flush?(stream: LiveStream): void;
  /** The stream is gone (ended, its socket closed, or its id reused): forget it. Called once per stream. */
  close(stream: LiveStream): void;
}

/** Socket calls by name, in the order they were registered (which is the order a 400 lists them in). */
export class CallRegistry {
  private readonly calls = new Map<string, LiveCall>();
  private readonly names: string[] = [];

  register<S extends TSchema>(name: string, call: LiveCall<S>) {
    for (const key of [name, ...(call.aliases ?? [])]) {
      if (this.calls.has(key)) throw new Error(`the socket call '${key}' is registered twice`);
      this.calls.set(key, call as unknown as LiveCall);
    }
    this.names.push(name);
  }

  get(name: string): LiveCall | undefined {
    return this.calls.get(name);
  }

  /** The calls' own names, without aliases. */
  list(): readonly string[] {
    return this.names;
  }
}
