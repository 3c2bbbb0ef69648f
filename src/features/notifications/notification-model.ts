import type { Job, JobState } from '@/api/types';

/*
 * Notifications are client state: what the user was told, and what they have
 * read. Pure helpers here; the store persists them per user.
 */

export type NotificationKind = 'task-complete' | 'task-failed' | 'job-started' | 'job-finished' | 'job-failed' | 'job-expiring' | 'job-expired';

export type NotificationTarget = { type: 'job'; id: string } | { type: 'task'; id: string };

export interface AppNotification {
  /** One id per event, so the same event delivered twice (two tabs, a replay) is shown once. */
  id: string;
  kind: NotificationKind;
  title: string;
  body: string;
  target: NotificationTarget;
  at: number;
  read: boolean;
}

/** Kept per user, newest first. */
export const NOTIFICATION_LIMIT = 200;

export function addNotification(list: readonly AppNotification[], n: AppNotification): readonly AppNotification[] {
  if (list.some((existing) => existing.id === n.id)) return list;
  const next = [n, ...list];
  return next.length > NOTIFICATION_LIMIT ? next.slice(0, NOTIFICATION_LIMIT) : next;
}

export function markRead(list: readonly AppNotification[], id: string): readonly AppNotification[] {
  const index = list.findIndex((n) => n.id === id);
  if (index === -1 || list[index]!.read) return list;
  return list.map((n, i) => (i === index ? { ...n, read: true } : n));
}

export function markAllRead(list: readonly AppNotification[]): readonly AppNotification[] {
  return list.some((n) => !n.read) ? list.map((n) => (n.read ? n : { ...n, read: true })) : list;
}

/** Merges two lists (another tab's, say): union by id, read wins, newest first. */
export function mergeNotifications(a: readonly AppNotification[], b: readonly AppNotification[]): readonly AppNotification[] {
  const byId = new Map<string, AppNotification>();
  for (const n of [...a, ...b]) {
    const seen = byId.get(n.id);
    byId.set(n.id, seen ? { ...seen, read: seen.read || n.read } : n);
  }
  return [...byId.values()].sort((x, y) => y.at - x.at).slice(0, NOTIFICATION_LIMIT);
}

const KINDS: readonly NotificationKind[] = ['task-complete', 'task-failed', 'job-started', 'job-finished', 'job-failed', 'job-expiring', 'job-expired'];

function isNotification(v: unknown): v is AppNotification {
  if (typeof v !== 'object' || v === null) return false;
  const n = v as Record<string, unknown>;
  const target = n.target as Record<string, unknown> | null | undefined;
  return (
    typeof n.id === 'string' &&
    KINDS.includes(n.kind as NotificationKind) &&
    typeof n.title === 'string' &&
    typeof n.body === 'string' &&
    typeof n.at === 'number' &&
    typeof n.read === 'boolean' &&
    typeof target === 'object' &&
    target !== null &&
    (target.type === 'job' || target.type === 'task') &&
    typeof target.id === 'string'
  );
}

/** Reads what was stored, dropping anything malformed (storage is user-editable). */
export function parseStoredNotifications(raw: string | null): { items: AppNotification[]; desktop: boolean } {
  if (!raw) return { items: [], desktop: false };
  try {
    const parsed = JSON.parse(raw) as { items?: unknown; desktop?: unknown };
    const items = Array.isArray(parsed.items) ? parsed.items.filter(isNotification).slice(0, NOTIFICATION_LIMIT) : [];
    return { items, desktop: parsed.desktop === true };
  } catch {
    return { items: [], desktop: false };
  }
}

export interface FinishedTaskEvent {
  jobId: string;
  title: string;
  outcome: 'complete' | 'failed';
  status: string | null;
}

export function taskNotification(task: FinishedTaskEvent, now: number): AppNotification {
  const failed = task.outcome === 'failed';
  return {
    id: `task:${task.jobId}:done`,
    kind: failed ? 'task-failed' : 'task-complete',
    title: task.title,
    body: failed ? `Task failed${task.status ? `: ${task.status}` : ''}` : `Task complete${task.status ? `: ${task.status}` : ''}`,
    target: { type: 'task', id: task.jobId },
    at: now,
    read: false,
  };
}

const JOB_EVENT: Partial<Record<JobState, { kind: NotificationKind; verb: string }>> = {
  RUNNING: { kind: 'job-started', verb: 'started' },
  SUCCESS: { kind: 'job-finished', verb: 'finished' },
  FAILURE: { kind: 'job-failed', verb: 'failed' },
  EXPIRED: { kind: 'job-expired', verb: 'expired' },
};

/** A RUNNING job first seen by this tab counts as "started" only if it started this recently. */
export const JOB_STARTED_RECENT_MS = 2 * 60_000;

export function jobName(job: Job): string {
  return job.specification.name?.trim() || job.status.resolvedApplication?.metadata.title || job.specification.application.name;
}

/**
 * The notification for a `jobs.listen` message, if it is news. That stream
 * sends the job on every change (status lines, extensions), so a state is news
 * only when it differs from the last one this tab saw, or, for a job first seen
 * running, when it started moments ago.
 */
export function jobNotification(job: Job, previousState: JobState | undefined, now: number): AppNotification | null {
  const state = job.status.state;
  const event = JOB_EVENT[state];
  if (!event || previousState === state) return null;
  if (state === 'RUNNING' && previousState === undefined) {
    const startedAt = job.status.startedAt;
    if (startedAt == null || now - startedAt > JOB_STARTED_RECENT_MS) return null;
  }
  const name = jobName(job);
  return {
    id: `job:${job.id}:${state}`,
    kind: event.kind,
    title: `${name} ${event.verb}`,
    body: `Job ${job.id} (${job.specification.application.name} ${job.specification.application.version})`,
    target: { type: 'job', id: job.id },
    at: now,
    read: false,
  };
}
