import { useEffect, useRef } from 'react';
import { useLocation, useMatches, type Params } from 'react-router-dom';
import type { ToastPlacement } from '@/features/notifications/toasts';

/*
 * The page-change signal a screen-reader user gets: each route names itself in the tab title (`Jobs – Jobdeck`), and
 * after a route change focus moves to the new page's heading, once it has rendered (a lazy page, or one that loads
 * its data first, shows it a moment later). Routes say their title in `handle.title`; a route whose title depends on
 * its data (the job page) says null and sets it itself. A route may also say where its toasts come in
 * (`handle.toasts`), which the shell passes to the notifications feature.
 */

export const APP_NAME = 'Jobdeck';
export type RouteTitle = string | ((params: Params) => string) | null;
export interface RouteHandle {
  title: RouteTitle;
  /** Where the page's toasts come in; at the bottom unless it says otherwise. */
  toasts?: ToastPlacement;
}

function hasTitle(handle: unknown): handle is RouteHandle {
  return typeof handle === 'object' && handle !== null && 'title' in handle;
}

/** The toast placement the deepest route that names one asks for. */
export function useRouteToastPlacement(): ToastPlacement | undefined {
  const matches = useMatches();
  const match = [...matches].reverse().find((m) => hasTitle(m.handle) && m.handle.toasts !== undefined);
  return (match?.handle as RouteHandle | undefined)?.toasts;
}

export function useRouteTitle(): void {
  const matches = useMatches();
  const match = [...matches].reverse().find((m) => hasTitle(m.handle));
  const handle = match?.handle as RouteHandle | undefined;
  const title = typeof handle?.title === 'function' ? handle.title(match!.params) : (handle?.title ?? null);
  useEffect(() => {
    if (title !== null) document.title = `${title} – ${APP_NAME}`;
  }, [title]);
}

const HEADING_WAIT_MS = 15_000;

/** Whether the person is busy with a control that focus must not be taken from. */
function busyElsewhere(): boolean {
  const active = document.activeElement;
  if (!active || active === document.body) return false;
  if (active.closest('[role="dialog"], [role="menu"]')) return true;
  return /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
}

function focusHeading(main: HTMLElement): boolean {
  const heading = main.querySelector<HTMLElement>('h1');
  if (!heading) return false;
  if (!busyElsewhere()) {
    if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
  return true;
}

/** After each change of path (not of the query string: filters and sorting stay where they are), focus `h1`. */
export function useFocusHeadingOnNavigate(mainId: string): void {
  const { pathname } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return undefined;
    }
    const main = document.getElementById(mainId);
    if (!main) return undefined;
    // The old page's heading may still be there for a frame: wait for a heading rendered for this path.
    let done = false;
    const observer = new MutationObserver(() => {
      if (!done && focusHeading(main)) finish();
    });
    const timer = setTimeout(() => finish(), HEADING_WAIT_MS);
    function finish() {
      done = true;
      observer.disconnect();
      clearTimeout(timer);
    }
    observer.observe(main, { childList: true, subtree: true });
    // Already rendered (a page whose chunk and data were cached).
    queueMicrotask(() => {
      if (!done && focusHeading(main)) finish();
    });
    return finish;
  }, [pathname, mainId]);
}
