import { describe, expect, it } from 'vitest';
import type { Task, TaskUpdate } from '@/api/tasks';
import {
  appendBounded,
  applySnapshots,
  applyUpdates,
  emptyTasksState,
  removeTasks,
  taskOutcome,
  type MergeOptions,
  type TasksState,
} from '@/features/tasks/task-merge';

const ID = 'b06f51d2-88af-487c-bb4c-4cc156cf24fd';
const OTHER = '7f0c1f7e-2d1a-4a53-9a0e-0d5f3c2b9e11';
const opts: MergeOptions = { now: 1_000, capacity: 5 };

function task(partial: Partial<Task> = {}): Task {
  return {
    jobId: ID,
    owner: 'user',
    processor: '_ucloud',
    title: 'We are counting to 3',
    status: null,
    complete: false,
    startedAt: 100,
    modifiedAt: 100,
    progress: null,
    speeds: [],
    messages: [],
    seq: 0,
    ...partial,
  };
}

function update(seq: number | null, partial: Partial<TaskUpdate> = {}): TaskUpdate {
  return {
    jobId: ID,
    newTitle: null,
    speeds: [],
    progress: null,
    complete: false,
    messageToAppend: null,
    newStatus: null,
    seq,
    ...partial,
  };
}

const count = (seq: number) => update(seq, { messageToAppend: `Count is now ${seq}` });

function loaded(snapshot: Task = task()): TasksState {
  return applySnapshots(emptyTasksState, [snapshot], opts).state;
}

describe('applyUpdates: order', () => {
  it('applies seed 002 in order and reports the completion once', () => {
    let state = loaded();
    const first = applyUpdates(state, [count(1), count(2)], opts);
    state = first.state;
    expect(first.completed).toEqual([]);
    expect(state.tasks[ID]!.messages).toEqual(['Count is now 1', 'Count is now 2']);
    expect(state.running).toEqual([ID]);

    const done = applyUpdates(state, [count(3), update(4, { complete: true })], opts);
    expect(done.completed).toEqual([ID]);
    expect(done.refresh).toEqual([]);
    expect(done.state.tasks[ID]!).toMatchObject({ complete: true, seq: 4, title: 'We are counting to 3' });
    expect(done.state.tasks[ID]!.messages).toEqual(['Count is now 1', 'Count is now 2', 'Count is now 3']);
    expect(done.state.running).toEqual([]);
    expect(done.state.finished).toEqual([ID]);
  });

  it('replaces title and status, keeps the latest progress and speeds, and ignores nulls', () => {
    const speed = { title: 'Upload', speed: 12.5, unit: 'MB/s', asText: '12.5 MB/s' };
    let state = loaded();
    state = applyUpdates(state, [update(1, { newTitle: 'Copying', newStatus: 'Starting', progress: { title: 'Files', current: 1, maximum: 10 }, speeds: [speed] })], opts).state;
    state = applyUpdates(state, [update(2, { progress: { title: 'Files', current: 4, maximum: 10 }, speeds: null })], opts).state;
    expect(state.tasks[ID]).toMatchObject({
      title: 'Copying',
      status: 'Starting',
      progress: { title: 'Files', current: 4, maximum: 10 },
      speeds: [speed],
    });
  });

  it('keeps the last speeds when markAsComplete arrives with speeds: []', () => {
    const speed = { title: 'Upload', speed: 1, unit: 'B/s', asText: '1 B/s' };
    let state = loaded();
    state = applyUpdates(state, [update(1, { speeds: [speed] })], opts).state;
    state = applyUpdates(state, [update(2, { complete: true, speeds: [] })], opts).state;
    expect(state.tasks[ID]!.speeds).toEqual([speed]);
  });

  it('leaves other tasks untouched (same object) so they do not re-render', () => {
    let state = applySnapshots(emptyTasksState, [task(), task({ jobId: OTHER, startedAt: 50 })], opts).state;
    const other = state.tasks[OTHER];
    state = applyUpdates(state, [count(1)], opts).state;
    expect(state.tasks[OTHER]).toBe(other);
  });

  it('lists running tasks newest first and keeps the same array while nothing moved', () => {
    let state = applySnapshots(emptyTasksState, [task({ startedAt: 50 }), task({ jobId: OTHER, startedAt: 90 })], opts).state;
    expect(state.running).toEqual([OTHER, ID]);
    const running = state.running;
    state = applyUpdates(state, [count(1)], opts).state;
    expect(state.running).toBe(running);
  });
});

describe('applyUpdates: duplicates', () => {
  it('drops an update whose seq was already applied', () => {
    let state = loaded();
    state = applyUpdates(state, [count(1), count(2)], opts).state;
    const before = state.tasks[ID];
    const again = applyUpdates(state, [count(1), count(2)], opts);
    expect(again.state.tasks[ID]).toBe(before);
    expect(again.refresh).toEqual([]);
  });

  it('drops updates the snapshot already contains', () => {
    const state = loaded(task({ seq: 2, messages: ['Count is now 1', 'Count is now 2'] }));
    const result = applyUpdates(state, [count(2), count(3)], opts);
    expect(result.state.tasks[ID]!.messages).toEqual(['Count is now 1', 'Count is now 2', 'Count is now 3']);
  });

  it('reports a completion only once even if it is delivered twice', () => {
    let state = loaded();
    const first = applyUpdates(state, [update(1, { complete: true })], opts);
    state = first.state;
    expect(first.completed).toEqual([ID]);
    expect(applyUpdates(state, [update(1, { complete: true })], opts).completed).toEqual([]);
  });
});

describe('applyUpdates: gaps', () => {
  it('holds an update after a gap, asks for a refresh, and the snapshot closes the gap without duplicates', () => {
    let state = loaded();
    state = applyUpdates(state, [count(1)], opts).state;
    const gap = applyUpdates(state, [count(3), count(4)], opts);
    expect(gap.refresh).toEqual([ID]);
    expect(gap.state.tasks[ID]!.messages).toEqual(['Count is now 1']);
    expect(gap.state.pending[ID]!.map((u) => u.seq)).toEqual([3, 4]);

    // The refresh was read after 3 was written but before 4.
    const fixed = applySnapshots(gap.state, [task({ seq: 3, messages: ['Count is now 1', 'Count is now 2', 'Count is now 3'] })], opts);
    expect(fixed.refresh).toEqual([]);
    expect(fixed.state.pending[ID]).toBeUndefined();
    expect(fixed.state.tasks[ID]!.messages).toEqual(['Count is now 1', 'Count is now 2', 'Count is now 3', 'Count is now 4']);
    expect(fixed.state.tasks[ID]!.seq).toBe(4);
  });

  it('fills a gap from held updates when the missing one arrives late', () => {
    let state = loaded();
    state = applyUpdates(state, [count(2)], opts).state;
    const result = applyUpdates(state, [count(1)], opts);
    expect(result.state.tasks[ID]!.messages).toEqual(['Count is now 1', 'Count is now 2']);
    expect(result.state.pending[ID]).toBeUndefined();
  });

  it('asks again when a refresh is still behind the held updates', () => {
    let state = loaded();
    state = applyUpdates(state, [count(3)], opts).state;
    const stillBehind = applySnapshots(state, [task({ seq: 1, messages: ['Count is now 1'] })], opts);
    expect(stillBehind.refresh).toEqual([ID]);
    expect(stillBehind.state.tasks[ID]!.seq).toBe(1);
  });

  it('does not show a task from updates alone: it waits for the snapshot (the stream has no title)', () => {
    const result = applyUpdates(emptyTasksState, [count(1), count(2)], opts);
    expect(result.refresh).toEqual([ID]);
    expect(result.state.tasks[ID]).toBeUndefined();
    expect(result.state.running).toEqual([]);

    // The snapshot was read after update 1 only.
    const shown = applySnapshots(result.state, [task({ seq: 1, messages: ['Count is now 1'] })], opts);
    expect(shown.state.tasks[ID]!.messages).toEqual(['Count is now 1', 'Count is now 2']);
    expect(shown.state.running).toEqual([ID]);
  });

  it('reports the completion of a task first heard of live, even if its snapshot is already complete', () => {
    const heard = applyUpdates(emptyTasksState, [count(1)], opts).state;
    const result = applySnapshots(heard, [task({ seq: 4, complete: true, messages: ['Count is now 1', 'Count is now 2', 'Count is now 3'] })], opts);
    expect(result.completed).toEqual([ID]);
  });

  it('does not report old finished tasks of the initial list as news', () => {
    const result = applySnapshots(emptyTasksState, [task({ complete: true, seq: 4 })], opts);
    expect(result.completed).toEqual([]);
    expect(result.state.finished).toEqual([ID]);
  });

  it('ignores a snapshot older than what was applied', () => {
    let state = loaded();
    state = applyUpdates(state, [count(1), count(2)], opts).state;
    const view = state.tasks[ID];
    const result = applySnapshots(state, [task({ seq: 1, messages: ['Count is now 1'] })], opts);
    expect(result.state.tasks[ID]).toBe(view);
  });

  it('reports a completion found by a reconcile after a reconnect', () => {
    let state = loaded();
    state = applyUpdates(state, [count(1)], opts).state;
    const result = applySnapshots(state, [task({ seq: 5, complete: true, messages: ['Count is now 1', 'Count is now 2'] })], opts);
    expect(result.completed).toEqual([ID]);
    expect(result.state.finished).toEqual([ID]);
  });
});

describe('bounds', () => {
  it('keeps only the latest messages per task, with keys that keep counting', () => {
    let state = loaded();
    const updates = Array.from({ length: 12 }, (_, i) => count(i + 1));
    state = applyUpdates(state, updates, opts).state;
    const view = state.tasks[ID]!;
    expect(view.messages).toEqual(['Count is now 8', 'Count is now 9', 'Count is now 10', 'Count is now 11', 'Count is now 12']);
    expect(view.dropped).toBe(7);
  });

  it('cuts a long snapshot log to the capacity', () => {
    const messages = Array.from({ length: 8 }, (_, i) => `m${i}`);
    const view = loaded(task({ messages })).tasks[ID]!;
    expect(view.messages).toEqual(['m3', 'm4', 'm5', 'm6', 'm7']);
  });

  it('appendBounded keeps at most capacity lines whatever is added', () => {
    expect(appendBounded(['a', 'b'], 0, ['c'], 3)).toEqual({ messages: ['a', 'b', 'c'], dropped: 0 });
    expect(appendBounded(['a', 'b', 'c'], 0, ['d'], 3)).toEqual({ messages: ['b', 'c', 'd'], dropped: 1 });
    expect(appendBounded(['a'], 4, ['b', 'c', 'd', 'e'], 3)).toEqual({ messages: ['c', 'd', 'e'], dropped: 6 });
  });

  it('bounds the updates held for a task that has no snapshot yet', () => {
    const updates = Array.from({ length: 50 }, (_, i) => count(i + 1));
    const state = applyUpdates(emptyTasksState, updates, { ...opts, maxPending: 10 }).state;
    expect(state.pending[ID]!.map((u) => u.seq)).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50]);
  });
});

describe('removeTasks and taskOutcome', () => {
  it('removes tasks and their held updates', () => {
    let state = applySnapshots(emptyTasksState, [task({ complete: true }), task({ jobId: OTHER })], opts).state;
    state = removeTasks(state, [ID]);
    expect(Object.keys(state.tasks)).toEqual([OTHER]);
    expect(state.finished).toEqual([]);
  });

  it('reads failure from the final status', () => {
    expect(taskOutcome({ complete: false, status: 'Failed?' })).toBe('running');
    expect(taskOutcome({ complete: true, status: null })).toBe('complete');
    expect(taskOutcome({ complete: true, status: 'Done, 3 files copied' })).toBe('complete');
    expect(taskOutcome({ complete: true, status: 'Failed: disk full' })).toBe('failed');
    expect(taskOutcome({ complete: true, status: 'Error while copying' })).toBe('failed');
  });
});
