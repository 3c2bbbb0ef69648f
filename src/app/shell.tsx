import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useSyncExternalStore } from 'react';
import { NavLink, Outlet, useNavigation } from 'react-router-dom';
import { authQueries, endSession } from '@/api/auth';
import { useLiveFeeds } from '@/api/live/hooks';
import { useSocketReconnecting } from '@/api/live/status';
import { useServerUnreachableSince } from '@/api/reachability';
import { getToken, signedOut } from '@/api/session';
import { OutageNotice } from '@/app/outage-notice';
import { SlotBoundary } from '@/app/slot-boundary';
import { useFocusHeadingOnNavigate, useRouteTitle, useRouteToastPlacement } from '@/app/route-title';
import { Loading } from '@/components/spinner';
import '@/app/shell.css';
import { taskFinished } from '@/features/notifications/notification-store';

// The tray and the panel bring Ariakit's popover; loading them right after the
// first paint keeps the initial route's JS within its 130 kB budget. So does the narrow screen's menu.
const TaskTray = lazy(() => import('@/features/tasks/task-tray').then((m) => ({ default: m.TaskTray })));
const NotificationPanel = lazy(() =>
  import('@/features/notifications/notification-panel').then((m) => ({ default: m.NotificationPanel })),
);
const AccountMenu = lazy(() => import('@/app/account-menu').then((m) => ({ default: m.AccountMenu })));

/** Below this width the account moves into a menu, and the top bar keeps one row of touch-sized controls. */
const NARROW_QUERY = '(max-width: 720px)';

function subscribeNarrow(onChange: () => void): () => void {
  if (typeof window.matchMedia !== 'function') return () => undefined;
  const list = window.matchMedia(NARROW_QUERY);
  list.addEventListener('change', onChange);
  return () => list.removeEventListener('change', onChange);
}

function useNarrow(): boolean {
  return useSyncExternalStore(subscribeNarrow, () => typeof window.matchMedia === 'function' && window.matchMedia(NARROW_QUERY).matches);
}

function ConnectionBanner() {
  const reconnecting = useSocketReconnecting();
  // During an outage the outage notice says it all.
  const down = useServerUnreachableSince() !== null;
  const show = reconnecting && !down;
  return (
    <div role="status" className={show ? 'connection-banner' : 'visually-hidden'}>
      {show ? 'Reconnecting… Live updates are paused; data refreshes when the connection is back.' : ''}
    </div>
  );
}

function UserMenu() {
  const queryClient = useQueryClient();
  const whoami = useQuery(authQueries.whoami());
  const narrow = useNarrow();
  const signOut = () => {
    const token = getToken();
    signedOut();
    queryClient.clear();
    // The server ends the session too, so a copy of the token left anywhere is worthless.
    if (token) void endSession(token);
  };
  const signOutButton = (
    <button type="button" className="button button--ghost topbar__signout" onClick={signOut}>
      Sign out
    </button>
  );
  if (narrow) {
    return (
      <SlotBoundary fallback={signOutButton}>
        <Suspense fallback={signOutButton}>
          <AccountMenu username={whoami.data?.username ?? null} role={whoami.data?.role ?? null} onSignOut={signOut} />
        </Suspense>
      </SlotBoundary>
    );
  }
  return (
    <div className="user-menu">
      {whoami.data ? (
        <span className="user-menu__name" title={`Role: ${whoami.data.role}`}>
          <span className="visually-hidden">Signed in as </span>
          {whoami.data.username}
        </span>
      ) : null}
      {signOutButton}
    </div>
  );
}

export function Shell() {
  useLiveFeeds();
  useRouteTitle();
  useFocusHeadingOnNavigate('main');
  const toastPlacement = useRouteToastPlacement();
  const navigation = useNavigation();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__inner">
          <NavLink to="/applications" className="brand" aria-label="Jobdeck home">
            <svg aria-hidden="true" width="22" height="22" viewBox="0 0 32 32">
              <rect width="32" height="32" rx="7" fill="currentColor" />
              <path d="M9 10h14v3H9zm0 5h14v3H9zm0 5h9v3H9z" fill="var(--surface)" />
            </svg>
            <span className="brand__name">Jobdeck</span>
          </NavLink>
          <nav aria-label="Main" className="mainnav">
            <NavLink to="/applications">Applications</NavLink>
            <NavLink to="/jobs">Jobs</NavLink>
          </nav>
          <div className="topbar__slots">
            <div className="slot" data-slot="task-tray">
              <SlotBoundary fallback={null}>
                <Suspense fallback={null}>
                  <TaskTray onTaskFinished={taskFinished} />
                </Suspense>
              </SlotBoundary>
            </div>
            <div className="slot" data-slot="notifications">
              <SlotBoundary fallback={null}>
                <Suspense fallback={null}>
                  <NotificationPanel toastPlacement={toastPlacement} />
                </Suspense>
              </SlotBoundary>
            </div>
            <UserMenu />
          </div>
        </div>
        {navigation.state === 'loading' ? <div className="route-progress" aria-hidden="true" /> : null}
      </header>
      <ConnectionBanner />
      <OutageNotice />
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
