import { create } from 'zustand';

/*
 * The bearer token is client state (it is not fetched from the server), so it
 * lives in a tiny zustand store mirrored to localStorage. Actions are named as
 * events, and only selector hooks are exported.
 */

const STORAGE_KEY = 'jobdeck.token';

function readStoredToken(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function writeStoredToken(token: string | null): void {
  try {
    if (token === null) window.localStorage.removeItem(STORAGE_KEY);
    else window.localStorage.setItem(STORAGE_KEY, token);
  } catch {
    // Storage can be disabled (private mode); the session then lasts for the tab only.
  }
}

/** `link-rejected`: a sign-in link's token was refused before it ever worked (mistyped, revoked, or from another server). */
export type SignOutReason = 'user' | 'expired' | 'link-rejected' | null;

interface SessionState {
  token: string | null;
  signOutReason: SignOutReason;
  /** The token came from a `#token=` link and no call has been answered with it yet. */
  fromLinkUnproven: boolean;
}

const useSessionStore = create<SessionState>(() => ({
  token: readStoredToken(),
  signOutReason: null,
  fromLinkUnproven: false,
}));

export const useToken = (): string | null => useSessionStore((s) => s.token);
export const useSignOutReason = (): SignOutReason => useSessionStore((s) => s.signOutReason);

export function getToken(): string | null {
  return useSessionStore.getState().token;
}

export function subscribeToToken(listener: (token: string | null) => void): () => void {
  return useSessionStore.subscribe((state, prev) => {
    if (state.token !== prev.token) listener(state.token);
  });
}

/**
 * A session begins. `persist: false` keeps the token for this tab only: the sign-in link's access token, used as it
 * is when the server could not be asked for a session, must not stay in storage.
 */
export function signedIn(token: string, { fromLink = false, persist = true }: { fromLink?: boolean; persist?: boolean } = {}): void {
  writeStoredToken(persist ? token : null);
  useSessionStore.setState({ token, signOutReason: null, fromLinkUnproven: fromLink });
}

/** The sign-in link's token was refused when it was exchanged for a session. */
export function linkRejected(): void {
  writeStoredToken(null);
  useSessionStore.setState({ token: null, signOutReason: 'link-rejected', fromLinkUnproven: false });
}

/** A call made with the stored token was answered (not 401): a link's token has proven itself. */
export function tokenAccepted(): void {
  if (useSessionStore.getState().fromLinkUnproven) useSessionStore.setState({ fromLinkUnproven: false });
}

export function signedOut(): void {
  writeStoredToken(null);
  useSessionStore.setState({ token: null, signOutReason: 'user', fromLinkUnproven: false });
}

/** Any call answered 401: the token is unknown or revoked. */
export function sessionRejected(): void {
  if (useSessionStore.getState().token === null) return;
  writeStoredToken(null);
  const reason = useSessionStore.getState().fromLinkUnproven ? 'link-rejected' : 'expired';
  useSessionStore.setState({ token: null, signOutReason: reason, fromLinkUnproven: false });
}

/** Re-reads storage; tests and the boot code use it after touching localStorage directly. */
export function sessionReloaded(): void {
  useSessionStore.setState({ token: readStoredToken(), signOutReason: null, fromLinkUnproven: false });
}

/**
 * The server's sign-in link carries the token in the URL fragment (`/#token=...`), so it never reaches server logs
 * or Referer headers. Take it out of the address bar, so it is not bookmarked or shared, and return it: the caller
 * exchanges it for a session (src/api/auth.ts), and only the session is stored.
 */
export function takeTokenFromLocation(loc: Location = window.location, hist: History = window.history): string | null {
  const hash = loc.hash.startsWith('#') ? loc.hash.slice(1) : loc.hash;
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  const token = params.get('token');
  if (!token) return null;
  params.delete('token');
  const rest = params.toString();
  hist.replaceState(hist.state, '', `${loc.pathname}${loc.search}${rest ? `#${rest}` : ''}`);
  return token.trim();
}
