import type { AppParameterValue, JobState, SimpleDuration } from '@/api/types';
import { ACTIVE_JOB_STATES, FINAL_JOB_STATES } from '@contract/constants';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/*
 * Dates from the server are shown whatever they are: a number outside the Date range (±8.64e15 ms) makes
 * Intl.DateTimeFormat and toISOString throw "Invalid time value", which would take the whole job page down with it.
 */
const isDate = (ms: number) => Number.isFinite(ms) && Math.abs(ms) <= 8.64e15;

/** Shown in place of a date that cannot be one. */
export const NO_DATE = 'an unknown date';

export function formatDateTime(ms: number): string {
  return isDate(ms) ? dateTime.format(new Date(ms)) : NO_DATE;
}

export function formatTime(ms: number): string {
  return isDate(ms) ? timeOnly.format(new Date(ms)) : NO_DATE;
}

/** For a `<time dateTime>`: undefined (no attribute) for a value that is no date. */
export function isoString(ms: number): string | undefined {
  return isDate(ms) ? new Date(ms).toISOString() : undefined;
}

/** "2 h 05 min 09 s"; never negative. */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h} h ${pad(m)} min ${pad(s)} s`;
  if (m > 0) return `${m} min ${pad(s)} s`;
  return `${s} s`;
}

export function formatDuration(d: SimpleDuration | null): string {
  if (!d) return 'Default';
  const parts: string[] = [];
  if (d.hours) parts.push(`${d.hours} h`);
  if (d.minutes) parts.push(`${d.minutes} min`);
  if (d.seconds) parts.push(`${d.seconds} s`);
  return parts.length ? parts.join(' ') : '0 min';
}

export const STATE_LABEL: Record<JobState, string> = {
  IN_QUEUE: 'In queue',
  RUNNING: 'Running',
  SUCCESS: 'Success',
  FAILURE: 'Failed',
  EXPIRED: 'Expired',
  SUSPENDED: 'Suspended',
};

export const STATE_EXPLANATION: Record<JobState, string> = {
  IN_QUEUE: 'The job is waiting for the provider to start it.',
  RUNNING: 'The job is running. It stops when its time allocation runs out or when you terminate it.',
  SUCCESS: 'The job has finished: it completed, or it was terminated.',
  FAILURE: 'The job has stopped because something went wrong. The timeline below says what the provider reported.',
  EXPIRED: 'The job ran out of time and was stopped. Extend a job before it expires to keep it running.',
  SUSPENDED: 'The job is paused by the provider and is not using resources right now.',
};

export const FINAL_STATES: ReadonlySet<JobState> = new Set(FINAL_JOB_STATES);
/** Every state in the order a job goes through them (the state filter lists them so). */
export const JOB_STATES: readonly JobState[] = [...ACTIVE_JOB_STATES, ...FINAL_JOB_STATES];

export function isJobState(value: string | null): value is JobState {
  return value !== null && (JOB_STATES as readonly string[]).includes(value);
}

export function formatParameterValue(value: AppParameterValue): string {
  switch (value.type) {
    case 'text':
      return value.value;
    case 'integer':
    case 'floating_point':
      return String(value.value);
    case 'boolean':
      return value.value ? 'Yes' : 'No';
    case 'file':
      return value.readOnly ? `${value.path} (read-only)` : value.path;
    case 'peer':
      return `${value.hostname} → job ${value.jobId}`;
  }
}
