import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from '@/app/app';
import { consumeTokenFromLocation } from '@/api/session';
import '@/app/styles.css';

async function enableMocking(): Promise<void> {
  // Statically false in a normal build, so msw is never bundled for production.
  if (import.meta.env.VITE_ENABLE_MSW !== 'true') return;
  const { startMockWorker } = await import('@/mocks/browser');
  await startMockWorker();
}

// Before the router reads the URL: take the sign-in link's token out of the fragment.
consumeTokenFromLocation();

void enableMocking().then(() => {
  const container = document.getElementById('root');
  if (!container) throw new Error('index.html has no #root element');
  createRoot(container).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
});
