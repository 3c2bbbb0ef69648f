import { describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { redactUrl, serverLogger } from './log-redact';

/*
 * A token sent in a query string must not reach the log with the request line, which is logged at info level. The
 * server's own logger (the one main.ts uses) at info, and what it writes.
 */

const lines: string[] = [];
const t = sharedApp({}, { logger: serverLogger('info', { write: (line) => void lines.push(line) }) });

describe('the request log', () => {
  it.each(['token', 'access_token', 'bearer', 'grant', 'Authorization'])('never holds a token sent as ?%s=', async (name) => {
    const secret = `s3cr3t-${name}-${Math.random().toString(36).slice(2)}`;
    lines.length = 0;
    const response = await t.call('GET', `/api/jobs/browse?itemsPerPage=10&${name}=${secret}`, t.tokens.user);
    expect(response.statusCode).toBeLessThan(500);
    const log = lines.join('');
    expect(log).toContain('/api/jobs/browse?itemsPerPage=10&');
    expect(log).toContain(`${name}=[REDACTED]`);
    expect(log).not.toContain(secret);
    expect(log).not.toContain(t.tokens.user);
  });
});

describe('redactUrl', () => {
  it('keeps everything but the values of credential-like parameters', () => {
    expect(redactUrl('/api/x')).toBe('/api/x');
    expect(redactUrl('/api/x?id=4&sortBy=name')).toBe('/api/x?id=4&sortBy=name');
    expect(redactUrl('/api/x?id=4&api%5Fkey=abc&t%=1&flag')).toBe('/api/x?id=4&api%5Fkey=[REDACTED]&t%=1&flag');
  });
});
