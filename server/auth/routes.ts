import type { FastifyInstance } from 'fastify';
import { ROLES } from '../../contract/constants';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { badRequest, conflict, notFound } from '../http/errors';
import { replies } from '../http/replies';
import { bearerOf, principal } from './plugin';
import { createUser, endSession, findUser, issueSession, issueToken, revokeTokens, tokenInfo, type Role } from './tokens';
import { USERNAME_PATTERN } from '../../contract/validators';

const ALL_ROLES: readonly Role[] = ROLES;
const ADMIN: readonly Role[] = ['ADMIN'];

const Username = Type.String({ minLength: 1, maxLength: 64 });
const UserAddRequest = Type.Object(
  { username: Username, role: Type.Optional(Type.Union([Type.Literal('USER'), Type.Literal('PROVIDER'), Type.Literal('SERVICE')])) },
  { additionalProperties: false },
);
const UsernameRequest = Type.Object({ username: Username }, { additionalProperties: false });

const RoleName = Type.Enum(['USER', 'SERVICE', 'PROVIDER', 'ADMIN']);
const Me = Type.Object({ username: Type.String(), role: RoleName, sessionExpiresAt: Type.Optional(Type.Union([Type.Integer(), Type.Null()])) });
const Session = Type.Object({ username: Type.String(), role: RoleName, token: Type.String(), expiresAt: Type.Integer() });
const NewUser = Type.Object({ username: Type.String(), role: RoleName, token: Type.String() });
const Issued = Type.Object({ username: Type.String(), token: Type.String() });
const Revoked = Type.Object({ username: Type.String(), revoked: Type.Integer() });

function checkUsername(username: string) {
  if (!new RegExp(USERNAME_PATTERN).test(username)) {
    throw badRequest(`username: may contain only A-Z a-z 0-9 _ . - # (1 to 64 characters)`);
  }
}

/** Who am I, and the operator's user and token management (the CLI's HTTP API, contract §8). */
export async function authRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.services;

  app.get('/api/auth/whoami', { schema: { response: replies(Me) }, config: { roles: ALL_ROLES } }, async (request) => {
    const info = await tokenInfo(db, bearerOf(request.headers.authorization) ?? '');
    const me = principal(request);
    // A dashboard session says when it ends; an access token has no end.
    return info?.kind === 'session' ? { ...me, sessionExpiresAt: info.expiresAt } : me;
  });

  // The dashboard's sign-in: an access token (the link's, or one pasted) is exchanged for a session that expires and
  // that sign-out ends. Only the session is kept in the browser; the access token is not stored there.
  app.post('/api/auth/sessions', { schema: { response: replies(Session) }, config: { roles: ALL_ROLES } }, async (request) => {
    const info = await tokenInfo(db, bearerOf(request.headers.authorization) ?? '');
    if (info?.kind === 'session') {
      throw badRequest('Authorization: this is a session token, which cannot open another session; sign in with an access token');
    }
    const me = principal(request);
    const session = await issueSession(db, me.username, app.services.config.sessionTtlMs);
    return { ...me, token: session.token, expiresAt: session.expiresAt };
  });

  // Sign-out: ends the session that makes the call (and only it). An access token is not ended here.
  const ended = { response: replies(Type.Object({ ended: Type.Boolean() })) };
  app.post('/api/auth/sessions/end', { schema: ended, config: { roles: ALL_ROLES } }, async (request) => {
    const bearer = bearerOf(request.headers.authorization) ?? '';
    if (!(await endSession(db, bearer))) {
      throw badRequest('Authorization: this is an access token, not a session; revoke it with `npm run cli -- token revoke <name>`');
    }
    return { ended: true };
  });

  app.post('/api/admin/users', { schema: { body: UserAddRequest, response: replies(NewUser) }, config: { roles: ADMIN } }, async (request) => {
    const body = request.body;
    checkUsername(body.username);
    const role = body.role ?? 'USER';
    return db.tx(async (q) => {
      if (!(await createUser(q, body.username, role))) throw conflict(`username: '${body.username}' already exists`);
      return { username: body.username, role, token: await issueToken(q, body.username) };
    });
  });

  app.post('/api/admin/tokens/issue', { schema: { body: UsernameRequest, response: replies(Issued) }, config: { roles: ADMIN } }, async (request) => {
    const { username } = request.body;
    if (!(await findUser(db, username))) throw notFound(`username: no user '${username}'`);
    return { username, token: await issueToken(db, username) };
  });

  app.post('/api/admin/tokens/revoke', { schema: { body: UsernameRequest, response: replies(Revoked) }, config: { roles: ADMIN } }, async (request) => {
    const { username } = request.body;
    if (!(await findUser(db, username))) throw notFound(`username: no user '${username}'`);
    return { username, revoked: await revokeTokens(db, username) };
  });

}
