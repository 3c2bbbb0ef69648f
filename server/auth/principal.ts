/** Who is calling, and what a bearer token is: types only, shared by tokens.ts and its cache without a cycle. */
export type { Role } from '../../contract/constants';
import type { Role } from '../../contract/constants';

export interface Principal {
  username: string;
  role: Role;
}

/** What a token is: an access token (no expiry) or a dashboard session (expires, ends at sign-out). */
export interface TokenInfo {
  principal: Principal;
  kind: 'access' | 'session';
  expiresAt: number | null;
}
