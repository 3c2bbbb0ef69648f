import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { sessionReloaded } from '@/api/session';
import { socketClient } from '@/api/socket';
import { resetMockDb } from '@/mocks/db';
import { server } from '@/mocks/node';

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
beforeEach(() => {
  resetMockDb();
  window.localStorage.clear();
  sessionReloaded();
});
afterEach(() => {
  cleanup();
  socketClient.closeAll();
  server.resetHandlers();
});
afterAll(() => server.close());
