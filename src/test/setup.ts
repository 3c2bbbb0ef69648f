import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { sessionReloaded } from '@/api/session';
import { live } from '@/api/live/live';
import { resetMockDb } from '@/mocks/db';
import { resetMockWireLog } from '@/mocks/handlers';
import { server } from '@/mocks/node';

// jsdom lacks CSS.supports, which Ariakit's dialog probes; answer "unsupported" like an old browser.
if (typeof globalThis.CSS === 'undefined' || typeof globalThis.CSS.supports !== 'function') {
  Object.defineProperty(globalThis, 'CSS', { value: { ...(globalThis.CSS ?? {}), supports: () => false }, configurable: true });
}

// jsdom does no layout, so it has no scrollIntoView; Ariakit calls it when a popover or combobox item gets focus.
if (typeof Element.prototype.scrollIntoView !== 'function') {
  Element.prototype.scrollIntoView = function scrollIntoView() {};
}

// Lazy routes and MSW answer asynchronously, and a lazy route's first load transforms its modules: under CI's load
// (average 11 on two cores) that can take longer than 4 s. A wait only lasts this long when a test fails anyway.
configure({ asyncUtilTimeout: 15_000 });

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
beforeEach(() => {
  resetMockDb();
  resetMockWireLog();
  window.localStorage.clear();
  sessionReloaded();
});
afterEach(() => {
  cleanup();
  live.socket.closeAll();
  server.resetHandlers();
});
afterAll(() => server.close());
