import { createBrowserRouter, Navigate, type RouteObject } from 'react-router-dom';
import { RequireAuth } from '@/app/require-auth';
import type { ComponentType } from 'react';
import { PageError, RouteError } from '@/app/route-error';
import type { RouteHandle } from '@/app/route-title';
import { Shell } from '@/app/shell';
import { Loading } from '@/components/spinner';

/*
 * A page's chunk that cannot be fetched (the server is down while the person navigates) renders the page's error in
 * its place. Left to the router, a failed `lazy` renders nothing at all: an empty page with no word.
 * One failure is tried again after a moment first: a blip (Chromium aborts requests in flight with
 * ERR_NETWORK_CHANGED when the machine's interfaces change, which surfaces as "Unable to preload CSS") is not an outage.
 */
export const CHUNK_RETRY_MS = 500;

export function lazyPage(load: () => Promise<{ default: ComponentType }>, retryMs = CHUNK_RETRY_MS) {
  return async () => {
    try {
      return { Component: (await load()).default };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      try {
        return { Component: (await load()).default };
      } catch (error) {
        return { Component: () => <PageError error={error} /> };
      }
    }
  };
}

/* Every page is its own chunk; the shell and this table are all the first load needs. */
export const routes: RouteObject[] = [
  {
    path: '/sign-in',
    errorElement: <RouteError />,
    hydrateFallbackElement: <Loading />,
    lazy: lazyPage(() => import('@/features/auth/sign-in-page')),
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
        lazy: lazyPage(() => import('@/features/applications/applications-page')),
      },
      {
        path: 'applications/:name/:version',
        // Launch sits in a footer at the bottom of the screen (sticky while the form scrolls, in flow at its end), so
        // no offset from the bottom would clear it: toasts come in under the top bar.
        handle: { title: (p) => `Launch ${p.name ?? ''} ${p.version ?? ''}`.trim(), toasts: 'top' } satisfies RouteHandle,
        errorElement: <RouteError />,
        lazy: lazyPage(() => import('@/features/jobs/launch/launch-page')),
      },
      {
        path: 'jobs',
        handle: { title: 'Jobs' } satisfies RouteHandle,
        errorElement: <RouteError />,
        lazy: lazyPage(() => import('@/features/jobs/list/job-list-page')),
      },
      {
        path: 'jobs/:id',
        // The job page names itself after its job and state (`[Running] my-web-app – Jobdeck`).
        handle: { title: null } satisfies RouteHandle,
        errorElement: <RouteError />,
        lazy: lazyPage(() => import('@/features/jobs/detail/job-detail-page')),
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
