import { createBrowserRouter, Navigate, type RouteObject } from 'react-router-dom';
import { RequireAuth } from '@/app/require-auth';
import { RouteError } from '@/app/route-error';
import type { RouteHandle } from '@/app/route-title';
import { Shell } from '@/app/shell';
import { Loading } from '@/components/spinner';

/* Every page is its own chunk; the shell and this table are all the first load needs. */
export const routes: RouteObject[] = [
  {
    path: '/sign-in',
    errorElement: <RouteError />,
    hydrateFallbackElement: <Loading />,
    lazy: async () => ({ Component: (await import('@/features/auth/sign-in-page')).default }),
  },
  {
    path: '/',
    element: (
      <RequireAuth>
        <Shell />
      </RequireAuth>
    ),
    errorElement: <RouteError />,
    hydrateFallbackElement: <Loading />,
    children: [
      { index: true, element: <Navigate to="/applications" replace /> },
      {
        path: 'applications',
        handle: { title: 'Applications' } satisfies RouteHandle,
        errorElement: <RouteError />,
        lazy: async () => ({ Component: (await import('@/features/applications/applications-page')).default }),
      },
      {
        path: 'applications/:name/:version',
        handle: { title: (p) => `Launch ${p.name ?? ''} ${p.version ?? ''}`.trim() } satisfies RouteHandle,
        errorElement: <RouteError />,
        lazy: async () => ({ Component: (await import('@/features/jobs/launch/launch-page')).default }),
      },
      {
        path: 'jobs',
        handle: { title: 'Jobs' } satisfies RouteHandle,
        errorElement: <RouteError />,
        lazy: async () => ({ Component: (await import('@/features/jobs/list/job-list-page')).default }),
      },
      {
        path: 'jobs/:id',
        // The job page names itself after its job and state (`[Running] my-web-app – Jobdeck`).
        handle: { title: null } satisfies RouteHandle,
        errorElement: <RouteError />,
        lazy: async () => ({ Component: (await import('@/features/jobs/detail/job-detail-page')).default }),
      },
      {
        path: '*',
        handle: { title: 'Page not found' } satisfies RouteHandle,
        errorElement: <RouteError />,
        loader: () => {
          throw new Response('Not found', { status: 404 });
        },
      },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
