import { create } from 'zustand';
import { showDesktopNotification } from '@/features/notifications/desktop';
import {
  addNotification,
  markAllRead,
  markRead,
  mergeNotifications,
  parseStoredNotifications,
  taskNotification,
  type AppNotification,
  type FinishedTaskEvent,
  type NotificationTarget,
} from '@/features/notifications/notification-model';
import {
  GROUP_GAP_MS,
  groupBody,
  groupHref,
  groupTitle,
  isGroupable,
  unreadEntries,
} from '@/features/notifications/notification-groups';

/*
 * Notifications, read state and the desktop opt-in: client state in a small
 * zustand store, mirrored to localStorage per user so a reload keeps them.
 * Only selector hooks and event-named actions are exported.
 */

/**
 * A toast: one notification, or job notifications of one kind that came while its toast was up ("3 jobs
 * finished"), newest first. `key` stays while it grows; each arrival restarts its time.
 */
export interface ToastEntry {
  key: string;
  items: readonly AppNotification[];
}

interface NotificationState {
  /** Whose notifications these are; null until the session's user is known. */
  owner: string | null;
  items: readonly AppNotification[];
  toasts: readonly ToastEntry[];
  desktop: boolean;
}

const initial: NotificationState = { owner: null, items: [], toasts: [], desktop: false };
const useNotificationStore = create<NotificationState>(() => initial);

export const useNotifications = (): readonly AppNotification[] => useNotificationStore((s) => s.items);
/** Unread entries as the panel shows them: a group of job notifications counts once. */
export const useUnreadCount = (): number => useNotificationStore((s) => unreadEntries(s.items));
export const useToasts = (): readonly ToastEntry[] => useNotificationStore((s) => s.toasts);
export const useDesktopNotifications = (): boolean => useNotificationStore((s) => s.desktop);

export const storageKey = (owner: string) => `jobdeck.notifications.${owner}`;

function persist(state: NotificationState): void {
  if (!state.owner) return;
  try {
    window.localStorage.setItem(storageKey(state.owner), JSON.stringify({ items: state.items, desktop: state.desktop }));
  } catch {
    // Storage full or disabled: notifications last for this tab only.
  }
}

function load(owner: string): { items: AppNotification[]; desktop: boolean } {
  try {
    return parseStoredNotifications(window.localStorage.getItem(storageKey(owner)));
  } catch {
    return { items: [], desktop: false };
  }
}

function update(change: (s: NotificationState) => Partial<NotificationState>): void {
  const prev = useNotificationStore.getState();
  const patch = change(prev);
  useNotificationStore.setState(patch);
  if ('items' in patch || 'desktop' in patch) persist(useNotificationStore.getState());
}

/** The signed-in user is known: load their notifications (keeping any that arrived first). */
export function notificationOwnerKnown(owner: string): void {
  const state = useNotificationStore.getState();
  if (state.owner === owner) return;
  const stored = load(owner);
  // What arrived before we knew whose it was belongs to this user, unless it was another user's session.
  const early = state.owner === null ? state.items : [];
  update(() => ({ owner, items: mergeNotifications(stored.items, early), desktop: stored.desktop, toasts: state.owner === null ? state.toasts : [] }));
}

/** Another tab changed this user's stored notifications. */
export function notificationsStoredElsewhere(): void {
  const state = useNotificationStore.getState();
  if (!state.owner) return;
  const stored = load(state.owner);
  const items = mergeNotifications(stored.items, []);
  useNotificationStore.setState({ items, desktop: stored.desktop });
}

/** Signed out: forget this user's notifications in memory (they stay stored for their next session). */
export function notificationsSignedOut(): void {
  desktopRuns.clear();
  useNotificationStore.setState(initial, true);
}

let openTarget: (target: NotificationTarget | string) => void = () => undefined;

/**
 * The panel registers how to navigate, so a click on a desktop notification opens its job or task (or, for a
 * group, an address: the job list of that state).
 */
export function notificationNavigatorChanged(navigate: (target: NotificationTarget | string) => void): void {
  openTarget = navigate;
}

const TOAST_LIMIT = 3;

/**
 * A toast with a new arrival: it joins the toast up for its kind, else comes on its own. Tasks group here too (not in
 * the panel, where each task keeps its own line), so a burst of finished tasks is one toast and cannot push the job
 * toasts out of the three that show.
 */
function withToast(toasts: readonly ToastEntry[], n: AppNotification): readonly ToastEntry[] {
  const joins = toasts.find((t) => t.items[0]!.kind === n.kind);
  if (!joins) return [{ key: n.id, items: [n] }, ...toasts].slice(0, TOAST_LIMIT);
  return [{ key: joins.key, items: [n, ...joins.items] }, ...toasts.filter((t) => t !== joins)];
}

/**
 * The desktop notification of a run of job notifications of one kind: each arrival within GROUP_GAP_MS of the
 * last replaces it (one system tag per run), so 25 jobs finishing are one notification that says "25 jobs finished".
 */
const desktopRuns = new Map<string, { tag: string; last: number; items: AppNotification[] }>();

function showOnDesktop(n: AppNotification): boolean {
  if (!isGroupable(n.kind)) return showDesktopNotification({ title: n.title, body: n.body, tag: n.id }, () => openTarget(n.target));
  const run = desktopRuns.get(n.kind);
  const current = run && n.at - run.last <= GROUP_GAP_MS ? { ...run, last: n.at, items: [n, ...run.items] } : { tag: `group:${n.id}`, last: n.at, items: [n] };
  const shown =
    current.items.length === 1
      ? showDesktopNotification({ title: n.title, body: n.body, tag: current.tag }, () => openTarget(n.target))
      : showDesktopNotification(
          { title: groupTitle(n.kind, current.items.length), body: groupBody(current.items), tag: current.tag },
          () => openTarget(groupHref(n.kind) ?? '/jobs'),
        );
  if (shown) desktopRuns.set(n.kind, current);
  return shown;
}

/**
 * A new event. Seen before (by id): ignored. Otherwise it is kept, and the user
 * is told: a system notification if they opted in and the tab is hidden, a
 * toast if they are looking. Job notifications of one kind close together are one toast or one system
 * notification that counts them.
 */
export function notificationReceived(n: AppNotification): void {
  const state = useNotificationStore.getState();
  const items = addNotification(state.items, n);
  if (items === state.items) return;
  const hidden = typeof document !== 'undefined' && document.visibilityState === 'hidden';
  if (hidden && state.desktop && showOnDesktop(n)) {
    update(() => ({ items }));
    return;
  }
  update((s) => ({ items, toasts: withToast(s.toasts, n) }));
}

/** A task finished (the app passes the tray's report here; features do not import each other). */
export function taskFinished(task: FinishedTaskEvent): void {
  notificationReceived(taskNotification(task, Date.now()));
}

export function notificationRead(id: string): void {
  update((s) => ({ items: markRead(s.items, id) }));
}

/** A grouped entry was marked read: all of its notifications. */
export function notificationsRead(ids: readonly string[]): void {
  update((s) => ({ items: ids.reduce((items, id) => markRead(items, id), s.items) }));
}

export function allNotificationsRead(): void {
  update((s) => ({ items: markAllRead(s.items) }));
}

export function toastDismissed(key: string): void {
  useNotificationStore.setState((s) => ({ toasts: s.toasts.filter((t) => t.key !== key) }));
}

export function desktopNotificationsChanged(enabled: boolean): void {
  update(() => ({ desktop: enabled }));
}
