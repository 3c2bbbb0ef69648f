import { Popover, PopoverDisclosure, PopoverHeading, PopoverProvider, usePopoverStore } from '@ariakit/react';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import { authQueries } from '@/api/auth';
import { formatTime, formatDateTime, isoString } from '@/lib/format';
import { desktopPermission, requestDesktopPermission, type DesktopPermission } from '@/features/notifications/desktop';
import { useJobNotifications } from '@/features/notifications/job-notifications';
import { EXPIRY_WARNING_MS } from '@/features/notifications/expiry-warnings';
import { targetHref } from '@/features/notifications/notification-link';
import { groupNotifications, type NotificationEntry } from '@/features/notifications/notification-groups';
import type { AppNotification } from '@/features/notifications/notification-model';
import {
  allNotificationsRead,
  desktopNotificationsChanged,
  notificationNavigatorChanged,
  notificationOwnerKnown,
  notificationRead,
  notificationsRead,
  notificationsSignedOut,
  notificationsStoredElsewhere,
  storageKey,
  useDesktopNotifications,
  useNotifications,
  useUnreadCount,
} from '@/features/notifications/notification-store';
import { Toasts, type ToastPlacement } from '@/features/notifications/toasts';
import '@/features/notifications/notifications.css';

function BellIcon() {
  return (
    <svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
    </svg>
  );
}

const KIND_GLYPH: Record<AppNotification['kind'], string> = {
  'task-complete': '✓',
  'task-failed': '!',
  'job-started': '▶',
  'job-finished': '✓',
  'job-failed': '!',
  'job-expiring': '⏳',
  'job-expired': '⏱',
};

function isToday(ms: number): boolean {
  return new Date(ms).toDateString() === new Date().toDateString();
}

function NotificationItem({ n, onFollow }: { n: AppNotification; onFollow: () => void }) {
  const location = useLocation();
  const titleId = useId();
  return (
    <li className="notif" data-unread={!n.read || undefined} data-kind={n.kind} aria-labelledby={titleId}>
      <span className="notif__glyph" aria-hidden="true">
        {KIND_GLYPH[n.kind]}
      </span>
      <div className="notif__main">
        <Link
          id={titleId}
          className="notif__title"
          aria-label={n.read ? undefined : `${n.title}, unread`}
          to={targetHref(n.target, location)}
          onClick={() => {
            notificationRead(n.id);
            onFollow();
          }}
        >
          {n.title}
        </Link>
        <p className="notif__body">{n.body}</p>
        <time className="notif__time" dateTime={isoString(n.at)}>
          {isToday(n.at) ? formatTime(n.at) : formatDateTime(n.at)}
        </time>
      </div>
      {!n.read ? (
        <button type="button" className="button button--ghost button--small notif__read" onClick={() => notificationRead(n.id)}>
          Mark read<span className="visually-hidden">: {n.title}</span>
        </button>
      ) : null}
    </li>
  );
}

/** Several job notifications of one kind close together: one entry, expandable to a link per job. */
function NotificationGroup({ entry, onFollow }: { entry: Extract<NotificationEntry, { type: 'group' }>; onFollow: () => void }) {
  const location = useLocation();
  const titleId = useId();
  const listId = useId();
  const [expanded, setExpanded] = useState(false);
  const newest = entry.items[0]!;
  const oldest = entry.items[entry.items.length - 1]!;
  return (
    <li className="notif" data-unread={entry.unread || undefined} data-kind={entry.kind} aria-labelledby={titleId}>
      <span className="notif__glyph" aria-hidden="true">
        {KIND_GLYPH[entry.kind]}
      </span>
      <div className="notif__main">
        <p id={titleId} className="notif__title">
          {entry.title}
          {entry.unread ? <span className="visually-hidden">, unread</span> : null}
        </p>
        <button
          type="button"
          className="button button--ghost button--small notif__expand"
          aria-expanded={expanded}
          aria-controls={expanded ? listId : undefined}
          onClick={() => setExpanded((open) => !open)}
        >
          {expanded ? 'Hide the jobs' : `Show the ${entry.items.length} jobs`}
        </button>
        {expanded ? (
          <ul id={listId} className="notif__members" aria-label={entry.title}>
            {entry.items.map((n) => (
              <li key={n.id} data-unread={!n.read || undefined}>
                <Link
                  to={targetHref(n.target, location)}
                  aria-label={n.read ? undefined : `${n.title}, unread`}
                  onClick={() => {
                    notificationRead(n.id);
                    onFollow();
                  }}
                >
                  {n.title}
                </Link>
              </li>
            ))}
          </ul>
        ) : null}
        <p className="notif__time">
          <time dateTime={isoString(oldest.at)}>{isToday(oldest.at) ? formatTime(oldest.at) : formatDateTime(oldest.at)}</time>
          {newest.at !== oldest.at ? (
            <>
              {' – '}
              <time dateTime={isoString(newest.at)}>{isToday(newest.at) ? formatTime(newest.at) : formatDateTime(newest.at)}</time>
            </>
          ) : null}
        </p>
      </div>
      {entry.unread ? (
        <button type="button" className="button button--ghost button--small notif__read" onClick={() => notificationsRead(entry.items.map((n) => n.id))}>
          Mark read<span className="visually-hidden">: {entry.title}</span>
        </button>
      ) : null}
    </li>
  );
}

function DesktopOptIn() {
  const enabled = useDesktopNotifications();
  const [permission, setPermission] = useState<DesktopPermission>(desktopPermission);
  // The browser's question was closed without an answer: the box stays unticked, and says why.
  const [dismissed, setDismissed] = useState(false);
  const id = useId();
  const unsupported = permission === 'unsupported';
  const blocked = permission === 'denied';
  return (
    <div className="notif-optin">
      <input
        id={id}
        type="checkbox"
        checked={enabled && permission === 'granted'}
        disabled={unsupported || blocked}
        aria-describedby={`${id}-hint`}
        onChange={async (event) => {
          if (!event.currentTarget.checked) {
            desktopNotificationsChanged(false);
            return;
          }
          const answer = await requestDesktopPermission();
          setPermission(answer);
          setDismissed(answer === 'default');
          desktopNotificationsChanged(answer === 'granted');
        }}
      />
      <label htmlFor={id}>Desktop notifications while this tab is in the background</label>
      <p id={`${id}-hint`} className="notif-optin__hint" role={dismissed ? 'status' : undefined}>
        {unsupported
          ? 'This browser does not support desktop notifications.'
          : blocked
            ? 'Notifications are blocked for this site in your browser settings.'
            : dismissed
              ? 'The browser’s question was closed without an answer, so desktop notifications are still off. Tick the box to be asked again.'
              : `When a job of yours starts, ends, or is ${EXPIRY_WARNING_MS / 60_000} minutes from expiring (once per job), and when a task finishes. While you are looking, a short message appears in the corner instead.`}
      </p>
    </div>
  );
}

/** Loads the signed-in user's notifications and keeps other tabs' changes in step. */
function useNotificationOwner(): void {
  const whoami = useQuery(authQueries.whoami());
  const username = whoami.data?.username;
  useEffect(() => {
    if (!username) return undefined;
    notificationOwnerKnown(username);
    const onStorage = (event: StorageEvent) => {
      if (event.key === storageKey(username)) notificationsStoredElsewhere();
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [username]);
  useEffect(() => () => notificationsSignedOut(), []);
}

/**
 * The notification panel in the top bar: a button with the unread count and a
 * non-modal popover (WAI-ARIA dialog) listing events, newest first; and the toasts, placed as the page asks.
 */
export function NotificationPanel({ toastPlacement }: { toastPlacement?: ToastPlacement }) {
  useNotificationOwner();
  useJobNotifications(true);
  const items = useNotifications();
  const unread = useUnreadCount();
  const popover = usePopoverStore({ placement: 'bottom-end' });
  const navigate = useNavigate();
  const location = useLocation();

  useEffect(() => {
    notificationNavigatorChanged((target) => navigate(typeof target === 'string' ? target : targetHref(target, location)));
  }, [navigate, location]);

  const label = unread === 0 ? 'Notifications, none unread' : `Notifications, ${unread} unread`;
  return (
    <>
      <PopoverProvider store={popover}>
        <PopoverDisclosure className="notif-button" aria-label={label}>
          <BellIcon />
          {unread > 0 ? (
            <span className="notif-button__count" aria-hidden="true">
              {unread > 99 ? '99+' : unread}
            </span>
          ) : null}
        </PopoverDisclosure>
        <Popover className="top-popover notif-popover" gutter={8} portal unmountOnHide>
          <div className="top-popover__head">
            <PopoverHeading className="top-popover__title" render={<h2 />}>
              Notifications
            </PopoverHeading>
            <button type="button" className="button button--ghost button--small" onClick={allNotificationsRead} disabled={unread === 0}>
              Mark all read
            </button>
          </div>
          <div className="top-popover__body">
            {items.length === 0 ? (
              <p className="top-popover__empty">Nothing yet. Finished tasks and job state changes show up here.</p>
            ) : (
              <ul className="notif-list" aria-label="Notifications">
                {groupNotifications(items).map((entry) =>
                  entry.type === 'group' ? (
                    <NotificationGroup key={entry.key} entry={entry} onFollow={() => popover.hide()} />
                  ) : (
                    <NotificationItem key={entry.key} n={entry.item} onFollow={() => popover.hide()} />
                  ),
                )}
              </ul>
            )}
          </div>
          <DesktopOptIn />
        </Popover>
      </PopoverProvider>
      <Toasts placement={toastPlacement} />
    </>
  );
}
