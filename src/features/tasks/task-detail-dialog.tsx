import { Dialog, DialogDismiss, DialogHeading } from '@ariakit/react';
import { useQuery } from '@tanstack/react-query';
import type { RefObject } from 'react';
import { useSearchParams } from 'react-router-dom';
import { describeError } from '@/api/http';
import { TASK_DETAIL_PARAM, TASK_MESSAGE_LIMIT, tasksQueries } from '@/api/tasks';
import { formatDateTime } from '@/lib/format';
import { MessageLog } from '@/features/tasks/message-log';
import { SpeedChart } from '@/features/tasks/speed-chart';
import { OutcomeBadge, TaskSpeeds, TaskTitle, taskTitle } from '@/features/tasks/task-card';
import { applySnapshots, emptyTasksState, taskOutcome, type TaskView } from '@/features/tasks/task-merge';
import { TaskProgress } from '@/features/tasks/task-progress';
import { useTask } from '@/features/tasks/task-store';

function TaskDetail({ task }: { task: TaskView }) {
  const outcome = taskOutcome(task);
  const title = taskTitle(task);
  return (
    <>
      <div className="task-detail__head">
        <DialogHeading className="dialog__title" render={<h2 />}>
          <TaskTitle title={title} />
        </DialogHeading>
        <OutcomeBadge outcome={outcome} />
      </div>
      {task.status ? <p className="task-card__status">{task.status}</p> : null}
      <dl className="task-detail__facts">
        <div>
          <dt>Started</dt>
          <dd>{formatDateTime(task.startedAt)}</dd>
        </div>
        <div>
          <dt>Last update</dt>
          <dd>{formatDateTime(task.modifiedAt)}</dd>
        </div>
        <div>
          <dt>Reported by</dt>
          <dd>{task.processor}</dd>
        </div>
      </dl>
      <TaskProgress task={task} label={`Progress of ${title}`} />
      <TaskSpeeds task={task} />
      <SpeedChart history={task.speedHistory} />
      {task.messages.length > 0 ? (
        <>
          <h3 className="task-detail__subheading">
            Messages{' '}
            <span className="muted">
              ({task.messages.length}
              {task.dropped > 0 || task.messages.length >= TASK_MESSAGE_LIMIT ? `, the latest ${TASK_MESSAGE_LIMIT} are kept` : ''})
            </span>
          </h3>
          <MessageLog messages={task.messages} dropped={task.dropped} label={`Messages of ${title}`} className="message-log-frame--tall" />
        </>
      ) : (
        <p className="muted">No messages yet.</p>
      )}
    </>
  );
}

/** A task we do not hold live (cleared, or older than the tray's list): shown as the server has it now. */
function FetchedTaskDetail({ id }: { id: string }) {
  const query = useQuery(tasksQueries.detail(id));
  if (query.isPending) return <p className="muted">Loading the task…</p>;
  if (query.isError) {
    return (
      <>
        <DialogHeading className="dialog__title" render={<h2 />}>Task not available</DialogHeading>
        <p role="alert" className="callout callout--danger">
          {describeError(query.error)}
        </p>
      </>
    );
  }
  const view = applySnapshots(emptyTasksState, [query.data], { now: Date.now(), capacity: TASK_MESSAGE_LIMIT }).state.tasks[id];
  return view ? <TaskDetail task={view} /> : null;
}

function LiveOrFetched({ id }: { id: string }) {
  const task = useTask(id);
  return task ? <TaskDetail task={task} /> : <FetchedTaskDetail id={id} />;
}

/** The detail view of the task named by `?task=<id>`; closing it drops the parameter. */
export function TaskDetailDialog({ returnFocusTo }: { returnFocusTo: RefObject<HTMLElement | null> }) {
  const [params, setParams] = useSearchParams();
  const id = params.get(TASK_DETAIL_PARAM);
  const close = () =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        next.delete(TASK_DETAIL_PARAM);
        return next;
      },
      { replace: true },
    );
  return (
    <Dialog
      open={id !== null}
      onClose={close}
      className="dialog task-detail"
      backdrop={<div className="dialog-backdrop" />}
      finalFocus={returnFocusTo}
      unmountOnHide
    >
      {id !== null ? <LiveOrFetched id={id} /> : null}
      <div className="dialog__actions">
        <DialogDismiss className="button button--secondary">Close</DialogDismiss>
      </div>
    </Dialog>
  );
}
