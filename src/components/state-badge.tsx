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

export function StateBadge({ state }: { state: JobState }) {
  return (
    <span className={`badge badge--${state.toLowerCase().replace('_', '-')}`}>
      <span aria-hidden="true" className="badge__glyph">
        {GLYPH[state]}
      </span>
      {STATE_LABEL[state]}
    </span>
  );
}
