import type { AppNotification, NotificationKind } from '@/features/notifications/notification-model';

/*
 * What the panel shows: job notifications of one kind that came close together read as one entry
 * ("3 jobs finished"), so 25 jobs finishing at once are one line, not 25. Task notifications stay one each.
 * Grouping is a view of the stored list (read state stays per notification), so other tabs and reloads agree.
 */

/** A job notification joins a group if it came at most this long before the group's oldest member. */
export const GROUP_GAP_MS = 2 * 60_000;

const GROUP_VERB: Partial<Record<NotificationKind, string>> = {
  'job-started': 'started',
  'job-finished': 'finished',
  'job-failed': 'failed',
  'job-expired': 'expired',
  'job-expiring': 'expiring soon',
};

/** Job notifications of these kinds group; task notifications never do. */
export const isGroupable = (kind: NotificationKind): boolean => GROUP_VERB[kind] !== undefined;

/** What a toast that holds several task notifications of one kind says ("3 tasks complete"). */
const TASK_GROUP_VERB: Partial<Record<NotificationKind, string>> = { 'task-complete': 'complete', 'task-failed': 'failed' };

/** "3 jobs finished", "2 tasks failed". */
export const groupTitle = (kind: NotificationKind, count: number): string =>
  TASK_GROUP_VERB[kind] ? `${count} tasks ${TASK_GROUP_VERB[kind]}` : `${count} jobs ${GROUP_VERB[kind] ?? 'changed'}`;

/**
 * The job list that shows a group's jobs: finished ones under State = Success, and so on. Null for a group of tasks,
 * which has no page of its own (the tray in the top bar lists them).
 */
const GROUP_STATE: Partial<Record<NotificationKind, string>> = {
  'job-started': 'RUNNING',
  'job-finished': 'SUCCESS',
  'job-failed': 'FAILURE',
  'job-expired': 'EXPIRED',
  'job-expiring': 'RUNNING',
};
export const groupHref = (kind: NotificationKind): string | null =>
  TASK_GROUP_VERB[kind] ? null : GROUP_STATE[kind] ? `/jobs?state=${GROUP_STATE[kind]}` : '/jobs';

/** The job a notification names, from its title ("my-database finished" → "my-database"). */
const memberName = (n: AppNotification): string => n.title.replace(/ (started|finished|failed|expired|expires in \d+ min)$/, '');

/** "cache-store, analytics-db and my-database", or the first three "and 22 more". */
export function groupBody(items: readonly AppNotification[]): string {
  const names = items.map(memberName);
  if (names.length <= 3) return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

export type NotificationEntry =
  | { type: 'single'; key: string; item: AppNotification; unread: boolean }
  | { type: 'group'; key: string; kind: NotificationKind; title: string; items: readonly AppNotification[]; unread: boolean };

/** The entries for a newest-first list, newest first; each entry sits where its newest member is. */
export function groupNotifications(list: readonly AppNotification[]): NotificationEntry[] {
  const runs: AppNotification[][] = [];
  const open = new Map<NotificationKind, AppNotification[]>();
  for (const n of list) {
    if (!GROUP_VERB[n.kind]) {
      runs.push([n]);
      continue;
    }
    const run = open.get(n.kind);
    const oldest = run?.[run.length - 1];
    if (run && oldest && oldest.at - n.at <= GROUP_GAP_MS) {
      run.push(n);
      continue;
    }
    const fresh = [n];
    open.set(n.kind, fresh);
    runs.push(fresh);
  }
  return runs.map((items): NotificationEntry => {
    const first = items[0]!;
    const unread = items.some((n) => !n.read);
    if (items.length === 1) return { type: 'single', key: first.id, item: first, unread };
    return { type: 'group', key: `group:${first.id}`, kind: first.kind, title: groupTitle(first.kind, items.length), items, unread };
  });
}

/** What the bell counts: entries the user sees that hold something unread. */
export function unreadEntries(list: readonly AppNotification[]): number {
  return groupNotifications(list).reduce((count, entry) => count + (entry.unread ? 1 : 0), 0);
}
