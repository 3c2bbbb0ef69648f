import { useEffect, useRef, useState } from 'react';
import type { Job, JobState } from '@/api/types';
import { stateLabel, updateThatSet } from '@/lib/job-facts';

/** How long to wait for the update that carries a new state's line before announcing the state alone. */
export const LINE_WAIT_MS = 2000;

/**
 * The live region's text for a state change: the new state with the provider's line that came with it ("Job state
 * changed to Terminated. Terminated by user"). The state can reach the cache before that update does (jobs.listen
 * carries no updates; jobs.follow brings them a moment later), so the line is the one of the update that set this
 * state, newer than the one that set the previous state, never simply the newest line (which is the previous
 * state's, or an extension's). The first render is not a change.
 */
export function useStateAnnouncement(job: Job | undefined): string {
  const [message, setMessage] = useState('');
  const previous = useRef<JobState | null>(null);
  const waiting = useRef<{ state: JobState; after: number } | null>(null);
  const state = job?.status.state ?? null;
  const setter = job ? updateThatSet(job) : null;
  const label = job ? stateLabel(job) : '';

  useEffect(() => {
    if (state === null || !job) return undefined;
    const before = previous.current;
    previous.current = state;
    if (before !== null && before !== state) {
      waiting.current = { state, after: updateThatSet(job, before)?.timestamp ?? -Infinity };
    }
    const pending = waiting.current;
    if (!pending || pending.state !== state) return undefined;
    if (setter && setter.timestamp > pending.after) {
      waiting.current = null;
      setMessage(`Job state changed to ${label}.${setter.status ? ` ${setter.status}` : ''}`);
      return undefined;
    }
    const timer = setTimeout(() => {
      if (waiting.current !== pending) return;
      waiting.current = null;
      setMessage(`Job state changed to ${label}.`);
    }, LINE_WAIT_MS);
    return () => clearTimeout(timer);
  }, [state, setter, label, job]);
  return message;
}
