import type { JobState } from '@/api/types';
import { STATE_LABEL } from '@/lib/format';

// A glyph and the text carry the state; colour only reinforces it.
const GLYPH: Record<JobState, string> = {
  IN_QUEUE: '◷',
  RUNNING: '▶',
  SUCCESS: '✓',
  FAILURE: '✕',
  EXPIRED: '⊘',
  SUSPENDED: '‖',
};

/** `label` overrides the state's name where the job says more (a terminated job is SUCCESS on the wire). */
export function StateBadge({ state, label }: { state: JobState; label?: string }) {
  const terminated = label === 'Terminated';
  return (
    <span className={`badge badge--${terminated ? 'terminated' : state.toLowerCase().replace('_', '-')}`} data-state={state}>
      <span aria-hidden="true" className="badge__glyph">
        {terminated ? '■' : GLYPH[state]}
      </span>
      {label ?? STATE_LABEL[state]}
    </span>
  );
}
