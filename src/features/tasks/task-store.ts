import { create } from 'zustand';
import { TASK_MESSAGE_LIMIT, type Task, type TaskUpdate } from '@/api/tasks';
import {
  applySnapshots,
  applyUpdates,
  emptyTasksState,
  removeTasks,
  type MergeResult,
  type TasksState,
  type TaskView,
} from '@/features/tasks/task-merge';

/*
 * Live task state. It is server state, but it is folded by seq at up to
 * thousands of updates a second and applied once per animation frame, which is
 * what the pure merge and this small store are for; REST reads feed the same
 * merge. Only selector hooks and event-named actions are exported.
 */

const useTaskStore = create<TasksState>(() => emptyTasksState);

export const useTask = (id: string): TaskView | undefined => useTaskStore((s) => s.tasks[id]);
export const useRunningTaskIds = (): readonly string[] => useTaskStore((s) => s.running);
export const useFinishedTaskIds = (): readonly string[] => useTaskStore((s) => s.finished);
export const useRunningTaskCount = (): number => useTaskStore((s) => s.running.length);

export function getTask(id: string): TaskView | undefined {
  return useTaskStore.getState().tasks[id];
}

export function hasPendingUpdates(id: string): boolean {
  return id in useTaskStore.getState().pending;
}

export function getKnownTaskIds(): string[] {
  return Object.keys(useTaskStore.getState().tasks);
}

// Cleared tasks stay cleared across reloads, although the server still lists them for 7 days.
const CLEARED_KEY = 'jobdeck.tasks.cleared';
const CLEARED_LIMIT = 1000;

function readCleared(): Set<string> {
  try {
    const parsed: unknown = JSON.parse(window.localStorage.getItem(CLEARED_KEY) ?? '[]');
    return new Set(Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string') : []);
  } catch {
    return new Set();
  }
}

function writeCleared(ids: Set<string>): void {
  try {
    window.localStorage.setItem(CLEARED_KEY, JSON.stringify([...ids].slice(-CLEARED_LIMIT)));
  } catch {
    // Without storage, cleared tasks come back on the next reload; nothing else breaks.
  }
}

const options = (now: number) => ({ now, capacity: TASK_MESSAGE_LIMIT });

function commit(result: MergeResult): MergeResult {
  if (result.state !== useTaskStore.getState()) useTaskStore.setState(result.state, true);
  return result;
}

/** A batch of `tasks.listen` updates, in arrival order. */
export function updatesArrived(updates: readonly TaskUpdate[], now: number): MergeResult {
  return commit(applyUpdates(useTaskStore.getState(), updates, options(now)));
}

/** REST snapshots: the list after (re)connecting, or one task's refresh. */
export function snapshotsLoaded(tasks: readonly Task[], now: number): MergeResult {
  const cleared = readCleared();
  const shown = cleared.size === 0 ? tasks : tasks.filter((t) => !(t.complete && cleared.has(t.jobId)));
  return commit(applySnapshots(useTaskStore.getState(), shown, options(now)));
}

/** The server no longer knows these tasks (retention ended, or 404). */
export function tasksVanished(ids: readonly string[]): void {
  const state = useTaskStore.getState();
  const next = removeTasks(state, ids);
  if (next !== state) useTaskStore.setState(next, true);
}

/** The user cleared the finished tasks from the tray. */
export function finishedTasksCleared(): void {
  const state = useTaskStore.getState();
  if (state.finished.length === 0) return;
  const cleared = readCleared();
  for (const id of state.finished) cleared.add(id);
  writeCleared(cleared);
  useTaskStore.setState(removeTasks(state, state.finished), true);
}

/** Signed out, or the tray unmounted: nothing of this session's tasks stays in memory. */
export function tasksReset(): void {
  useTaskStore.setState(emptyTasksState, true);
}

interface TrayState {
  open: boolean;
}

const useTrayStore = create<TrayState>(() => ({ open: false }));

export const useTrayOpen = (): boolean => useTrayStore((s) => s.open);

export function trayToggled(open: boolean): void {
  useTrayStore.setState({ open });
}
