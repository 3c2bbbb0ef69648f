import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import httpProxy, { type FastifyHttpProxyOptions } from '@fastify/http-proxy';
import type { IncomingHttpHeaders } from 'node:http';
import type WebSocket from 'ws';
import { isFinalState } from '../../contract/jobs';
import { jobIdOfHost, type InterfaceDomain } from './domain';
import { pages, renderPage, type InterfacePage } from './pages';
import { SESSION_TTL_MS, type InterfaceService } from './service';

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
  const sockets = new Set<WebSocket>();
  const secure = domain.scheme === 'https';

  app.addHook('onResponse', async (request, reply) => {
    log.info(
      { interface: jobIdOfHost(domain, request.headers.host), method: request.method, path: request.url.split('?', 1)[0], statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'interface request',
    );
  });

  app.setErrorHandler((error, request, reply) => {
    log.warn({ err: error, path: request.url.split('?', 1)[0] }, 'interface: request failed');
    return sendPage(reply, { status: 502, title: 'Something went wrong', body: '<p>Jobdeck could not pass this request to the job. Reload to try again.</p>' });
  });

  // The grant from jobs.openInteractiveSession becomes a cookie of this host only, and leaves the address bar.
  app.get(GRANT_PATH, async (request, reply) => {
    const jobId = jobIdOfHost(domain, request.headers.host)!;
    const grant = (request.query as Record<string, unknown>).g;
    const redeemed = typeof grant === 'string' && grant.length <= 100 ? await service.redeem(grant, jobId) : null;
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
    return reply
      .status(303)
      .headers({ 'set-cookie': cookie, location: '/', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
      .send();
  });

  /** Lets the owner's browser through to a running job; everyone else gets a page saying why not. */
  async function admit(request: FastifyRequest, reply: FastifyReply) {
    const jobId = jobIdOfHost(domain, request.headers.host)!;
    const secret = cookieValue(request.headers.cookie, COOKIE);
    const session = secret ? await service.session(secret, jobId) : null;
    if (!session) return sendPage(reply, pages.signIn());
    const job = await service.job(jobId);
    if (!job || job.owner !== session.owner) return sendPage(reply, pages.notFound(jobId));
    if (isFinalState(job.state)) return sendPage(reply, pages.ended(jobId, job.state));
    if (job.state !== 'RUNNING') return sendPage(reply, pages.notRunning(jobId, job.state));
    if (!job.target || 'why' in job.target) return sendPage(reply, pages.notAnswering(jobId, job.target?.why ?? 'no address yet'));
    (request as WithTarget)[TARGET] = job.target.url;
  }

  const proxyOptions = {
    upstream: '',
    websocket: true,
    preHandler: admit,
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
      onConnect: (_context: unknown, source: WebSocket) => void sockets.add(source),
      onDisconnect: (_context: unknown, source: WebSocket) => void sockets.delete(source),
    },
  };
  // The library's types allow only part of what it takes (wsClientOptions.rewriteRequestHeaders is documented).
  await app.register(httpProxy, proxyOptions as unknown as FastifyHttpProxyOptions);
  await app.ready();
  return { app, sockets };
}
