import { queryOptions } from '@tanstack/react-query';
import { http, isApiError } from '@/api/http';
import { linkRejected, signedIn, takeTokenFromLocation } from '@/api/session';
import type { WhoAmI } from '@/api/types';

export const authKeys = {
  all: ['auth'] as const,
  whoami: () => [...authKeys.all, 'whoami'] as const,
};

export const authQueries = {
  whoami: () =>
    queryOptions({
      queryKey: authKeys.whoami(),
      queryFn: ({ signal }) => http.get<WhoAmI>('/api/auth/whoami', { signal }),
      staleTime: 5 * 60_000,
    }),
};

/** `POST /api/auth/sessions`: who the access token belongs to, and the session the dashboard keeps instead of it. */
export interface SessionOpened extends WhoAmI {
  token: string;
  expiresAt: number;
}

/** Exchanges an access token for a dashboard session; a wrong token answers 401. */
export function openSession(accessToken: string, signal?: AbortSignal): Promise<SessionOpened> {
  return http.post<SessionOpened>('/api/auth/sessions', {}, { token: accessToken, signal });
}

/** Sign-out: the server ends the session, so the token is worthless even if a copy of it survives somewhere. */
export async function endSession(token: string): Promise<void> {
  try {
    await http.post('/api/auth/sessions/end', {}, { token });
  } catch {
    // Already ended, expired, an access token from an older dashboard, or the server is away: the tab forgets it anyway.
  }
}

/**
 * At start, before the router reads the URL: a sign-in link's token becomes a session. A refused link says so on
 * the sign-in page. If the server cannot be asked, the link's token serves this tab only and is never stored.
 */
export async function signInFromLocation(): Promise<void> {
  const token = takeTokenFromLocation();
  if (!token) return;
  try {
    const session = await openSession(token, AbortSignal.timeout(10_000));
    signedIn(session.token);
  } catch (error) {
    if (isApiError(error) && error.status === 401) linkRejected();
    else signedIn(token, { fromLink: true, persist: false });
  }
}
