import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

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

/**
 * Security headers on every response of the dashboard's origin (@fastify/helmet), and `Cache-Control: no-store` on
 * the API's, so neither a shared cache nor the browser's keeps a user's jobs or an issued token.
 */
export const securityHeaders = fp(async (app: FastifyInstance) => {
  await app.register(helmet, {
    // helmet's defaults add upgrade-insecure-requests, which would send a plain-http deployment's requests to https.
    contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP },
    // `no-referrer`: a URL of the dashboard (a job id, a filter) never travels to another site.
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    // Not includeSubDomains: job interfaces live on subdomains (job-<id>.<domain>) that may be served over http.
    strictTransportSecurity: { maxAge: 15_552_000, includeSubDomains: false },
  });
  app.addHook('onSend', async (request, reply) => {
    if (isApi(request.url)) reply.header('cache-control', 'no-store');
  });
});
