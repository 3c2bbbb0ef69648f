import { Popover, PopoverDisclosure, PopoverHeading, PopoverProvider } from '@ariakit/react';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { createViewWatcher, ViewWatcherContext, type ViewWatcher } from '@/features/tasks/in-view';
import { useSearchParams } from 'react-router-dom';
import { TASK_DETAIL_PARAM } from '@/api/tasks';
import { useTaskFeed } from '@/features/tasks/task-feed';
import { TaskCard, taskTitle } from '@/features/tasks/task-card';
import { TaskDetailDialog } from '@/features/tasks/task-detail-dialog';
import { taskOutcome, type TaskView } from '@/features/tasks/task-merge';
import {
  finishedTasksCleared,
  trayToggled,
  useFinishedTaskIds,
  useRunningTaskCount,
  useRunningTaskIds,
  useTrayOpen,
} from '@/features/tasks/task-store';
import '@/features/tasks/tasks.css';

/** What the tray tells the app when a task finishes (the app passes it on to notifications). */
export interface FinishedTask {
  jobId: string;
  title: string;
  outcome: 'complete' | 'failed';
  status: string | null;
}

function TrayIcon({ busy }: { busy: boolean }) {
  if (busy) {
    return (
      <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" className="tray-icon tray-icon--busy">
        <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" strokeOpacity="0.25" strokeWidth="2.5" />
        <path d="M12 3a9 9 0 0 1 9 9" fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinecap="round" />
      </svg>
    );
  }
  // Idle: a list with ticks.
  return (
    <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" className="tray-icon" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      <path d="M3 6l1.5 1.5L7 5M3 12l1.5 1.5L7 11M3 18l1.5 1.5L7 17M11 6h10M11 12h10M11 18h10" />
    </svg>
  );
}

function trayLabel(running: number): string {
  if (running === 0) return 'Tasks, none running';
  return running === 1 ? 'Tasks, 1 running' : `Tasks, ${running} running`;
}

type OpenTask = (id: string, opener: HTMLElement) => void;

function TaskList({ ids, label, onOpen }: { ids: readonly string[]; label: string; onOpen: OpenTask }) {
  return (
    <ul className="task-list" aria-label={label}>
      {ids.map((id) => (
        <TaskCard key={id} id={id} onOpen={onOpen} />
      ))}
    </ul>
  );
}

function TrayContent({ onOpen }: { onOpen: OpenTask }) {
  const running = useRunningTaskIds();
  const finished = useFinishedTaskIds();
  if (running.length === 0 && finished.length === 0) {
    return <p className="top-popover__empty">No tasks yet. Long-running work reports its progress here.</p>;
  }
  return (
    <>
        {running.length > 0 ? (
          <section className="tray-section">
            <h3 className="tray-section__title">Running ({running.length})</h3>
            <TaskList ids={running} label="Running tasks" onOpen={onOpen} />
          </section>
        ) : null}
        {finished.length > 0 ? (
          <section className="tray-section">
            <div className="tray-section__head">
              <h3 className="tray-section__title">Finished ({finished.length})</h3>
              <button type="button" className="button button--ghost button--small" onClick={finishedTasksCleared}>
                Clear finished
              </button>
            </div>
            <TaskList ids={finished} label="Finished tasks" onOpen={onOpen} />
          </section>
        ) : null}
    </>
  );
}

/** Cards this far above or below the visible part of the tray mount their logs, so they are there when scrolled to. */
const LOG_MOUNT_MARGIN = '200px 0px';

/** The popover's scrolling body, watching which cards are in view. Its content renders once the watcher exists. */
function WatchedBody({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  // undefined: not created yet; null: no IntersectionObserver here, so every card counts as in view.
  const [watcher, setWatcher] = useState<ViewWatcher | null | undefined>(undefined);
  useLayoutEffect(() => {
    const created = ref.current ? createViewWatcher(ref.current, LOG_MOUNT_MARGIN) : null;
    setWatcher(created);
    return () => created?.disconnect();
  }, []);
  return (
    <div ref={ref} className="top-popover__body">
      {watcher === undefined ? null : <ViewWatcherContext value={watcher}>{children}</ViewWatcherContext>}
    </div>
  );
}

/**
 * The task tray in the top bar: a disclosure button that names the number of
 * running tasks, and a non-modal popover (a WAI-ARIA dialog: Escape closes it
 * and focus returns to the button) listing running, then finished tasks.
 */
export function TaskTray({ onTaskFinished }: { onTaskFinished?: (task: FinishedTask) => void }) {
  const report = useCallback(
    (task: TaskView) => {
      const outcome = taskOutcome(task);
      if (outcome === 'running') return;
      onTaskFinished?.({ jobId: task.jobId, title: taskTitle(task), outcome, status: task.status });
    },
    [onTaskFinished],
  );
  useTaskFeed(report);

  const open = useTrayOpen();
  // The tray starts closed in every session.
  useEffect(() => () => trayToggled(false), []);
  const running = useRunningTaskCount();
  const buttonRef = useRef<HTMLButtonElement>(null);
  const [params, setParams] = useSearchParams();
  // The detail dialog sits over the open tray; while it is open, interacting with it must not close the tray.
  const detailOpen = params.has(TASK_DETAIL_PARAM);
  // Focus goes back to the "Details" button that opened the dialog, or (opened from a link) to the tray button.
  const openerRef = useRef<HTMLElement | null>(null);
  const returnFocusTo = useMemo(
    () => ({
      get current(): HTMLElement | null {
        const opener = openerRef.current;
        return opener?.isConnected ? opener : buttonRef.current;
      },
    }),
    [],
  );

  const openTask = useCallback(
    (id: string, opener: HTMLElement) => {
      openerRef.current = opener;
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        next.set(TASK_DETAIL_PARAM, id);
        return next;
      });
    },
    [setParams],
  );

  return (
    <>
      <PopoverProvider open={open} setOpen={trayToggled} placement="bottom-end">
        <PopoverDisclosure ref={buttonRef} className="tray-button" aria-label={trayLabel(running)} data-busy={running > 0 || undefined}>
          <TrayIcon busy={running > 0} />
          <span className="tray-button__text">Tasks</span>
          {running > 0 ? (
            <span className="tray-button__count" aria-hidden="true">
              {running}
            </span>
          ) : null}
        </PopoverDisclosure>
        <Popover className="top-popover tray-popover" gutter={8} portal unmountOnHide hideOnInteractOutside={!detailOpen}>
          <div className="top-popover__head">
            <PopoverHeading className="top-popover__title" render={<h2 />}>
              Tasks
            </PopoverHeading>
          </div>
          <WatchedBody>
            <TrayContent onOpen={openTask} />
          </WatchedBody>
        </Popover>
      </PopoverProvider>
      {/* Outside the provider, so the dialog does not pick up the popover's store. */}
      <TaskDetailDialog returnFocusTo={returnFocusTo} />
    </>
  );
}
