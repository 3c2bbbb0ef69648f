import { Type, type Static } from 'typebox';
import { Described, FindByStringId, ItemsPerPage, Maybe, Page, StrictObject, Timestamp } from './common';
import { USERNAME_PATTERN } from './validators';
import { TASK_MESSAGE_LIMIT } from './constants';

export { TASK_MESSAGE_LIMIT } from './constants';

export const Username = Described(Type.String({ pattern: USERNAME_PATTERN }), 'a username (1 to 64 of A-Z a-z 0-9 _ . - #)');

export const Speed = StrictObject({
  title: Type.String(),
  speed: Type.Number(),
  unit: Type.String(),
  asText: Type.String(),
});
export type Speed = Static<typeof Speed>;

export const Progress = StrictObject({
  title: Type.String(),
  current: Type.Integer({ minimum: 0 }),
  maximum: Type.Integer({ minimum: 0 }),
});
export type Progress = Static<typeof Progress>;

export const Task = StrictObject({
  jobId: Type.String({ minLength: 1 }),
  owner: Type.String(),
  processor: Type.String(),
  title: Maybe(Type.String()),
  status: Maybe(Type.String()),
  complete: Type.Boolean(),
  startedAt: Timestamp,
  modifiedAt: Timestamp,
  // Extension (contract §6).
  progress: Maybe(Progress),
  speeds: Maybe(Type.Array(Speed)),
  messages: Maybe(Type.Array(Type.String(), { maxItems: TASK_MESSAGE_LIMIT })),
  seq: Maybe(Type.Integer({ minimum: 0 })),
});
export type Task = Static<typeof Task>;

export const TaskUpdate = StrictObject({
  jobId: Type.String({ minLength: 1 }),
  newTitle: Maybe(Type.String()),
  speeds: Maybe(Type.Array(Speed)),
  progress: Maybe(Progress),
  complete: Maybe(Type.Boolean()),
  messageToAppend: Maybe(Type.String()),
  newStatus: Maybe(Type.String()),
  // Extension: per-task counter, so a listener can drop duplicates and see gaps. Set by the server.
  seq: Maybe(Type.Integer({ minimum: 0 })),
});
export type TaskUpdate = Static<typeof TaskUpdate>;

export const TasksCreateRequest = StrictObject({
  title: Type.String(),
  owner: Username,
  initialStatus: Maybe(Type.String()),
});
export type TasksCreateRequest = Static<typeof TasksCreateRequest>;

export const PostStatusRequest = StrictObject({ update: TaskUpdate });
export type PostStatusRequest = Static<typeof PostStatusRequest>;

export const MarkAsCompleteRequest = FindByStringId;
export type MarkAsCompleteRequest = FindByStringId;

export const TasksListQuery = StrictObject({
  itemsPerPage: Type.Optional(ItemsPerPage),
  page: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type TasksListQuery = Static<typeof TasksListQuery>;
export const TasksListResponse = Page(Task);
export type TasksListResponse = Static<typeof TasksListResponse>;

export const TasksRetrieveQuery = FindByStringId;
export type TasksRetrieveQuery = FindByStringId;
