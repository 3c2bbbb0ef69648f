import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { NavLink, Outlet, useNavigation } from 'react-router-dom';
import { authQueries } from '@/api/auth';
import { useJobsListen } from '@/api/jobs-live';
import { signedOut } from '@/api/session';
import { useSocketReconnecting } from '@/api/socket';
import { Loading } from '@/components/spinner';
import { taskFinished } from '@/features/notifications/notification-store';

// The tray and the panel bring Ariakit's popover; loading them right after the
// first paint keeps the initial route's JS within its 130 kB budget.
const TaskTray = lazy(() => import('@/features/tasks/task-tray').then((m) => ({ default: m.TaskTray })));
const NotificationPanel = lazy(() =>
  import('@/features/notifications/notification-panel').then((m) => ({ default: m.NotificationPanel })),
);

function ConnectionBanner() {
  const reconnecting = useSocketReconnecting();
  return (
    <div role="status" className={reconnecting ? 'connection-banner' : 'visually-hidden'}>
      {reconnecting ? 'Reconnecting… Live updates are paused; data refreshes when the connection is back.' : ''}
    </div>
  );
}

function UserMenu() {
  const queryClient = useQueryClient();
  const whoami = useQuery(authQueries.whoami());
  return (
    <div className="user-menu">
      {whoami.data ? (
        <span className="user-menu__name" title={`Role: ${whoami.data.role}`}>
          <span className="visually-hidden">Signed in as </span>
          {whoami.data.username}
        </span>
      ) : null}
      <button
        type="button"
        className="button button--ghost"
        onClick={() => {
          signedOut();
          queryClient.clear();
        }}
      >
        Sign out
      </button>
    </div>
  );
}

export function Shell() {
  useJobsListen(true);
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
            <span>Jobdeck</span>
          </NavLink>
          <nav aria-label="Main" className="mainnav">
            <NavLink to="/applications">Applications</NavLink>
            <NavLink to="/jobs">Jobs</NavLink>
          </nav>
          <div className="topbar__slots">
            {/* Issue 6 mounts the task tray and the notification panel here. */}
            <div className="slot" data-slot="task-tray">
              <Suspense fallback={null}>
                <TaskTray onTaskFinished={taskFinished} />
              </Suspense>
            </div>
            <div className="slot" data-slot="notifications">
              <Suspense fallback={null}>
                <NotificationPanel />
              </Suspense>
            </div>
            <UserMenu />
          </div>
        </div>
        {navigation.state === 'loading' ? <div className="route-progress" aria-hidden="true" /> : null}
      </header>
      <ConnectionBanner />
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
