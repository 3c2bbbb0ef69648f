import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from '@/app/app';
import { signInFromLocation } from '@/api/auth';
import '@/app/styles.css';

async function enableMocking(): Promise<void> {
  // Statically false in a normal build, so msw is never bundled for production.
  if (import.meta.env.VITE_ENABLE_MSW !== 'true') return;
  const { startMockWorker } = await import('@/mocks/browser');
  await startMockWorker();
}

async function start(): Promise<void> {
  await enableMocking();
  // Before the router reads the URL: the sign-in link's token, taken out of the fragment, becomes a session.
  await signInFromLocation();
  const container = document.getElementById('root');
  if (!container) throw new Error('index.html has no #root element');
  createRoot(container).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void start();
