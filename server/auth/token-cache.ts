import type { Db } from '../db/index';
import type { TokenInfo } from './principal';

/** NOTIFY channel on which a revocation tells every server process (and PGlite's own listeners) to forget a user. */
export const TOKEN_REVOKED_CHANNEL = 'jobdeck_token_revoked';
/** NOTIFY channel of a dashboard session ended at sign-out; its payload is JSON `{username, tokenHash}`. */
export const SESSION_ENDED_CHANNEL = 'jobdeck_session_ended';

export function parseSessionEnded(payload: string): { username: string; tokenHash: string } | null {
  try {
    const value = JSON.parse(payload) as { username?: unknown; tokenHash?: unknown };
    return typeof value.username === 'string' && typeof value.tokenHash === 'string'
      ? { username: value.username, tokenHash: value.tokenHash }
      : null;
  } catch {
    return null;
  }
}

/** A backstop only: revocation normally reaches the cache at once (directly, or by NOTIFY from another process). */
const TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

/**
 * Bearer lookups by token hash, kept in memory so that a busy route (postStatus at thousands per second) does
 * not pay a database query per request. Only known tokens are kept (an unknown token always asks the
 * database, so guessing cannot fill the cache). Revocation removes the user's entries; the generation
 * counter keeps a lookup that was already under way when a revocation landed from caching a stale answer.
 */
export class TokenCache {
  private readonly entries = new Map<string, { info: TokenInfo; expires: number }>();
  generation = 0;

  get(hash: string, now = Date.now()): TokenInfo | null {
    const entry = this.entries.get(hash);
    if (!entry) return null;
    if (entry.expires <= now) {
      this.entries.delete(hash);
      return null;
    }
    return entry.info;
  }

  /** Caches a lookup that started at `generation`, unless a revocation happened since; never past a session's expiry. */
  set(hash: string, info: TokenInfo, generation: number, now = Date.now()) {
    if (generation !== this.generation) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(hash, { info, expires: Math.min(now + TTL_MS, info.expiresAt ?? Infinity) });
  }

  forgetUser(username: string) {
    this.generation += 1;
    for (const [hash, entry] of this.entries) if (entry.info.principal.username === username) this.entries.delete(hash);
  }
}

const caches = new WeakMap<object, TokenCache>();

/** The cache of one database (tests run many apps, each with its own database, in one process). */
export function tokenCacheOf(db: Db | object): TokenCache | undefined {
  return caches.get(db);
}

export function createTokenCache(db: Db): TokenCache {
  let cache = caches.get(db);
  if (!cache) {
    cache = new TokenCache();
    caches.set(db, cache);
  }
  return cache;
}
