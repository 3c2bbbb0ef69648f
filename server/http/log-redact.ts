import type { FastifyServerOptions } from 'fastify';

/** Query parameters that may carry a credential: whatever a client put there, it never reaches a log. */
const SECRET_PARAM = /token|bearer|auth|secret|password|grant|key|session/i;

/**
 * A request URL as it may be logged: the value of every parameter that looks like a credential is replaced.
 * Jobdeck itself never takes a token in a URL (the Authorization header, socket frames, the link's #fragment), but
 * a client may still send one there, e.g. `?access_token=` out of habit.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed escape is logged as sent (it is a name, not a value).
      }
      return eq >= 0 && SECRET_PARAM.test(decoded) ? `${name}=[REDACTED]` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

/** The server's logger: JSON lines at `level`, never a token (header, frame field or query string). */
export function serverLogger(level: string, stream?: { write(line: string): void }): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    ...(stream ? { stream } : {}),
    // Belt and braces: tokens travel only in the Authorization header and socket frames; never log either.
    redact: ['req.headers.authorization', 'headers.authorization', 'bearer', '*.bearer'],
    serializers: {
      req: (request: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
    },
  };
}
