import { test as base, expect } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';

export interface Credentials {
  user: string;
  ucloud: string;
  provider: string;
  admin: string;
}

const dataDir = process.env.JOBDECK_DATA_DIR ?? 'test-results/e2e-data';

export function credentials(): Credentials {
  return JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as Credentials;
}

/** The sign-in link exactly as the server printed it at start-up. */
export function printedSignInLink(): string {
  const log = fs.readFileSync('test-results/e2e-server.log', 'utf8');
  const match = /Sign in as 'user': (\S+)/.exec(log);
  if (!match) throw new Error(`The server printed no sign-in link:\n${log}`);
  return match[1]!;
}

/** Calls the real server's REST API, as a client would. */
export async function api(baseURL: string, token: string, method: string, url: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(url, baseURL), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} -> ${response.status}: ${text}`);
  return text ? JSON.parse(text) : {};
}

/** What Chromium prints when the Content-Security-Policy blocks something (a script, a style, a connection…). */
const CSP_VIOLATION = /Content Security Policy|Refused to (load|execute|apply|connect|frame|evaluate)/i;

export const test = base.extend<{ creds: Credentials; cspViolations: string[] }>({
  // Playwright requires a destructuring pattern for a fixture's first argument.
  // eslint-disable-next-line no-empty-pattern
  creds: async ({}, use) => {
    await use(credentials());
  },
  // Every journey runs under the server's real CSP (server/http/security-headers.ts); anything it blocks in any page
  // of the journey's browser context fails the journey, so the dashboard is known to work under it.
  cspViolations: [
    async ({ context }, use) => {
      const violations: string[] = [];
      context.on('console', (message) => {
        if (CSP_VIOLATION.test(message.text())) violations.push(`${message.location().url}: ${message.text()}`);
      });
      await use(violations);
      expect(violations, 'CSP violations in the browser console').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
