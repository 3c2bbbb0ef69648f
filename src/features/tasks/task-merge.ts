import type { Progress, Speed, Task, TaskUpdate } from '@/api/tasks';
import { recordProgress, type ProgressSample } from '@/features/tasks/eta';

/*
 * The pure fold of task snapshots (REST) and updates (tasks.listen) into the
 * tray's state, ordered by each task's `seq` (contract §6 extension). Like
 * Excalidraw's reconcile-by-version, it never mutates its input and returns the
 * same objects for whatever did not change, so only changed tasks re-render.
 *
 * Rules:
 * - An update with seq <= the task's seq is a duplicate and is dropped.
 * - seq + 1 is applied; anything further ahead waits in `pending` and the task
 *   is reported for a REST refresh (a gap means something was missed).
 * - A task we have no snapshot of is not shown from updates alone (the stream
 *   never carries the title): its updates wait in `pending` until the REST
 *   snapshot lands, and then only those past the snapshot's seq are applied.
 * - A snapshot older than what we hold is ignored, a newer one replaces.
 */

export interface TaskView {
  jobId: string;
  owner: string;
  processor: string;
  title: string | null;
  status: string | null;
  complete: boolean;
  startedAt: number;
  modifiedAt: number;
  progress: Progress | null;
  speeds: readonly Speed[];
  /** The latest `capacity` messages, oldest first. */
  messages: readonly string[];
  /** How many older messages fell off the front: `dropped + i` is a stable key for `messages[i]`. */
  dropped: number;
  /** Last applied seq; null when the server sends none (then updates apply in arrival order). */
  seq: number | null;
  samples: readonly ProgressSample[];
  /** The latest SPEED_SAMPLES speed readings, oldest first, for the detail view's chart. */
  speedHistory: readonly SpeedSample[];
}

/** One speed reading as it arrived: when, and each speed it reported. */
export interface SpeedSample {
  at: number;
  speeds: readonly Speed[];
}

/** Speed readings kept per task (UCloud's detailed task view charted the last 50). */
export const SPEED_SAMPLES = 50;

function recordSpeeds(history: readonly SpeedSample[], speeds: readonly Speed[], at: number): readonly SpeedSample[] {
  if (speeds.length === 0) return history;
  const next = [...history, { at, speeds }];
  return next.length > SPEED_SAMPLES ? next.slice(next.length - SPEED_SAMPLES) : next;
}

export interface TasksState {
  tasks: Readonly<Record<string, TaskView>>;
  /** Updates that cannot be applied yet (no snapshot, or after a gap), by task id. */
  pending: Readonly<Record<string, readonly TaskUpdate[]>>;
  /** Running tasks, newest first. Same array while membership and order are unchanged. */
  running: readonly string[];
  /** Finished tasks, most recently finished first. */
  finished: readonly string[];
}

export interface MergeResult {
  state: TasksState;
  /** Tasks whose REST snapshot is needed: unknown, or with a gap in seq. */
  refresh: string[];
  /** Tasks that became complete in this step. */
  completed: string[];
}

export interface MergeOptions {
  now: number;
  /** Messages kept per task. */
  capacity: number;
  /** Updates held per task while waiting for a snapshot; beyond it the oldest are dropped (the snapshot covers them). */
  maxPending?: number;
}

export const emptyTasksState: TasksState = { tasks: {}, pending: {}, running: [], finished: [] };

/** Appends to a bounded log: the oldest lines fall off the front once `capacity` is reached. */
export function appendBounded(
  messages: readonly string[],
  dropped: number,
  added: readonly string[],
  capacity: number,
): { messages: readonly string[]; dropped: number } {
  if (added.length === 0) return { messages, dropped };
  const total = messages.length + added.length;
  const overflow = Math.max(0, total - capacity);
  if (overflow === 0) return { messages: [...messages, ...added], dropped };
  const kept = overflow >= messages.length ? [] : messages.slice(overflow);
  const fresh = added.length > capacity ? added.slice(added.length - capacity) : added;
  return { messages: [...kept, ...fresh], dropped: dropped + overflow };
}

function fromSnapshot(task: Task, prev: TaskView | undefined, options: MergeOptions): TaskView {
  const all = task.messages ?? [];
  const messages = all.length > options.capacity ? all.slice(all.length - options.capacity) : all;
  const progress = task.progress ?? null;
  let samples: readonly ProgressSample[] = prev?.samples ?? [];
  if (progress) {
    const maximumChanged = prev?.progress?.maximum !== progress.maximum;
    samples = recordProgress(samples, progress.current, maximumChanged, options.now);
  } else samples = [];
  return {
    jobId: task.jobId,
    owner: task.owner,
    processor: task.processor,
    title: task.title ?? null,
    status: task.status ?? null,
    complete: task.complete,
    startedAt: task.startedAt,
    modifiedAt: task.modifiedAt,
    progress,
    speeds: task.speeds ?? [],
    messages,
    // Keys restart with a new snapshot; React re-renders that log once.
    dropped: (prev?.dropped ?? 0) + (prev?.messages.length ?? 0),
    seq: task.seq ?? null,
    samples,
    // A snapshot's speeds are its latest reading: a new point only if they differ from the last one held.
    speedHistory:
      task.speeds?.length && JSON.stringify(prev?.speedHistory.at(-1)?.speeds) !== JSON.stringify(task.speeds)
        ? recordSpeeds(prev?.speedHistory ?? [], task.speeds, options.now)
        : (prev?.speedHistory ?? []),
  };
}

/** Applies one update, assumed to be the next in order. Returns a new view (never mutates). */
function applyOne(view: TaskView, u: TaskUpdate, options: MergeOptions): TaskView {
  // Updates carry no timestamp; the time it arrived is the best we know (it only orders the finished list).
  const next: TaskView = { ...view, modifiedAt: Math.max(view.modifiedAt, options.now) };
  if (u.seq != null) next.seq = u.seq;
  if (u.newTitle != null) next.title = u.newTitle;
  if (u.newStatus != null) next.status = u.newStatus;
  if (u.progress != null) {
    const maximumChanged = view.progress?.maximum !== u.progress.maximum;
    next.progress = u.progress;
    next.samples = recordProgress(view.samples, u.progress.current, maximumChanged, options.now);
  }
  // markAsComplete reaches listeners with `speeds: []` (seed 002): that is no new reading, so keep the last one.
  if (u.speeds != null && !(u.complete === true && u.speeds.length === 0)) {
    next.speeds = u.speeds;
    next.speedHistory = recordSpeeds(view.speedHistory, u.speeds, options.now);
  }
  if (u.messageToAppend != null) {
    const appended = appendBounded(view.messages, view.dropped, [u.messageToAppend], options.capacity);
    next.messages = appended.messages;
    next.dropped = appended.dropped;
  }
  if (u.complete === true) next.complete = true;
  return next;
}

/** Applies waiting updates that now follow on; returns what still waits (a gap, or nothing). */
function drain(
  view: TaskView,
  waiting: readonly TaskUpdate[],
  options: MergeOptions,
): { view: TaskView; waiting: TaskUpdate[] } {
  if (waiting.length === 0) return { view, waiting: [] };
  if (view.seq === null) {
    // No ordering information: apply in arrival order.
    let v = view;
    for (const u of waiting) v = applyOne(v, u, options);
    return { view: v, waiting: [] };
  }
  const sorted = [...waiting].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  let v = view;
  const rest: TaskUpdate[] = [];
  for (const u of sorted) {
    if (u.seq == null) continue;
    if (u.seq <= (v.seq ?? -1)) continue;
    if (rest.length === 0 && u.seq === (v.seq ?? 0) + 1) v = applyOne(v, u, options);
    else if (!rest.some((r) => r.seq === u.seq)) rest.push(u);
  }
  return { view: v, waiting: rest };
}

function byRunningOrder(a: TaskView, b: TaskView): number {
  return b.startedAt - a.startedAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

function byFinishedOrder(a: TaskView, b: TaskView): number {
  return b.modifiedAt - a.modifiedAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/** Recomputes the two lists, keeping the old arrays when nothing moved. */
function withOrder(prev: TasksState, tasks: Record<string, TaskView>, pending: Record<string, readonly TaskUpdate[]>): TasksState {
  const all = Object.values(tasks);
  const running = all.filter((t) => !t.complete).sort(byRunningOrder).map((t) => t.jobId);
  const finished = all.filter((t) => t.complete).sort(byFinishedOrder).map((t) => t.jobId);
  return {
    tasks,
    pending,
    running: sameIds(running, prev.running) ? prev.running : running,
    finished: sameIds(finished, prev.finished) ? prev.finished : finished,
  };
}

function membershipChanged(prev: TaskView | undefined, next: TaskView): boolean {
  return !prev || prev.complete !== next.complete;
}

/** Folds a batch of live updates (in arrival order) into the state. */
export function applyUpdates(state: TasksState, updates: readonly TaskUpdate[], options: MergeOptions): MergeResult {
  if (updates.length === 0) return { state, refresh: [], completed: [] };
  const maxPending = options.maxPending ?? 10_000;
  const tasks: Record<string, TaskView> = { ...state.tasks };
  const pending: Record<string, readonly TaskUpdate[]> = { ...state.pending };
  const refresh = new Set<string>();
  const completed: string[] = [];
  let reorder = false;

  for (const u of updates) {
    const id = u.jobId;
    const view = tasks[id];
    const waiting = pending[id] ?? [];
    if (!view) {
      // No snapshot yet: hold the update for when it lands.
      const held = u.seq != null && waiting.some((w) => w.seq === u.seq) ? waiting : [...waiting, u];
      pending[id] = held.length > maxPending ? held.slice(held.length - maxPending) : held;
      refresh.add(id);
      continue;
    }
    let next: TaskView;
    if (u.seq == null || view.seq === null) {
      next = applyOne(view, u, options);
    } else if (u.seq <= view.seq) {
      continue; // a duplicate
    } else if (u.seq === view.seq + 1 && waiting.length === 0) {
      next = applyOne(view, u, options);
    } else {
      const drained = drain(view, [...waiting, u], options);
      next = drained.view;
      if (drained.waiting.length > 0) {
        pending[id] = drained.waiting.slice(-maxPending);
        refresh.add(id);
      } else delete pending[id];
    }
    if (next === view) continue;
    if (!view.complete && next.complete) completed.push(id);
    if (membershipChanged(view, next)) reorder = true;
    tasks[id] = next;
  }

  const next = reorder ? withOrder(state, tasks, pending) : { ...state, tasks, pending };
  return { state: next, refresh: [...refresh], completed };
}

/**
 * Folds REST snapshots in (the initial list, a reconcile after reconnect, or a
 * refresh of one task). Updates already waiting for a task are applied on top.
 */
export function applySnapshots(state: TasksState, snapshots: readonly Task[], options: MergeOptions): MergeResult {
  if (snapshots.length === 0) return { state, refresh: [], completed: [] };
  const tasks: Record<string, TaskView> = { ...state.tasks };
  const pending: Record<string, readonly TaskUpdate[]> = { ...state.pending };
  const refresh: string[] = [];
  const completed: string[] = [];

  for (const snapshot of snapshots) {
    const id = snapshot.jobId;
    const prev = tasks[id];
    const waiting = pending[id] ?? [];
    // A snapshot read before updates we already applied would step back in time.
    const stale = prev && prev.seq !== null && snapshot.seq != null && snapshot.seq < prev.seq;
    const base = stale ? prev : fromSnapshot(snapshot, prev, options);
    const drained = drain(base, waiting, options);
    if (drained.waiting.length > 0) {
      pending[id] = drained.waiting;
      refresh.push(id);
    } else delete pending[id];
    const next = drained.view;
    // Completion is news only if we knew the task running, or heard of it live: not for old tasks in a list.
    const heardLive = prev ? !prev.complete : waiting.length > 0;
    if (heardLive && next.complete) completed.push(id);
    tasks[id] = next;
  }
  return { state: withOrder(state, tasks, pending), refresh, completed };
}

/** Drops tasks (cleared by the user, or gone from the server). */
export function removeTasks(state: TasksState, ids: readonly string[]): TasksState {
  if (!ids.some((id) => id in state.tasks || id in state.pending)) return state;
  const tasks: Record<string, TaskView> = { ...state.tasks };
  const pending: Record<string, readonly TaskUpdate[]> = { ...state.pending };
  for (const id of ids) {
    delete tasks[id];
    delete pending[id];
  }
  return withOrder(state, tasks, pending);
}

export type TaskOutcome = 'running' | 'complete' | 'failed';

/**
 * The contract has no failure flag: a processor reports failure in the status
 * it leaves on the task ("Failed: …", "Error …"), which is what UCloud shows too.
 */
export function taskOutcome(task: Pick<TaskView, 'complete' | 'status'>): TaskOutcome {
  if (!task.complete) return 'running';
  return task.status && /\b(fail(ed|ure)?|error)\b/i.test(task.status) ? 'failed' : 'complete';
}
