import { useEffect, useRef, useState } from 'react';
import { Link, useLocation } from 'react-router-dom';
import { targetHref } from '@/features/notifications/notification-link';
import type { AppNotification } from '@/features/notifications/notification-model';
import { notificationRead, toastDismissed, useToasts } from '@/features/notifications/notification-store';

export const TOAST_MS = 6_000;

function Toast({ n }: { n: AppNotification }) {
  const location = useLocation();
  const [paused, setPaused] = useState(false);
  const remaining = useRef(TOAST_MS);

  // Hover or focus pauses the countdown, so it can be read and used (WCAG 2.2.1).
  useEffect(() => {
    if (paused) return undefined;
    const started = Date.now();
    const timer = setTimeout(() => toastDismissed(n.id), remaining.current);
    return () => {
      clearTimeout(timer);
      remaining.current = Math.max(1_000, remaining.current - (Date.now() - started));
    };
  }, [paused, n.id]);

  return (
    <div
      className="toast"
      data-kind={n.kind}
      onMouseEnter={() => setPaused(true)}
      onMouseLeave={() => setPaused(false)}
      onFocus={() => setPaused(true)}
      onBlur={() => setPaused(false)}
    >
      <div className="toast__text">
        <Link
          className="toast__title"
          to={targetHref(n.target, location)}
          onClick={() => {
            notificationRead(n.id);
            toastDismissed(n.id);
          }}
        >
          {n.title}
        </Link>
        <span className="toast__body">{n.body}</span>
      </div>
      <button type="button" className="toast__close" aria-label={`Dismiss: ${n.title}`} onClick={() => toastDismissed(n.id)}>
        ×
      </button>
    </div>
  );
}

/** Short-lived messages while the tab is visible. The region exists before any toast, so screen readers announce them. */
export function Toasts() {
  const toasts = useToasts();
  return (
    <div className="toast-region" role="status" aria-live="polite" aria-label="Recent notifications">
      {toasts.map((n) => (
        <Toast key={n.id} n={n} />
      ))}
    </div>
  );
}
