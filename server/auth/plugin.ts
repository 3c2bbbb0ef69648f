import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/index';
import { cachedTokenInfo, principalForToken, type Principal, type Role } from './tokens';
import { SESSION_ENDED_CHANNEL, TOKEN_REVOKED_CHANNEL, createTokenCache, parseSessionEnded } from './token-cache';
import { badRequest, forbidden, unauthorized } from '../http/errors';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Roles that may call the route; a route without it is public. */
    roles?: readonly Role[];
  }
}

export function bearerOf(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/** Resolves a bearer token to its principal and checks the role; 401 before 403, as contract §0 orders them. */
export async function authorize(db: Db, token: string | null, roles: readonly Role[]): Promise<Principal> {
  if (!token) throw unauthorized('A bearer token is required (Authorization: Bearer <token>)');
  const principal = await principalForToken(db, token);
  if (!principal) throw unauthorized('The bearer token is unknown or has been revoked');
  return checkRole(principal, roles);
}

function checkRole(principal: Principal, roles: readonly Role[]): Principal {
  if (!roles.includes(principal.role)) {
    throw forbidden(`This call is for ${roles.join(' or ')} principals; '${principal.username}' is ${principal.role}`);
  }
  return principal;
}

/** Every route declares `config.roles`; this hook enforces it before any body is looked at. */
export const authPlugin = fp(async (app: FastifyInstance, opts: { db: Db }) => {
  app.decorateRequest('principal', null);
  // Token lookups are cached; a revocation anywhere (this or another server process) empties the user's entries.
  const cache = createTokenCache(opts.db);
  const unlisten = await opts.db.listen(TOKEN_REVOKED_CHANNEL, (username) => cache.forgetUser(username));
  const unlistenEnded = await opts.db.listen(SESSION_ENDED_CHANNEL, (payload) => {
    const ended = parseSessionEnded(payload);
    if (ended) cache.forgetUser(ended.username);
  });
  app.addHook('onClose', async () => {
    await unlisten();
    await unlistenEnded();
  });
  // A callback hook: a token in the cache (the busy case, e.g. a provider posting task updates) is settled without
  // a promise; any other goes through authorize(), which asks the database.
  app.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
    const roles = request.routeOptions.config.roles;
    if (!roles) return done();
    const token = bearerOf(request.headers.authorization);
    const cached = token ? cachedTokenInfo(opts.db, token) : null;
    const accept = (principal: Principal) => {
      request.principal = principal;
      refuseProject(request.headers.project, 'Project (header)');
    };
    if (cached) {
      try {
        accept(checkRole(cached.principal, roles));
      } catch (error) {
        return done(error as Error);
      }
      return done();
    }
    authorize(opts.db, token, roles).then(
      (principal) => {
        try {
          accept(principal);
        } catch (error) {
          return done(error as Error);
        }
        done();
      },
      (error: Error) => done(error),
    );
  });
});

/**
 * UCloud's clients name the active project in a `Project` header (HTTP) or a `project` field (socket frames).
 * Jobdeck has personal workspaces only: none, or null/empty, is served as the caller's own; a project is refused,
 * never quietly answered from the personal workspace.
 */
export function refuseProject(project: unknown, field: string): void {
  if (project === undefined || project === null || project === '') return;
  throw badRequest(`${field}: projects are not supported; Jobdeck serves personal workspaces only (send no project, or null)`);
}

/** The principal of an authenticated route (the hook guarantees it). */
export function principal(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}
