import { estimateRemainingMs, formatEta } from '@/features/tasks/eta';
import type { TaskView } from '@/features/tasks/task-merge';

const number = new Intl.NumberFormat();

/** Whole percent, rounded down so a task never shows 100 % before it is there. */
export function percentOf(current: number, maximum: number): number {
  if (maximum <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((current / maximum) * 100)));
}

/**
 * The task's progress as a `progressbar`: "current of maximum" and a percentage
 * with an ETA from the measured rate, or an indeterminate bar while a running
 * task reports no progress.
 */
export function TaskProgress({ task, label }: { task: TaskView; label: string }) {
  const p = task.progress;
  if (!p || p.maximum <= 0) {
    if (task.complete) return null;
    return (
      <div className="task-progress">
        <div role="progressbar" aria-label={label} aria-valuetext="In progress" className="task-progress__track task-progress__track--indeterminate">
          <div className="task-progress__fill" />
        </div>
      </div>
    );
  }
  const current = Math.min(p.current, p.maximum);
  const pct = percentOf(current, p.maximum);
  const text = `${number.format(current)} of ${number.format(p.maximum)}`;
  const eta = task.complete ? null : estimateRemainingMs(task.samples, p.maximum);
  return (
    <div className="task-progress">
      <div
        role="progressbar"
        aria-label={p.title ? `${label}: ${p.title}` : label}
        aria-valuemin={0}
        aria-valuemax={p.maximum}
        aria-valuenow={current}
        aria-valuetext={`${text} (${pct}%)`}
        className="task-progress__track"
      >
        {/* scaleX is compositor-only: no layout per update. */}
        <div className="task-progress__fill" style={{ transform: `scaleX(${pct / 100})` }} />
      </div>
      <div className="task-progress__meta">
        <span>
          {p.title ? <span className="task-progress__title">{p.title}: </span> : null}
          {text}
        </span>
        <span className="task-progress__pct">{pct}%</span>
        {eta !== null ? <span className="task-progress__eta">{formatEta(eta)}</span> : null}
      </div>
    </div>
  );
}
