import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';

/*
 * The dashboard's origin sends a strict CSP and the usual security headers, and API answers are
 * never cached. Over real HTTP, so the interface origins (handed to another server by Host header) are checked too.
 */

let port: number;
const publicDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-public-'));
fs.writeFileSync(path.join(publicDir, 'index.html'), '<!doctype html><title>Jobdeck</title><script type="module" src="/assets/a.js"></script>');

const t = sharedApp({ publicDir });
beforeAll(async () => {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as { port: number }).port;
});
afterAll(() => fs.rmSync(publicDir, { recursive: true, force: true }));

function get(url: string, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: url, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response));
    });
    request.on('error', reject);
  });
}

/** The CSP as a map of directive → sources. */
function csp(header: string | string[] | undefined): Map<string, string[]> {
  expect(typeof header).toBe('string');
  return new Map(
    (header as string).split(';').map((part) => part.trim()).filter(Boolean).map((part) => {
      const [name, ...sources] = part.split(/\s+/);
      return [name!, sources];
    }),
  );
}

describe("the dashboard's origin", () => {
  it.each(['/', '/jobs/42'])('GET %s (the SPA) has a strict CSP and the security headers', async (url) => {
    const response = await get(url);
    expect(response.statusCode).toBe(200);
    const policy = csp(response.headers['content-security-policy']);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(policy.get('default-src')).toEqual(["'self'"]);
    expect([...policy.values()].flat()).not.toContain("'unsafe-inline'");
    expect([...policy.values()].flat()).not.toContain("'unsafe-eval'");
    expect(policy.has('upgrade-insecure-requests')).toBe(false);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['x-frame-options']).toBe('DENY');
  });

  it.each([
    ['an answer', '/api/jobs/browse', true],
    ['a 401', '/api/jobs/browse', false],
    ['a 404 of an unknown endpoint', '/api/nothing-here', true],
    ['a provider endpoint', '/ucloud/example/jobs/retrieve?id=1', true],
  ])('API: %s is Cache-Control: no-store, nosniff, no-referrer', async (_label, url, withToken) => {
    const token = url.startsWith('/ucloud/') ? t.tokens.ucloud : t.tokens.user;
    const response = await get(url, withToken ? { authorization: `Bearer ${token}` } : {});
    expect(response.statusCode).toBeLessThan(500);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
  });

  it('a job interface origin keeps its own CSP, not the dashboard\'s', async () => {
    const response = await get('/', { host: `job-1.localhost:${port}` });
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    const policy = csp(response.headers['content-security-policy']);
    expect(policy.get('default-src')).toEqual(["'none'"]);
    expect(policy.has('script-src')).toBe(false);
  });
});
