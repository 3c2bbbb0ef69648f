import { useEffect, useRef } from 'react';
import { isApiError } from '@/api/http';
import { live } from '@/api/live/live';
import { getLiveStatus } from '@/api/live/status';
import { listTasks, retrieveTask, type TaskUpdate } from '@/api/tasks';
import type { MergeResult, TaskView } from '@/features/tasks/task-merge';
import {
  getKnownTaskIds,
  getTask,
  hasPendingUpdates,
  snapshotsLoaded,
  tasksReset,
  tasksVanished,
  updatesArrived,
} from '@/features/tasks/task-store';

/** Tasks read on (re)connect: the newest page. Older running tasks show up when they next post. */
export const TASK_LIST_PAGE_SIZE = 100;
/** The hub answers tasks.listen with no acknowledgement; a second list this long after opening closes that window. */
const SETTLE_MS = 1_000;
/** rAF does not run in a hidden tab; this timer does (throttled), so completions still reach notifications. */
const HIDDEN_FLUSH_MS = 250;
const MAX_REFRESH_ATTEMPTS = 5;

export interface TaskFeedOptions {
  onCompleted?: (task: TaskView) => void;
  now?: () => number;
}

/**
 * Connects the live layer's `tasks.listen` to the task store: buffers updates and applies them
 * once per animation frame, lists tasks over REST on start and after every
 * (re)connect, and refreshes single tasks over REST when the merge reports a
 * gap or an unknown task. Requests for one task never overlap. It opens no stream of its own.
 */
export class TaskFeed {
  private buffer: TaskUpdate[] = [];
  private frame: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly inflight = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private readonly deferred = new Set<string>();
  private listing = 0;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  private readonly now: () => number;

  constructor(private readonly options: TaskFeedOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.subscribe();
    void this.reconcile();
    // The socket may have opened just before this feed: its tasks.listen may not be live yet when that list is read.
    if (getLiveStatus() === 'open') this.later(SETTLE_MS, () => void this.reconcile());
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.cancelFlush();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.buffer = [];
  }

  /** The tasks socket is open: after a reconnect, reconcile now; in any case once more when the subscription has settled. */
  socketOpened(reconnected: boolean): void {
    if (reconnected) void this.reconcile();
    this.later(SETTLE_MS, () => void this.reconcile());
  }

  /** Applies whatever is buffered right away (tests, and the frame callback). */
  flush(): void {
    this.cancelFlush();
    if (this.stopped || this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.handle(updatesArrived(batch, this.now()));
  }

  private subscribe(): void {
    const offUpdates = live.onTaskUpdates((updates) => {
      for (const update of updates) this.enqueue(update);
    });
    const offOpen = live.onOpen((reconnected) => this.socketOpened(reconnected));
    this.unsubscribe = () => {
      offUpdates();
      offOpen();
    };
  }

  private enqueue(update: TaskUpdate): void {
    this.buffer.push(update);
    if (this.frame !== null || this.timer !== null) return;
    this.frame = requestAnimationFrame(() => this.flush());
    this.timer = setTimeout(() => this.flush(), HIDDEN_FLUSH_MS);
  }

  private cancelFlush(): void {
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    if (this.timer !== null) clearTimeout(this.timer);
    this.frame = null;
    this.timer = null;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private handle(result: MergeResult): void {
    for (const id of result.completed) {
      const task = getTask(id);
      if (task) this.options.onCompleted?.(task);
    }
    for (const id of result.refresh) this.refresh(id);
  }

  private async reconcile(): Promise<void> {
    this.listing += 1;
    try {
      const page = await listTasks(0, TASK_LIST_PAGE_SIZE);
      if (this.stopped) return;
      this.flush();
      this.handle(snapshotsLoaded(page.items, this.now()));
      // Running tasks that fell off the first page still need their state.
      const listed = new Set(page.items.map((t) => t.jobId));
      for (const id of getKnownTaskIds()) if (!listed.has(id) && !getTask(id)?.complete) this.refresh(id);
    } catch {
      // The socket's reconnect or the next update will bring another chance.
    } finally {
      this.listing -= 1;
      if (this.listing === 0 && !this.stopped) {
        const ids = [...this.deferred];
        this.deferred.clear();
        // The list usually settled them; ask only for those still waiting.
        for (const id of ids) if (hasPendingUpdates(id)) this.refresh(id);
      }
    }
  }

  private refresh(id: string): void {
    if (this.stopped) return;
    // A list in flight will bring this task too (or show that it is on no first page).
    if (this.listing > 0) {
      this.deferred.add(id);
      return;
    }
    // Updates that arrive meanwhile wait in the store and are applied on top of the answer.
    if (this.inflight.has(id)) return;
    void this.retrieve(id);
  }

  private async retrieve(id: string): Promise<void> {
    this.inflight.add(id);
    const attempt = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, attempt);
    let retry = false;
    try {
      const task = await retrieveTask(id);
      if (this.stopped) return;
      this.flush();
      const result = snapshotsLoaded([task], this.now());
      const stillBehind = result.refresh.includes(id);
      if (!stillBehind) this.attempts.delete(id);
      this.handle({ ...result, refresh: result.refresh.filter((r) => r !== id) });
      retry = stillBehind;
    } catch (error) {
      if (isApiError(error) && error.status === 404) {
        this.attempts.delete(id);
        tasksVanished([id]);
      } else retry = true;
    } finally {
      this.inflight.delete(id);
    }
    if (this.stopped || !retry) return;
    if (attempt < MAX_REFRESH_ATTEMPTS) this.later(200 * 2 ** attempt, () => this.refresh(id));
    else this.attempts.delete(id);
  }
}

/** Runs the task feed while the tray is mounted; the live layer's socket tells it of every (re)open. */
export function useTaskFeed(onCompleted?: (task: TaskView) => void): void {
  const callback = useRef(onCompleted);
  useEffect(() => {
    callback.current = onCompleted;
  }, [onCompleted]);
  useEffect(() => {
    const instance = new TaskFeed({ onCompleted: (task) => callback.current?.(task) });
    instance.start();
    return () => {
      instance.stop();
      tasksReset();
    };
  }, []);
}
