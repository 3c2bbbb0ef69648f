import { queryOptions } from '@tanstack/react-query';
import { http } from '@/api/http';
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

/** Checks a token before it is stored: a wrong one answers 401. */
export function verifyToken(token: string): Promise<WhoAmI> {
  return http.get<WhoAmI>('/api/auth/whoami', { token });
}
