import crypto from 'node:crypto';
import type { Queryable } from '../db/index';
import { TOKEN_REVOKED_CHANNEL, tokenCacheOf } from './token-cache';

export type Role = 'USER' | 'SERVICE' | 'PROVIDER' | 'ADMIN';

export interface Principal {
  username: string;
  role: Role;
}

export const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

/** 256 random bits, URL-safe so it can travel in a sign-in link's fragment. */
export const newToken = () => crypto.randomBytes(32).toString('base64url');

export async function principalForToken(db: Queryable, token: string): Promise<Principal | null> {
  const hash = hashToken(token);
  // The app's database has a cache (server/auth/token-cache.ts); a transaction or the CLI asks the database.
  const cache = tokenCacheOf(db);
  const cached = cache?.get(hash);
  if (cached) return cached;
  const generation = cache?.generation ?? 0;
  const rows = await db.query<Principal>(
    `SELECT u.username, u.role FROM tokens t JOIN users u ON u.username = t.username WHERE t.token_hash = $1`,
    [hash],
  );
  if (rows[0]) cache?.set(hash, rows[0], generation);
  return rows[0] ?? null;
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

/** Revokes every token of a user; returns how many there were. */
export async function revokeTokens(db: Queryable, username: string): Promise<number> {
  const rows = await db.query(`DELETE FROM tokens WHERE username = $1 RETURNING token_hash`, [username]);
  // This process forgets at once; every process sharing the database (and a transaction's caller) hears the NOTIFY.
  tokenCacheOf(db)?.forgetUser(username);
  await db.query('SELECT pg_notify($1, $2)', [TOKEN_REVOKED_CHANNEL, username]);
  return rows.length;
}
