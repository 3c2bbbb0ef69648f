import crypto from 'node:crypto';
import type { Db, Queryable } from '../db/index';
import { SESSION_ENDED_CHANNEL, TOKEN_REVOKED_CHANNEL, tokenCacheOf } from './token-cache';
import type { Principal, Role, TokenInfo } from './principal';

export type { Principal, Role, TokenInfo } from './principal';

// crypto.hash, not createHash(): one call, no Hash object, on every authenticated request.
export const hashToken = (token: string) => crypto.hash('sha256', token, 'hex');

/** 256 random bits, URL-safe so it can travel in a sign-in link's fragment. */
export const newToken = () => crypto.randomBytes(32).toString('base64url');

/** The token's entry in the app's cache (server/auth/token-cache.ts), without asking the database: null if not there. */
export function cachedTokenInfo(db: Queryable, token: string, now = Date.now()): TokenInfo | null {
  return tokenCacheOf(db)?.get(hashToken(token), now) ?? null;
}

export async function tokenInfo(db: Queryable, token: string, now = Date.now()): Promise<TokenInfo | null> {
  const hash = hashToken(token);
  // The app's database has a cache (server/auth/token-cache.ts); a transaction or the CLI asks the database.
  const cache = tokenCacheOf(db);
  const cached = cache?.get(hash, now);
  if (cached) return cached;
  const generation = cache?.generation ?? 0;
  const rows = await db.query<{ username: string; role: Role; kind: TokenInfo['kind']; expires_at: string | number | null }>(
    `SELECT u.username, u.role, t.kind, t.expires_at FROM tokens t JOIN users u ON u.username = t.username
      WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)`,
    [hash, now],
  );
  const row = rows[0];
  if (!row) return null;
  const info: TokenInfo = {
    principal: { username: row.username, role: row.role },
    kind: row.kind,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  };
  cache?.set(hash, info, generation, now);
  return info;
}

export async function principalForToken(db: Queryable, token: string): Promise<Principal | null> {
  return (await tokenInfo(db, token))?.principal ?? null;
}

export async function createUser(db: Queryable, username: string, role: Role): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO users (username, role, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING username`,
    [username, role, Date.now()],
  );
  return rows.length > 0;
}

export async function findUser(db: Queryable, username: string): Promise<Principal | null> {
  const rows = await db.query<Principal>(`SELECT username, role FROM users WHERE username = $1`, [username]);
  return rows[0] ?? null;
}

export async function issueToken(db: Queryable, username: string): Promise<string> {
  const token = newToken();
  await db.query(`INSERT INTO tokens (token_hash, username, created_at) VALUES ($1, $2, $3)`, [
    hashToken(token),
    username,
    Date.now(),
  ]);
  return token;
}

/** Longest a dashboard session may be asked to last (JOBDECK_SESSION_HOURS). */
export const MAX_SESSION_MS = 30 * 24 * 3600_000;

/** A dashboard session for a user: a token of its own that expires after `ttlMs`. Expired sessions are swept here. */
export async function issueSession(db: Queryable, username: string, ttlMs: number, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
  const token = newToken();
  const expiresAt = now + ttlMs;
  await db.query(`DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= $1`, [now]);
  await db.query(`INSERT INTO tokens (token_hash, username, created_at, kind, expires_at) VALUES ($1, $2, $3, 'session', $4)`, [
    hashToken(token),
    username,
    now,
    expiresAt,
  ]);
  return { token, expiresAt };
}

/** Ends one dashboard session (sign-out): that token stops working here at once and, by NOTIFY, in every process. */
export async function endSession(db: Db, token: string): Promise<boolean> {
  const hash = hashToken(token);
  const rows = await db.query<{ username: string }>(`DELETE FROM tokens WHERE token_hash = $1 AND kind = 'session' RETURNING username`, [hash]);
  const username = rows[0]?.username;
  if (!username) return false;
  tokenCacheOf(db)?.forgetUser(username);
  await db.announce(SESSION_ENDED_CHANNEL, JSON.stringify({ username, tokenHash: hash }));
  return true;
}

/** Revokes every token of a user; returns how many there were. */
export async function revokeTokens(db: Db, username: string): Promise<number> {
  const rows = await db.query(`DELETE FROM tokens WHERE username = $1 RETURNING token_hash`, [username]);
  // This process forgets at once (its caches, streams and interfaces, before the caller's answer); every process
  // sharing the database hears the NOTIFY.
  tokenCacheOf(db)?.forgetUser(username);
  await db.announce(TOKEN_REVOKED_CHANNEL, username);
  return rows.length;
}
