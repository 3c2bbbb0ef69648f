import type { Job, JobState, JobUpdate } from '@/api/types';
import { FINAL_STATES, STATE_LABEL } from '@/lib/format';

/*
 * Facts the job page derives from a job's wire form. The wire keeps UCloud's states; these say what a person
 * should read (a terminated job is "Terminated", not "Success").
 */

/** What both providers write when Jobdeck stopped the job on the user's request. */
const TERMINATED_STATUS = /^Terminated by user\b/;

/** The newest update that set the job's current state: its line is what came with that state. */
export function updateThatSet(job: Job, state: JobState = job.status.state): JobUpdate | null {
  for (let i = job.updates.length - 1; i >= 0; i--) {
    const u = job.updates[i]!;
    if (u.state === state) return u;
  }
  return null;
}

/** A job the user terminated: the wire says SUCCESS, the provider's line says why. */
export function isTerminated(job: Job): boolean {
  if (job.status.state !== 'SUCCESS') return false;
  const set = updateThatSet(job);
  return !!set?.status && TERMINATED_STATUS.test(set.status);
}

/** The label of the state an update set, for the timeline: "Terminated" on the update that ended a terminated job. */
export function updateLabel(u: JobUpdate): string | undefined {
  return u.state === 'SUCCESS' && u.status && TERMINATED_STATUS.test(u.status) ? 'Terminated' : undefined;
}

export function stateLabel(job: Job): string {
  return isTerminated(job) ? 'Terminated' : STATE_LABEL[job.status.state];
}

/** When the job reached its final state, or null while it is active (or its history is not loaded). */
export function endedAt(job: Job): number | null {
  if (!FINAL_STATES.has(job.status.state)) return null;
  return updateThatSet(job)?.timestamp ?? null;
}

/**
 * The allocation in force, in ms: the provider's latest `newTimeAllocation` (an extend, or the default it applied),
 * else what the job asked for, else what its start and expiry imply. Null: unknown (the application's default, not
 * yet reported).
 */
export function allocationMs(job: Job): number | null {
  for (let i = job.updates.length - 1; i >= 0; i--) {
    const ms = job.updates[i]!.newTimeAllocation;
    if (ms != null) return ms;
  }
  const asked = job.specification.timeAllocation;
  if (asked) return ((asked.hours * 60 + asked.minutes) * 60 + asked.seconds) * 1000;
  const { startedAt, expiresAt } = job.status;
  if (startedAt != null && expiresAt != null) return expiresAt - startedAt;
  return null;
}

/** "73 h", "1 h 30 min", "45 s": a length of time, for allocations and run durations. */
export function formatSpan(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts: string[] = [];
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s && !h) parts.push(`${s} s`);
  return parts.length ? parts.join(' ') : '0 s';
}
