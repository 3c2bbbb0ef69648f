import { useEffect, useRef, useState } from 'react';
import { Link, useLocation } from 'react-router-dom';
import { groupBody, groupHref, groupTitle } from '@/features/notifications/notification-groups';
import { targetHref } from '@/features/notifications/notification-link';
import { notificationRead, notificationsRead, toastDismissed, useToasts, type ToastEntry } from '@/features/notifications/notification-store';

export const TOAST_MS = 6_000;

/**
 * Where toasts come in: at the bottom right, or at the top right under the top bar, for a page whose own controls
 * sit at the bottom of the screen (the launch form's sticky footer with Launch).
 */
export type ToastPlacement = 'bottom' | 'top';

/** One toast: a notification, or a group of them ("3 jobs finished", linking to the list of those jobs; "2 tasks failed"). */
function Toast({ entry }: { entry: ToastEntry }) {
  const location = useLocation();
  const [paused, setPaused] = useState(false);
  const remaining = useRef(TOAST_MS);
  const count = entry.items.length;
  const newest = entry.items[0]!;
  const group = count > 1;
  const title = group ? groupTitle(newest.kind, count) : newest.title;
  const body = group ? groupBody(entry.items) : newest.body;
  const href = group ? groupHref(newest.kind) : targetHref(newest.target, location);

  // A new member restarts the countdown: the toast stays up while its group grows.
  useEffect(() => {
    remaining.current = TOAST_MS;
  }, [count]);
  // Hover or focus pauses the countdown, so it can be read and used (WCAG 2.2.1).
  useEffect(() => {
    if (paused) return undefined;
    const started = Date.now();
    const timer = setTimeout(() => toastDismissed(entry.key), remaining.current);
    return () => {
      clearTimeout(timer);
      remaining.current = Math.max(1_000, remaining.current - (Date.now() - started));
    };
  }, [paused, entry.key, count]);

  return (
    <div
      className="toast"
      data-kind={newest.kind}
      onMouseEnter={() => setPaused(true)}
      onMouseLeave={() => setPaused(false)}
      onFocus={() => setPaused(true)}
      onBlur={() => setPaused(false)}
    >
      <div className="toast__text">
        {href === null ? (
          <span className="toast__title">{title}</span>
        ) : (
          <Link
            className="toast__title"
            to={href}
            onClick={() => {
              if (group) notificationsRead(entry.items.map((n) => n.id));
              else notificationRead(newest.id);
              toastDismissed(entry.key);
            }}
          >
            {title}
          </Link>
        )}
        <span className="toast__body">{body}</span>
      </div>
      <button type="button" className="toast__close" aria-label={`Dismiss: ${title}`} onClick={() => toastDismissed(entry.key)}>
        ×
      </button>
    </div>
  );
}

/** Short-lived messages while the tab is visible. The region exists before any toast, so screen readers announce them. */
export function Toasts({ placement = 'bottom' }: { placement?: ToastPlacement }) {
  const toasts = useToasts();
  return (
    <div className="toast-region" data-placement={placement} role="status" aria-live="polite" aria-label="Recent notifications">
      {toasts.map((t) => (
        <Toast key={t.key} entry={t} />
      ))}
    </div>
  );
}
