import { memo, useId } from 'react';
import { MessageLog } from '@/features/tasks/message-log';
import { taskOutcome, type TaskOutcome, type TaskView } from '@/features/tasks/task-merge';
import { TaskProgress } from '@/features/tasks/task-progress';
import { useTask } from '@/features/tasks/task-store';

/** Lines of the log the tray shows per task; the detail view has the whole kept log. */
export const TRAY_LOG_LINES = 50;

export const OUTCOME_LABEL: Record<TaskOutcome, string> = { running: 'Running', complete: 'Complete', failed: 'Failed' };

export function taskTitle(task: Pick<TaskView, 'title'>): string {
  return task.title?.trim() ? task.title : 'Untitled task';
}

export function OutcomeBadge({ outcome }: { outcome: TaskOutcome }) {
  return <span className={`task-badge task-badge--${outcome}`}>{OUTCOME_LABEL[outcome]}</span>;
}

export function TaskSpeeds({ task }: { task: TaskView }) {
  if (task.speeds.length === 0) return null;
  return (
    <ul className="task-speeds" aria-label="Speeds">
      {task.speeds.map((speed, i) => (
        <li key={`${speed.title}-${i}`}>
          <span className="task-speeds__title">{speed.title}</span> <span className="task-speeds__value">{speed.asText}</span>
        </li>
      ))}
    </ul>
  );
}

interface TaskCardProps {
  id: string;
  onOpen: (id: string) => void;
}

/** One task in the tray. Subscribes to its own entry, so only tasks that changed re-render. */
export const TaskCard = memo(function TaskCard({ id, onOpen }: TaskCardProps) {
  const task = useTask(id);
  const headingId = useId();
  if (!task) return null;
  const outcome = taskOutcome(task);
  const title = taskTitle(task);
  return (
    <li className="task-card" data-outcome={outcome} aria-labelledby={headingId}>
      <div className="task-card__head">
        <h3 id={headingId} className="task-card__title">
          {title}
        </h3>
        <OutcomeBadge outcome={outcome} />
      </div>
      {task.status ? <p className="task-card__status">{task.status}</p> : null}
      <TaskProgress task={task} label={`Progress of ${title}`} />
      <TaskSpeeds task={task} />
      {task.messages.length > 0 ? (
        <MessageLog messages={task.messages} dropped={task.dropped} label={`Messages of ${title}`} limit={TRAY_LOG_LINES} />
      ) : null}
      <div className="task-card__actions">
        <button type="button" className="button button--ghost button--small" aria-label={`Details of ${title}`} onClick={() => onOpen(id)}>
          Details
        </button>
      </div>
    </li>
  );
});
