import { act, render, screen, waitFor } from '@testing-library/react';
import { Profiler } from 'react';
import { beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import { live } from '@/api/live/live';
import { signedIn } from '@/api/session';
import { MOCK_TOKEN } from '@/mocks/fixtures';
import { createMockTask, hasTaskListener, postMockStatus, resetMockTasks } from '@/mocks/tasks';
import { TaskFeed } from '@/features/tasks/task-feed';
import { tasksReset, useTask } from '@/features/tasks/task-store';

beforeEach(() => {
  resetMockTasks();
  signedIn(MOCK_TOKEN);
  // The live layer opens tasks.listen; the feed only listens to it.
  onTestFinished(live.start(new QueryClient()));
});

function Probe({ id }: { id: string }) {
  const task = useTask(id);
  return <p>{task ? `${task.messages.length} messages` : 'not loaded'}</p>;
}

describe('TaskFeed', () => {
  it('applies a burst of updates at most once per animation frame', async () => {
    let frames = 0;
    const nativeRaf = window.requestAnimationFrame.bind(window);
    vi.spyOn(window, 'requestAnimationFrame').mockImplementation((cb) =>
      nativeRaf((t) => {
        frames += 1;
        cb(t);
      }),
    );
    const task = createMockTask({ title: 'Burst' });
    let renders = 0;
    render(
      <Profiler id="probe" onRender={() => (renders += 1)}>
        <Probe id={task.jobId} />
      </Profiler>,
    );
    const feed = new TaskFeed();
    feed.start();
    onTestFinished(() => {
      feed.stop();
      tasksReset();
    });
    await screen.findByText('0 messages');
    await waitFor(() => expect(hasTaskListener()).toBe(true));

    const rendersBefore = renders;
    const framesBefore = frames;
    act(() => {
      for (let i = 1; i <= 500; i++) postMockStatus({ jobId: task.jobId, messageToAppend: `line ${i}` });
    });
    await screen.findByText('500 messages');
    const commits = renders - rendersBefore;
    expect(commits).toBeGreaterThan(0);
    expect(commits).toBeLessThanOrEqual(frames - framesBefore);
    expect(commits).toBeLessThan(50);
  });

  it('reports each completion once, with the task as it ended', async () => {
    const task = createMockTask({ title: 'Done soon' });
    const completed: string[] = [];
    const feed = new TaskFeed({ onCompleted: (t) => completed.push(`${t.title}: ${t.messages.join(', ')}`) });
    feed.start();
    onTestFinished(() => {
      feed.stop();
      tasksReset();
    });
    render(<Probe id={task.jobId} />);
    await screen.findByText('0 messages');
    await waitFor(() => expect(hasTaskListener()).toBe(true));
    act(() => {
      postMockStatus({ jobId: task.jobId, messageToAppend: 'last words' });
      postMockStatus({ jobId: task.jobId, complete: true });
    });
    await waitFor(() => expect(completed).toEqual(['Done soon: last words']));
  });
});
