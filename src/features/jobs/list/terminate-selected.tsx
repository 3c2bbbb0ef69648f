import { useState } from 'react';
import { useTerminateJobs } from '@/api/jobs';
import type { Job } from '@/api/types';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { ErrorMessage } from '@/components/error-message';

const NAMES_SHOWN = 8;

/**
 * The bar that appears once jobs are selected: how many, Terminate them (after a confirmation that names them),
 * or clear the selection. The jobs' new states arrive live, and the finished ones drop out of the selection.
 * After a terminate the bar is gone; `onTerminated` lets the page say so where focus can go.
 */
export function TerminateSelected({ jobs, onDone, onTerminated }: { jobs: Job[]; onDone: () => void; onTerminated: (names: string[]) => void }) {
  const [open, setOpen] = useState(false);
  const terminate = useTerminateJobs();
  if (jobs.length === 0 && !open) return null;
  const count = `${jobs.length} ${jobs.length === 1 ? 'job' : 'jobs'}`;
  const names = jobs.slice(0, NAMES_SHOWN).map((j) => j.specification.name || `${j.specification.application.name} #${j.id}`);
  return (
    <div className="selection-bar" role="region" aria-label="Selected jobs">
      <p className="selection-bar__count">{count} selected</p>
      <button type="button" className="button button--danger" onClick={() => setOpen(true)} disabled={jobs.length === 0}>
        Terminate {count}
      </button>
      <button type="button" className="button button--ghost" onClick={onDone}>
        Clear selection
      </button>
      <ConfirmDialog
        open={open}
        onClose={() => {
          setOpen(false);
          terminate.reset();
        }}
        onConfirm={() =>
          terminate.mutate(
            jobs.map((j) => j.id),
            {
              onSuccess: () => {
                // The bar goes with the selection: the page says what was asked and takes focus there.
                onTerminated(jobs.map((j) => j.specification.name || `${j.specification.application.name} #${j.id}`));
                setOpen(false);
                onDone();
              },
            },
          )
        }
        title={`Terminate ${count}?`}
        description="They stop now; a stopped job cannot be resumed, but each can be run again from its page."
        confirmLabel={terminate.isPending ? 'Terminating…' : `Terminate ${count}`}
        tone="danger"
        busy={terminate.isPending}
      >
        <ul className="selection-bar__names">
          {names.map((name, i) => (
            <li key={jobs[i]!.id}>{name}</li>
          ))}
          {jobs.length > NAMES_SHOWN ? <li>and {jobs.length - NAMES_SHOWN} more</li> : null}
        </ul>
        {terminate.isError ? <ErrorMessage error={terminate.error} title="Could not terminate them" /> : null}
      </ConfirmDialog>
    </div>
  );
}
