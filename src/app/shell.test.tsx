import { act, screen, waitFor, within } from '@testing-library/react';
import { http } from 'msw';
import { describe, expect, it } from 'vitest';
import { signInFromLocation } from '@/api/auth';
import { apiError } from '@/mocks/handlers';
import { server } from '@/mocks/node';
import { renderApp } from '@/test/render';

describe('the page-change signal', () => {
  it('names every route in the title and moves focus to the new page’s heading', async () => {
    const { user, router } = renderApp('/applications');
    await screen.findByRole('heading', { level: 1, name: 'Applications' });
    await waitFor(() => expect(document.title).toBe('Applications – Jobdeck'));

    await user.click(within(screen.getByRole('navigation', { name: 'Main' })).getByRole('link', { name: 'Jobs' }));
    const jobs = await screen.findByRole('heading', { level: 1, name: 'Jobs' });
    await waitFor(() => expect(document.title).toBe('Jobs – Jobdeck'));
    await waitFor(() => expect(jobs).toHaveFocus());

    // (jsdom does no layout, so the virtualised list shows no rows to click: go the way a row's link goes.)
    await act(() => router.navigate('/jobs/4101'));
    const job = await screen.findByRole('heading', { level: 1, name: /my-database/ });
    await waitFor(() => expect(document.title).toBe('[Running] my-database – Jobdeck'));
    await waitFor(() => expect(job).toHaveFocus());

    await user.click(screen.getByRole('link', { name: 'Run again' }));
    await screen.findByRole('button', { name: 'Launch job' }, { timeout: 15_000 });
    await waitFor(() => expect(document.title).toBe('Launch acme-database 1.0.0 – Jobdeck'));
    await waitFor(() => expect(screen.getByRole('heading', { level: 1 })).toHaveFocus());
    // Four pages with their data, on a loaded machine.
  }, 45_000);

  it('gives the 404 page its title and a way on as its main action, not Reload', async () => {
    renderApp('/no/such/page');
    await screen.findByRole('heading', { level: 1, name: 'Page not found' });
    await waitFor(() => expect(document.title).toBe('Page not found – Jobdeck'));
    expect(screen.getByRole('link', { name: 'Go to your jobs' })).toHaveClass('button--primary');
    expect(screen.queryByRole('button', { name: 'Reload' })).not.toBeInTheDocument();
  });
});

describe('a sign-in link whose token is refused', () => {
  it('says the link was not accepted, not that a session ended', async () => {
    server.use(http.get('/api/auth/whoami', () => apiError(401, 'Missing or unknown token')));
    server.use(http.get('/api/hpc/apps/browse', () => apiError(401, 'Missing or unknown token')));
    window.history.replaceState(null, '', '/applications#token=mistyped');
    await signInFromLocation();
    renderApp('/applications', { signedIn: false });
    await screen.findByRole('heading', { name: 'Sign in' });
    expect(await screen.findByText(/the sign-in link you opened was not accepted/i)).toBeInTheDocument();
    expect(screen.queryByText(/your session has ended/i)).not.toBeInTheDocument();
    await waitFor(() => expect(document.title).toBe('Sign in – Jobdeck'));
  });
});
