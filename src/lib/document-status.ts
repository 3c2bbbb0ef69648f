import { useEffect } from 'react';
import type { JobState } from '@/api/types';

const APP = 'Jobdeck';
const DEFAULT_ICON = '/favicon.svg';

/** The colour of a state's dot on the tab's icon (the same hues as the state badges). */
const STATE_COLOUR: Record<JobState, string> = {
  IN_QUEUE: '#b7791f',
  RUNNING: '#1f8a4c',
  SUSPENDED: '#6b7280',
  SUCCESS: '#2f5bd3',
  FAILURE: '#b42318',
  EXPIRED: '#9a3412',
};

/** Jobdeck's icon with a dot in the state's colour: the tab says how the watched job is doing. */
export function stateIcon(state: JobState): string {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2f5bd3"/>` +
    `<path d="M9 10h14v3H9zm0 5h14v3H9zm0 5h9v3H9z" fill="#fff"/>` +
    `<circle cx="25" cy="25" r="7" fill="${STATE_COLOUR[state]}" stroke="#fff" stroke-width="2"/></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/**
 * `[Running] my-web-app – Jobdeck`, as Argo does for the thing being watched. The state comes first, so a narrow tab
 * still shows it. `label` is what the page calls the state (a terminated job: "Terminated").
 */
export function jobTitle(name: string, label: string): string {
  return `[${label}] ${name} – ${APP}`;
}

function setIcon(href: string) {
  let link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (!link) {
    link = document.createElement('link');
    link.rel = 'icon';
    document.head.append(link);
  }
  if (link.getAttribute('href') !== href) link.setAttribute('href', href);
}

/** While mounted, the tab's title (and, with a state, its icon) name the page; both go back on unmount. */
export function useDocumentStatus(title: string | null, state: JobState | null = null): void {
  useEffect(() => {
    if (title === null) return undefined;
    document.title = title;
    if (state) setIcon(stateIcon(state));
    return () => {
      document.title = APP;
      setIcon(DEFAULT_ICON);
    };
  }, [title, state]);
}
