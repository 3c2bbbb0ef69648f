import type { Progress, Speed, Task, TaskUpdate } from '../../contract/tasks';
import { TASK_MESSAGE_LIMIT } from '../../contract/tasks';
import type { Principal } from '../auth/tokens';
import { badRequest, forbidden } from '../http/errors';
import { LONE_SURROGATE } from '../http/parse';

/** The processor of tasks created by the core's own service principal (contract §6). */
export const UCLOUD_PROCESSOR = '_ucloud';

export { TASK_MESSAGE_LIMIT };

// Task ids are UUIDs; anything else cannot name a task, and must never reach a `uuid` column (that would be a 500).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isTaskId = (id: string) => UUID.test(id);

export interface TaskRow {
  id: string;
  owner: string;
  processor: string;
  title: string | null;
  status: string | null;
  complete: boolean;
  progress: Progress | null;
  speeds: Speed[];
  seq: number;
  msg_count: number;
  started_at: number;
  modified_at: number;
  completed_at: number | null;
}

export const TASK_COLUMNS = `id::text AS id, owner, processor, title, status, complete, progress, speeds, seq, msg_count,
  started_at, modified_at, completed_at`;

export function toTask(row: TaskRow, messages: string[]): Task {
  return {
    jobId: row.id,
    owner: row.owner,
    processor: row.processor,
    title: row.title,
    status: row.status,
    complete: row.complete,
    startedAt: row.started_at,
    modifiedAt: row.modified_at,
    progress: row.progress,
    speeds: row.speeds,
    messages,
    seq: row.seq,
  };
}

/** Who processes the caller's tasks: `_ucloud` for the core's service, the provider's own id for a provider. */
export function processorOf(principal: Principal): string {
  if (principal.role === 'SERVICE') return UCLOUD_PROCESSOR;
  // A provider id that starts with '_' could impersonate the core's processor name space.
  if (principal.username.startsWith('_')) throw forbidden(`Provider ids starting with '_' are reserved; '${principal.username}' cannot process tasks`);
  return principal.username;
}

/**
 * The update as listeners see it: every field present (absent ones as null, contract §0) and the seq the
 * server assigned. What the processor sent is echoed, so seed 002's listener sees exactly what was posted.
 */
export function normalizeUpdate(update: TaskUpdate, seq: number): TaskUpdate {
  return {
    jobId: update.jobId,
    newTitle: update.newTitle ?? null,
    speeds: update.speeds ?? null,
    progress: update.progress ?? null,
    complete: update.complete ?? null,
    messageToAppend: update.messageToAppend ?? null,
    newStatus: update.newStatus ?? null,
    seq,
  };
}

/** markAsComplete as listeners see it, exactly as seed 002 prints it (`speeds = emptyList()`). */
export const completionUpdate = (jobId: string, seq: number): TaskUpdate => ({
  jobId,
  newTitle: null,
  speeds: [],
  progress: null,
  complete: true,
  messageToAppend: null,
  newStatus: null,
  seq,
});


export const MAX_MESSAGE_LENGTH = 64 * 1024;
export const MAX_TEXT_LENGTH = 4096;

/**
 * Text PostgreSQL cannot store (NUL, lone surrogates) must be a 400 naming the field, not a failed batch.
 * Lengths are capped so one task's kept log stays a sensible size (1000 × 64 KiB at most).
 */
export function checkText(field: string, value: string | null | undefined, max = MAX_TEXT_LENGTH) {
  if (value === null || value === undefined) return;
  if (value.includes('\u0000')) throw badRequest(`${field}: must not contain NUL characters`);
  if (LONE_SURROGATE.test(value)) throw badRequest(`${field}: must be valid Unicode text (it has an unpaired surrogate)`);
  if (value.length > max) throw badRequest(`${field}: must be at most ${max} characters (got ${value.length})`);
}

export function checkUpdateText(update: TaskUpdate, prefix = 'update') {
  checkText(`${prefix}.newTitle`, update.newTitle);
  checkText(`${prefix}.newStatus`, update.newStatus);
  checkText(`${prefix}.messageToAppend`, update.messageToAppend, MAX_MESSAGE_LENGTH);
  if (update.progress) checkText(`${prefix}.progress.title`, update.progress.title);
  if (update.speeds && update.speeds.length > 100) throw badRequest(`${prefix}.speeds: must have at most 100 items (got ${update.speeds.length})`);
  update.speeds?.forEach((speed, i) => {
    checkText(`${prefix}.speeds[${i}].title`, speed.title);
    checkText(`${prefix}.speeds[${i}].unit`, speed.unit);
    checkText(`${prefix}.speeds[${i}].asText`, speed.asText);
  });
}
