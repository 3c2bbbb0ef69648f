import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { isFinalState } from '../../contract/jobs';
import { validatorCompiler } from '../http/parse';
import { lazySerializerCompiler } from '../http/replies';
import { jobIdOfHost, type InterfaceDomain } from './domain';
import { pages, renderPage, type InterfacePage } from './pages';
import { SESSION_TTL_MS, type InterfaceService, type JobAccess, type Session } from './service';

/** The cookie that holds a browser's session for one job's interface; host-only, so it never leaves that job's host. */
export const COOKIE = 'jobdeck_interface';
/** Jobdeck's own paths on an interface origin; everything else is the app's. */
export const GRANT_PATH = '/_jobdeck/grant';

const TARGET = Symbol('interface target');
type WithTarget = FastifyRequest & { [TARGET]?: string };

/** Headers on every page Jobdeck itself answers with on an interface origin. */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

function sendPage(reply: FastifyReply, page: InterfacePage) {
  return reply.status(page.status).headers(PAGE_HEADERS).send(renderPage(page));
}

/** One of pages.ts's pages: a string sent as it is (Fastify serialises only a JSON reply), so this only declares it. */
const HTML_PAGE = { content: { 'text/html': { schema: Type.String() } } };

/**
 * `GET /_jobdeck/grant?g=<grant>`. A grant is 43 characters; the bound keeps a huge value from reaching the hash
 * and the database. A person follows this link, so a query that fails the check (no `g`, an empty or a huge one,
 * two of them) gets the same page as a used or unknown grant: the handler answers it (attachValidation), not the
 * error handler, whose 502 page is for Jobdeck's own failures.
 */
const grantSchema = {
  querystring: Type.Object({ g: Type.String({ minLength: 1, maxLength: 100 }) }),
  response: {
    // No body (`type: null`, as Fastify declares a body-less answer): the redirect to /, with the session cookie.
    303: Type.Null(),
    401: HTML_PAGE,
    '5xx': HTML_PAGE,
  },
};

/** One cookie's value from a Cookie header (the first, as browsers send the most specific first). */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The Cookie header without Jobdeck's cookie: the app's own cookies pass, Jobdeck's never reaches it. */
export function withoutOurCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .filter((part) => {
      const eq = part.indexOf('=');
      return (eq < 0 ? part : part.slice(0, eq)).trim() !== COOKIE;
    })
    .map((part) => part.trim())
    .filter(Boolean);
  return kept.length > 0 ? kept.join('; ') : undefined;
}

/** What the app receives: the browser's request without Jobdeck's credentials. */
function upstreamHeaders(headers: IncomingHttpHeaders, request: FastifyRequest): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...headers };
  delete out.authorization;
  delete out['proxy-authorization'];
  const cookie = withoutOurCookie(request.headers.cookie);
  if (cookie === undefined) delete out.cookie;
  else out.cookie = cookie;
  out['x-forwarded-host'] = request.headers.host;
  out['x-forwarded-proto'] = request.protocol;
  return out;
}

/** An app may not set (or clear) Jobdeck's cookie on its origin. */
function withoutOurSetCookie(headers: Record<string, unknown>): Record<string, unknown> {
  const set = headers['set-cookie'];
  if (set === undefined) return headers;
  const list = (Array.isArray(set) ? set : [set]).filter((c) => typeof c === 'string' && c.split('=', 1)[0]!.trim() !== COOKIE);
  const out = { ...headers };
  if (list.length === 0) delete out['set-cookie'];
  else out['set-cookie'] = list;
  return out;
}

export interface InterfaceAppOptions {
  service: InterfaceService;
  domain: InterfaceDomain;
  log: FastifyBaseLogger;
}

/**
 * The server of every job's interface origin: a Fastify instance of its own, never listening, to which the main
 * server hands each request (and WebSocket upgrade) whose Host is `job-<id>.<domain>` (plugin.ts). So no dashboard
 * route is ever reachable on a job's origin, and no job content on the dashboard's.
 */
export async function buildInterfaceApp(opts: InterfaceAppOptions): Promise<{ app: FastifyInstance; sockets: Set<WebSocket> }> {
  const { service, domain, log } = opts;
  // No logger of its own: the one request line below never holds a query string, since the grant travels in one.
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
  // The dashboard's check of a route's schema (server/http/); only Jobdeck's own route has one, the proxy none.
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(lazySerializerCompiler());
  const sockets = new Set<WebSocket>();
  const secure = domain.scheme === 'https';

  // One line per request at info (the path only: a grant travels in the query string). A callback hook that builds
  // nothing when info is off, since every proxied request passes here.
  app.addHook('onResponse', (request, reply, done) => {
    if ((log as Partial<{ isLevelEnabled(level: string): boolean }>).isLevelEnabled?.('info') ?? true) {
      log.info(
        { interface: jobIdOfHost(domain, request.headers.host), method: request.method, path: request.url.split('?', 1)[0], statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'interface request',
      );
    }
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    log.warn({ err: error, path: request.url.split('?', 1)[0] }, 'interface: request failed');
    return sendPage(reply, { status: 502, title: 'Something went wrong', body: '<p>Jobdeck could not pass this request to the job. Reload to try again.</p>' });
  });

  // The grant from jobs.openInteractiveSession becomes a cookie of this host only, and leaves the address bar.
  app.withTypeProvider<TypeBoxTypeProvider>().get(GRANT_PATH, { schema: grantSchema, attachValidation: true }, async (request, reply) => {
    const jobId = jobIdOfHost(domain, request.headers.host)!;
    const redeemed = request.validationError ? null : await service.redeem(request.query.g, jobId);
    if (!redeemed) return sendPage(reply, pages.badGrant());
    // Host-only (no Domain), so neither the dashboard's origin nor another job's can see it; HttpOnly, so the app's
    // scripts cannot read it; SameSite=Lax, so another site cannot make the browser send it along with a POST.
    const cookie = [
      `${COOKIE}=${redeemed.secret}`,
      'Path=/',
      'HttpOnly',
      'SameSite=Lax',
      `Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`,
      ...(secure ? ['Secure'] : []),
    ].join('; ');
    return reply.headers({ 'set-cookie': cookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).redirect('/', 303);
  });

  /** Whom each open WebSocket's connection is for, so that a revocation or the job's end closes it at once. */
  const upgrades = new Map<Socket, { jobId: string; owner: string }>();
  const offRevoked = service.onRevoked((revoked) => {
    for (const [socket, who] of upgrades) {
      if ('jobId' in revoked ? who.jobId === revoked.jobId : who.owner === revoked.owner) socket.destroy();
    }
  });
  app.addHook('onClose', async () => offRevoked());

  /** What to answer instead of the app, or null to pass the request on (its target set on the request). */
  function decide(request: FastifyRequest, jobId: string, session: Session | null, job: JobAccess | null): InterfacePage | null {
    if (!session) return pages.signIn();
    if (!job || job.owner !== session.owner) return pages.notFound(jobId);
    if (isFinalState(job.state)) return pages.ended(jobId, job.state);
    if (job.state !== 'RUNNING') return pages.notRunning(jobId, job.state);
    if (!job.target || 'why' in job.target) return pages.notAnswering(jobId, job.target?.why ?? 'no address yet');
    (request as WithTarget)[TARGET] = job.target.url;
    if (request.headers.upgrade) {
      const socket = request.raw.socket;
      upgrades.set(socket, { jobId, owner: session.owner });
      socket.once('close', () => upgrades.delete(socket));
    }
    return null;
  }

  /**
   * Lets the owner's browser through to a running job; everyone else gets a page saying why not. A callback hook:
   * when the session and the job are in memory (every request after a page's first), it decides at once, with no
   * promise and no query.
   */
  function admit(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) {
    const jobId = jobIdOfHost(domain, request.headers.host)!;
    const secret = cookieValue(request.headers.cookie, COOKIE);
    const answer = (page: InterfacePage | null) => (page ? void sendPage(reply, page) : done());
    if (!secret) return answer(pages.signIn());
    const cached = service.cached(secret, jobId);
    if (cached) return answer(decide(request, jobId, cached.session, cached.job));
    void (async () => {
      const session = await service.session(secret, jobId);
      return decide(request, jobId, session, session ? await service.job(jobId) : null);
    })().then(answer, done);
  }

  const proxyOptions = {
    upstream: '',
    websocket: true,
    preHandler: admit,
    // The interface server has no logger of its own; the onResponse line above is the one request line.
    disableRequestLogging: true,
    replyOptions: {
      getUpstream: (request: FastifyRequest) => (request as WithTarget)[TARGET]!,
      rewriteRequestHeaders: (request: FastifyRequest, headers: IncomingHttpHeaders) => upstreamHeaders(headers, request),
      rewriteHeaders: (headers: Record<string, unknown>) => withoutOurSetCookie(headers),
      onError: (reply: FastifyReply, { error }: { error: Error }) => {
        const jobId = jobIdOfHost(domain, reply.request.headers.host)!;
        // The address may be stale (the job ended a moment ago): ask again next time.
        service.forget(jobId);
        const why = (error as { code?: string }).code ?? error.message;
        void sendPage(reply, pages.notAnswering(jobId, why));
      },
    },
    wsClientOptions: {
      rewriteRequestHeaders: (headers: Record<string, string>, request: FastifyRequest) => {
        const cookie = withoutOurCookie(request.headers.cookie);
        return { ...headers, ...(cookie ? { cookie } : {}) };
      },
    },
    wsHooks: {
      onConnect: (_context: unknown, source: WebSocket, target: WebSocket) => {
        // The browser's side went (a revocation, the job's end, the user) while the app's was still connecting:
        // the library closes only an open socket, so close this one here rather than leave it open for good.
        if (source.readyState !== source.OPEN) return void target.terminate();
        sockets.add(source);
      },
      onDisconnect: (_context: unknown, source: WebSocket) => void sockets.delete(source),
    },
  };
  // The library's types allow only part of what it takes (wsClientOptions.rewriteRequestHeaders is documented).
  await app.register(httpProxy, proxyOptions as unknown as FastifyHttpProxyOptions);
  await app.ready();
  return { app, sockets };
}
