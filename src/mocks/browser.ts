import { setupWorker } from 'msw/browser';
import { resetMockDb } from '@/mocks/db';
import { handlers } from '@/mocks/handlers';

/** Dev only (VITE_ENABLE_MSW=true): the whole API in the browser, with a simulated provider. */
export async function startMockWorker(): Promise<void> {
  const extraJobs = Number(import.meta.env.VITE_MSW_EXTRA_JOBS ?? 0) || 0;
  resetMockDb({ extraJobs, simulateLifecycle: true });
  await setupWorker(...handlers).start({ onUnhandledRequest: 'bypass', quiet: true });
}
