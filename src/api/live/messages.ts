import type { Job, JobStatus, JobUpdate, JobsLog } from '@/api/types';
import type { TaskUpdate } from '@contract/tasks';
import { isJobState } from '@/lib/format';

/*
 * The boundary between the wire and the app: each message kind has a small type guard, checking what the app
 * reads of it, and a message that fails its guard is dropped here rather than reaching the cache as a half-job.
 * (The full TypeBox schemas stay on the server: the SPA imports only types from contract/.)
 */

type Fields = Record<string, unknown>;

const isRecord = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNullableString = (value: unknown) => value == null || typeof value === 'string';
const isNullableNumber = (value: unknown) => value == null || typeof value === 'number';

export function isJobUpdate(value: unknown): value is JobUpdate {
  return (
    isRecord(value) &&
    typeof value.timestamp === 'number' &&
    (value.state == null || (typeof value.state === 'string' && isJobState(value.state))) &&
    isNullableString(value.status) &&
    isNullableNumber(value.newTimeAllocation)
  );
}

export function isJobStatus(value: unknown): value is JobStatus {
  return (
    isRecord(value) &&
    typeof value.state === 'string' &&
    isJobState(value.state) &&
    isNullableNumber(value.startedAt) &&
    isNullableNumber(value.expiresAt)
  );
}

export function isJob(value: unknown): value is Job {
  if (!isRecord(value)) return false;
  const { id, owner, updates, specification, status, createdAt } = value;
  return (
    typeof id === 'string' &&
    id !== '' &&
    isRecord(owner) &&
    typeof owner.createdBy === 'string' &&
    Array.isArray(updates) &&
    updates.every(isJobUpdate) &&
    isRecord(specification) &&
    isRecord(specification.application) &&
    typeof specification.application.name === 'string' &&
    isRecord(specification.product) &&
    isJobStatus(status) &&
    typeof createdAt === 'number'
  );
}

const isJobsLog = (value: unknown): value is JobsLog =>
  isRecord(value) && typeof value.rank === 'number' && isNullableString(value.stdout) && isNullableString(value.stderr);

export function isTaskUpdate(value: unknown): value is TaskUpdate {
  return (
    isRecord(value) &&
    typeof value.jobId === 'string' &&
    isNullableString(value.newTitle) &&
    isNullableString(value.newStatus) &&
    isNullableString(value.messageToAppend) &&
    (value.complete == null || typeof value.complete === 'boolean') &&
    (value.seq == null || typeof value.seq === 'number')
  );
}

/** A `jobs.listen` message: the job that changed, with the updates that change appended. */
export function parseJobsListen(payload: unknown): Job | null {
  return isRecord(payload) && isJob(payload.job) ? payload.job : null;
}

/** What a `jobs.follow` message says: the job as it is when the follow begins, or what changed since. */
export type FollowEvent =
  | { kind: 'initial'; job: Job }
  | { kind: 'change'; updates: JobUpdate[]; newStatus: JobStatus | null; log: JobsLog[] };

export function parseJobsFollow(payload: unknown): FollowEvent | null {
  if (!isRecord(payload)) return null;
  if ('initialJob' in payload) return isJob(payload.initialJob) ? { kind: 'initial', job: payload.initialJob } : null;
  const { updates, newStatus, log } = payload;
  if (!Array.isArray(updates) || !updates.every(isJobUpdate)) return null;
  if (newStatus != null && !isJobStatus(newStatus)) return null;
  if (log != null && !(Array.isArray(log) && log.every(isJobsLog))) return null;
  return { kind: 'change', updates, newStatus: newStatus ?? null, log: log ?? [] };
}

/**
 * A `tasks.listen` message: one update (the contract), or the updates of one commit as `{updates}` (the server's
 * batch extension, which the live layer asks for). Updates that fail the guard are dropped one by one.
 */
export function parseTasksListen(payload: unknown): TaskUpdate[] | null {
  if (isRecord(payload) && Array.isArray(payload.updates)) return payload.updates.filter(isTaskUpdate);
  return isTaskUpdate(payload) ? [payload] : null;
}
