import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance } from 'fastify';

/**
 * The dashboard's Content-Security-Policy. The built SPA is one module script and stylesheets of its own origin, so
 * nothing inline is allowed: an injected `<script>` or `onerror=` does not run even if a rendering bug let one
 * through. `connect-src 'self'` covers the REST calls and the same-origin WebSocket. `frame-ancestors 'none'`: no
 * page may frame the dashboard (clickjacking). Job interfaces are other origins with a CSP of their own
 * (server/interfaces/proxy.ts), and are served by another Fastify instance, so none of this reaches them.
 */
export const DASHBOARD_CSP = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

const isApi = (url: string) => url.startsWith('/api/') || url.startsWith('/ucloud/');

const HELMET_OPTIONS = {
  // helmet's defaults add upgrade-insecure-requests, which would send a plain-http deployment's requests to https.
  contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP },
  // `no-referrer`: a URL of the dashboard (a job id, a filter) never travels to another site.
  referrerPolicy: { policy: 'no-referrer' as const },
  frameguard: { action: 'deny' as const },
  // Not includeSubDomains: job interfaces live on subdomains (job-<id>.<domain>) that may be served over http.
  strictTransportSecurity: { maxAge: 15_552_000, includeSubDomains: false },
};

/**
 * The headers @fastify/helmet sets with HELMET_OPTIONS, found once by asking it on a throw-away instance. The plugin
 * itself builds helmet's middleware anew for every request (CSP parsing included), which was a sizeable share of a
 * busy route's time (postStatus); these options have no per-request part (no nonces), so the answer never changes.
 */
async function helmetHeaders(): Promise<Record<string, string>> {
  const probe = async (withHelmet: boolean) => {
    const app = Fastify({ logger: false });
    if (withHelmet) await app.register(helmet, HELMET_OPTIONS);
    app.get('/', async () => 'probe');
    const response = await app.inject({ method: 'GET', url: '/' });
    await app.close();
    return response.headers;
  };
  const [plain, helmeted] = await Promise.all([probe(false), probe(true)]);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(helmeted)) {
    if (!(name in plain) && typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/**
 * Security headers on every response of the dashboard's origin (helmet's), and `Cache-Control: no-store` on the
 * API's, so neither a shared cache nor the browser's keeps a user's jobs or an issued token. Set as the request
 * arrives, so every answer carries them, a 401 or a 404 included.
 */
export const securityHeaders = fp(async (app: FastifyInstance) => {
  const headers = await helmetHeaders();
  if (!headers['content-security-policy']) throw new Error('@fastify/helmet set no Content-Security-Policy');
  const apiHeaders = { ...headers, 'cache-control': 'no-store' };
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(isApi(request.url) ? apiHeaders : headers);
    done();
  });
});
