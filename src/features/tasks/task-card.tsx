import { memo, useId, useRef, type CSSProperties } from 'react';
import { Link } from 'react-router-dom';
import { useInView } from '@/features/tasks/in-view';
import { MessageLog } from '@/features/tasks/message-log';
import { taskOutcome, type TaskOutcome, type TaskView } from '@/features/tasks/task-merge';
import { TaskProgress } from '@/features/tasks/task-progress';
import { trayToggled, useTask } from '@/features/tasks/task-store';

/** Lines of the log the tray shows per task; the detail view has the whole kept log. */
export const TRAY_LOG_LINES = 50;

export const OUTCOME_LABEL: Record<TaskOutcome, string> = { running: 'Running', complete: 'Complete', failed: 'Failed' };

export function taskTitle(task: Pick<TaskView, 'title'>): string {
  return task.title?.trim() ? task.title : 'Untitled task';
}

/** "job 4150" in a title (providers title their tasks so: "Pulling image … for job 4150"); job ids are decimal. */
const JOB_IN_TITLE = /\bjob (\d+)\b/i;

/** A task's title as text, with the job it names (if any) linked to that job's page. */
export function TaskTitle({ title }: { title: string }) {
  const match = JOB_IN_TITLE.exec(title);
  const jobId = match?.[1];
  if (!match || !jobId) return <bdi>{title}</bdi>;
  const named = match[0];
  return (
    <bdi>
      {title.slice(0, match.index)}
      <Link to={`/jobs/${encodeURIComponent(jobId)}`} onClick={() => trayToggled(false)}>
        {named}
      </Link>
      {title.slice(match.index + named.length)}
    </bdi>
  );
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
  onOpen: (id: string, opener: HTMLElement) => void;
}

/** Lines a log shows before it scrolls (`.message-log`'s max-height). */
const LOG_VISIBLE_LINES = 5;

/**
 * One task in the tray. Subscribes to its own entry, so only tasks that changed re-render. Title, status,
 * progress and speeds are always live; the message log is mounted only while the card is in view (the tray's
 * ViewWatcher), with a blank box of its height otherwise. The detail view has the whole log.
 */
export const TaskCard = memo(function TaskCard({ id, onOpen }: TaskCardProps) {
  const task = useTask(id);
  const headingId = useId();
  const ref = useRef<HTMLLIElement>(null);
  const inView = useInView(ref);
  if (!task) return null;
  const outcome = taskOutcome(task);
  const title = taskTitle(task);
  return (
    <li ref={ref} className="task-card" data-outcome={outcome} aria-labelledby={headingId}>
      <div className="task-card__head">
        <h3 id={headingId} className="task-card__title">
          <TaskTitle title={title} />
        </h3>
        <OutcomeBadge outcome={outcome} />
      </div>
      {task.status ? <p className="task-card__status">{task.status}</p> : null}
      <TaskProgress task={task} label={`Progress of ${title}`} />
      <TaskSpeeds task={task} />
      {task.messages.length === 0 ? null : inView ? (
        <MessageLog messages={task.messages} dropped={task.dropped} label={`Messages of ${title}`} limit={TRAY_LOG_LINES} />
      ) : (
        <div
          className="message-log message-log--placeholder"
          aria-hidden="true"
          style={{ '--log-lines': Math.min(LOG_VISIBLE_LINES, task.messages.length) } as CSSProperties}
        />
      )}
      <div className="task-card__actions">
        <button type="button" className="button button--ghost button--small" aria-label={`Details of ${title}`} onClick={(event) => onOpen(id, event.currentTarget)}>
          Details
        </button>
      </div>
    </li>
  );
});
