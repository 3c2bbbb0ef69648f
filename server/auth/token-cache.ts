import type { Db } from '../db/index';
import type { Principal } from './tokens';

/** NOTIFY channel on which a revocation tells every server process (and PGlite's own listeners) to forget a user. */
export const TOKEN_REVOKED_CHANNEL = 'jobdeck_token_revoked';

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
  private readonly entries = new Map<string, { principal: Principal; expires: number }>();
  generation = 0;

  get(hash: string): Principal | null {
    const entry = this.entries.get(hash);
    if (!entry) return null;
    if (entry.expires < Date.now()) {
      this.entries.delete(hash);
      return null;
    }
    return entry.principal;
  }

  /** Caches a lookup that started at `generation`, unless a revocation happened since. */
  set(hash: string, principal: Principal, generation: number) {
    if (generation !== this.generation) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(hash, { principal, expires: Date.now() + TTL_MS });
  }

  forgetUser(username: string) {
    this.generation += 1;
    for (const [hash, entry] of this.entries) if (entry.principal.username === username) this.entries.delete(hash);
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
