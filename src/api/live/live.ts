import type { QueryClient } from '@tanstack/react-query';
import { jobKeys } from '@/api/jobs';
import { followEvent, jobChanged, type OutputSink } from '@/api/live/job-cache-routing';
import { parseJobsFollow, parseJobsListen, parseTasksListen } from '@/api/live/messages';
import { SocketClient, type StreamHandlers } from '@/api/live/socket';
import { subscribeToToken } from '@/api/session';
import type { Job } from '@/api/types';
import type { TaskUpdate } from '@contract/tasks';

/** A listen the server ended with anything but 401 (which signs the user out) is asked for again after this long. */
const RESUBSCRIBE_MS = 5_000;

type Listener<T> = (value: T) => void;

/**
 * The tab's live layer: one socket, and every stream on it. `start` opens the app-wide feeds (one `tasks.listen`,
 * one `jobs.listen`); `follow` adds a `jobs.follow` per open job page. Each message is checked at the boundary
 * (messages.ts), then a job event is folded into the react-query cache and handed to the in-tab listeners
 * (notifications, expiry warnings), and task updates to the task feed. Nothing else opens a stream, so each event
 * crosses the wire once however many views want it.
 */
export class LiveLayer {
  private readonly jobListeners = new Set<Listener<Job>>();
  private readonly taskListeners = new Set<Listener<TaskUpdate[]>>();
  private dropped = 0;

  constructor(readonly socket: SocketClient) {}

  /**
   * Opens the app-wide feeds into `queryClient`; returns the function that stops them. After a reconnect the jobs
   * cache is refetched once, to catch what happened while the socket was down.
   */
  start(queryClient: QueryClient): () => void {
    const stops = [
      this.keepListening('jobs.listen', {}, (payload) => {
        const job = parseJobsListen(payload);
        if (!job) return this.drop('jobs.listen');
        jobChanged(queryClient, job);
        for (const listener of this.jobListeners) listener(job);
      }),
      // Batched: the server's extension, one message per commit rather than per update (server/live/README.md).
      this.keepListening('tasks.listen', { batch: true }, (payload) => {
        const updates = parseTasksListen(payload);
        if (!updates) return this.drop('tasks.listen');
        if (updates.length === 0) return;
        for (const listener of this.taskListeners) listener(updates);
      }),
      this.socket.onOpen((reconnected) => {
        if (reconnected) void queryClient.invalidateQueries({ queryKey: jobKeys.all });
      }),
    ];
    return () => stops.forEach((stop) => stop());
  }

  /** `jobs.follow` for one job page: its updates into the cache, its output into `output`. Returns the stop function. */
  follow(queryClient: QueryClient, id: string, output?: OutputSink): () => void {
    return this.socket.subscribe('jobs.follow', { id }, {
      onMessage: (payload) => {
        const event = parseJobsFollow(payload);
        if (event) followEvent(queryClient, id, event, output);
        else this.drop('jobs.follow');
      },
    });
  }

  /** Every job change from the one `jobs.listen`, after it reached the cache. */
  onJobEvent(listener: Listener<Job>): () => void {
    this.jobListeners.add(listener);
    return () => this.jobListeners.delete(listener);
  }

  /** Task updates from the one `tasks.listen`, a commit's worth at a time. */
  onTaskUpdates(listener: Listener<TaskUpdate[]>): () => void {
    this.taskListeners.add(listener);
    return () => this.taskListeners.delete(listener);
  }

  /** The socket opened, its streams are subscribed again; `reconnected` when it had been open before. */
  onOpen(listener: Listener<boolean>): () => void {
    return this.socket.onOpen(listener);
  }

  /** How many messages failed their guard and were dropped. */
  get droppedMessages(): number {
    return this.dropped;
  }

  private drop(call: string): void {
    this.dropped += 1;
    console.warn(`live: dropped a ${call} message that does not have the contract's shape`);
  }

  private keepListening(call: string, payload: unknown, onMessage: StreamHandlers['onMessage']): () => void {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let unsubscribe = () => {};
    const subscribe = () => {
      unsubscribe = this.socket.subscribe(call, payload, {
        onMessage,
        onEnd: (status) => {
          if (status === 401 || stopped) return;
          timer = setTimeout(() => {
            timer = null;
            if (!stopped) subscribe();
          }, RESUBSCRIBE_MS);
        },
      });
    };
    subscribe();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      unsubscribe();
    };
  }
}

/** The app's one live layer, on the tab's one socket. */
export const live = new LiveLayer(new SocketClient());

// Offline, the socket is down at once; back online, it reconnects at once rather than at its back-off.
if (typeof window !== 'undefined') {
  window.addEventListener('offline', () => live.socket.networkLost());
  window.addEventListener('online', () => live.socket.reconnectNow());
}

// Signing out drops the socket; signing in again with another token starts clean.
subscribeToToken((token) => {
  if (token === null) live.socket.closeAll();
  else live.socket.reconnectNow();
});
