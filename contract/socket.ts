import { Type, type Static, type TSchema } from 'typebox';
import { FindByStringId, Maybe, StrictObject, Unit } from './common';
import { Job, JobStatus, JobUpdate } from './jobs';
import { TaskUpdate } from './tasks';

// UCloud's call envelope (contract §7). Several calls share one socket, told apart by streamId.

export const SOCKET_CALLS = ['tasks.listen', 'jobs.follow', 'jobs.listen'] as const;
export type SocketCall = (typeof SOCKET_CALLS)[number];
/** Other names clients use for the same calls: UCloud's Kotlin-era web client called the task stream `task.listen`. */
export const SOCKET_CALL_ALIASES: Readonly<Record<string, SocketCall>> = { 'task.listen': 'tasks.listen' };

/**
 * Client → server. The bearer rides in the frame, never in the URL. UCloud's clients may add `project` (refused
 * unless null: Jobdeck has personal workspaces only) and `signedIntent` (accepted and ignored).
 */
export const ClientFrame = StrictObject({
  call: Type.String({ minLength: 1 }),
  streamId: Type.String({ minLength: 1 }),
  payload: Type.Unknown(),
  bearer: Type.String(),
  project: Maybe(Type.String()),
  signedIntent: Maybe(Type.String()),
});
export type ClientFrame = Static<typeof ClientFrame>;

export function MessageFrame<T extends TSchema>(payload: T) {
  return StrictObject({ type: Type.Literal('message'), streamId: Type.String(), payload });
}
export type MessageFrame<T = unknown> = { type: 'message'; streamId: string; payload: T };

/** Ends a call: 200 with `{}`, or 4xx with a CommonErrorMessage. */
export function ResponseFrame<T extends TSchema>(payload: T) {
  return StrictObject({
    type: Type.Literal('response'),
    streamId: Type.String(),
    status: Type.Integer({ minimum: 100, maximum: 599 }),
    payload,
  });
}
export type ResponseFrame<T = unknown> = { type: 'response'; streamId: string; status: number; payload: T };

export const ServerFrame = Type.Union([MessageFrame(Type.Unknown()), ResponseFrame(Type.Unknown())]);
export type ServerFrame = Static<typeof ServerFrame>;

/**
 * `{}` as in the contract: one message per TaskUpdate. Extension: `{"batch": true}` asks for the updates that
 * land together (one commit of the server's group writer, at most TASKS_BATCH_LIMIT) in one message
 * `{updates: TaskUpdate[]}`, in order. At thousands of updates a second a browser pays per WebSocket message
 * in three processes, more than for the JSON itself.
 */
export const TasksListenRequest = StrictObject({ batch: Type.Optional(Type.Boolean()) });
export type TasksListenRequest = Static<typeof TasksListenRequest>;
export const TasksListenMessage = TaskUpdate;
export type TasksListenMessage = TaskUpdate;
/** Most updates in one batched message. */
export const TASKS_BATCH_LIMIT = 500;
export const TasksListenBatchMessage = StrictObject({ updates: Type.Array(TaskUpdate, { minItems: 1, maxItems: TASKS_BATCH_LIMIT }) });
export type TasksListenBatchMessage = Static<typeof TasksListenBatchMessage>;

export const JobsFollowRequest = FindByStringId;
export type JobsFollowRequest = FindByStringId;
/** UCloud's `JobsLog`: output of one rank (node) of a job since the previous message; Jobdeck's jobs have rank 0. */
export const JobsLog = StrictObject({
  rank: Type.Integer({ minimum: 0 }),
  stdout: Maybe(Type.String()),
  stderr: Maybe(Type.String()),
});
export type JobsLog = Static<typeof JobsLog>;

/**
 * The first message is the whole job; then UCloud's `JobsFollowResponse`: new updates, new output (`log`) and the new
 * status. Every follow sends the job's output from its start (or, for a long one, from a notice of what was skipped),
 * so a client that follows again after a reconnect starts its output view afresh at `initialJob`.
 */
export const JobsFollowMessage = Type.Union([
  StrictObject({ initialJob: Job }),
  StrictObject({ updates: Type.Array(JobUpdate), log: Type.Optional(Type.Array(JobsLog)), newStatus: Maybe(JobStatus) }),
]);
export type JobsFollowMessage = Static<typeof JobsFollowMessage>;

/**
 * Extension: every state change of any of the caller's jobs, so lists update live. The job's `updates` are the ones
 * that change appended, not its history.
 */
export const JobsListenRequest = Unit;
export type JobsListenRequest = Unit;
export const JobsListenMessage = StrictObject({ job: Job });
export type JobsListenMessage = Static<typeof JobsListenMessage>;
