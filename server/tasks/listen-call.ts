import { SOCKET_CALL_ALIASES, TASKS_BATCH_LIMIT, TasksListenRequest } from '../../contract/socket';
import type { EventBus, TaskEvent } from '../live/bus';
import type { LiveCall, LiveStream } from '../live/call-registry';
import { StreamIndex } from '../live/stream-index';

interface Listener {
  readonly stream: LiveStream;
  /** With `batch: true`: updates serialised and waiting for this turn's message. */
  readonly batch: { queued: string[]; scheduled: boolean } | null;
}

/**
 * `tasks.listen` (contract §7): every TaskUpdate of the caller's tasks, one message each, or with the extension
 * `{"batch": true}` the updates that land in one turn as one `{updates}` message.
 */
export class TasksListenCall implements LiveCall<typeof TasksListenRequest> {
  readonly payload = TasksListenRequest;
  readonly aliases = Object.keys(SOCKET_CALL_ALIASES).filter((alias) => SOCKET_CALL_ALIASES[alias] === 'tasks.listen');
  private readonly byOwner = new StreamIndex<Listener>();
  private readonly byStream = new Map<LiveStream, Listener>();
  private readonly unsubscribe: () => void;

  constructor(bus: EventBus) {
    this.unsubscribe = bus.subscribe((event) => {
      if (event.kind === 'task') this.onTask(event);
    });
  }

  stop() {
    this.unsubscribe();
  }

  open(stream: LiveStream, payload: TasksListenRequest) {
    const listener: Listener = { stream, batch: payload.batch ? { queued: [], scheduled: false } : null };
    this.byStream.set(stream, listener);
    this.byOwner.add(stream.principal.username, listener);
  }

  flush(stream: LiveStream) {
    const listener = this.byStream.get(stream);
    if (listener) this.flushBatch(listener);
  }

  close(stream: LiveStream) {
    const listener = this.byStream.get(stream);
    if (!listener) return;
    this.byStream.delete(stream);
    this.byOwner.remove(stream.principal.username, listener);
  }

  private onTask(event: TaskEvent) {
    const listeners = this.byOwner.get(event.owner);
    if (!listeners) return;
    // Serialised once, whatever the number of listeners.
    const json = JSON.stringify(event.update);
    for (const listener of listeners) {
      if (listener.batch) this.queueUpdate(listener, listener.batch, json);
      else listener.stream.sendJson(json);
    }
  }

  /**
   * The writer publishes a whole commit in one turn, so one setImmediate gathers it into one message. No timer,
   * so no added latency.
   */
  private queueUpdate(listener: Listener, batch: NonNullable<Listener['batch']>, json: string) {
    batch.queued.push(json);
    if (batch.queued.length >= TASKS_BATCH_LIMIT) this.flushBatch(listener);
    else if (!batch.scheduled) {
      batch.scheduled = true;
      setImmediate(() => {
        batch.scheduled = false;
        this.flushBatch(listener);
      });
    }
  }

  private flushBatch(listener: Listener) {
    const batch = listener.batch;
    if (!batch || batch.queued.length === 0) return;
    const updates = batch.queued;
    batch.queued = [];
    if (!listener.stream.closed) listener.stream.sendJson(`{"updates":[${updates.join(',')}]}`);
  }
}
