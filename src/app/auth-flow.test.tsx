import { screen, waitFor } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { signInFromLocation } from '@/api/auth';
import { getToken } from '@/api/session';
import { safeNextPath } from '@/features/auth/sign-in-page';
import { MOCK_SESSION, MOCK_TOKEN } from '@/mocks/fixtures';
import { apiError } from '@/mocks/handlers';
import { server } from '@/mocks/node';
import { renderApp } from '@/test/render';

describe('signing in', () => {
  it('exchanges the sign-in link\'s token for a session, stores only the session, and clears the address bar', async () => {
    window.history.replaceState(null, '', `/jobs?x=1#token=${MOCK_TOKEN}`);
    await signInFromLocation();
    expect(getToken()).toBe(MOCK_SESSION);
    expect(window.localStorage.getItem('jobdeck.token')).toBe(MOCK_SESSION);
    expect(window.location.hash).toBe('');
    expect(window.location.pathname + window.location.search).toBe('/jobs?x=1');
  });

  it('keeps the link\'s access token for the tab only when the server cannot be asked for a session', async () => {
    server.use(http.post('/api/auth/sessions', () => HttpResponse.error(), { once: true }));
    window.history.replaceState(null, '', `/jobs#token=${MOCK_TOKEN}`);
    await signInFromLocation();
    expect(getToken()).toBe(MOCK_TOKEN);
    expect(window.localStorage.getItem('jobdeck.token')).toBeNull();
    expect(window.location.hash).toBe('');
  });

  it('sends a visitor without a token to sign-in, refuses a wrong token, then returns them', async () => {
    const { user, router } = renderApp('/jobs?state=RUNNING', { signedIn: false });
    await screen.findByRole('heading', { name: 'Sign in' });
    expect(router.state.location.pathname).toBe('/sign-in');

    const field = screen.getByLabelText('Access token');
    await user.type(field, 'not-a-token');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/this token was not accepted/i);
    expect(field).toHaveAttribute('aria-invalid', 'true');

    await user.clear(field);
    await user.type(field, MOCK_TOKEN);
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByRole('heading', { name: 'Jobs' });
    expect(router.state.location.pathname + router.state.location.search).toBe('/jobs?state=RUNNING');
    // The pasted access token is not what the browser keeps: the session it was exchanged for is.
    expect(window.localStorage.getItem('jobdeck.token')).toBe(MOCK_SESSION);
  });

  it('on a 401 from any call, goes to sign-in and afterwards back to where the user was', async () => {
    server.use(http.get('/api/jobs/retrieve', () => apiError(401, 'Missing or unknown token'), { once: true }));
    const { user, router } = renderApp('/jobs/4101');

    await screen.findByRole('heading', { name: 'Sign in' });
    expect(screen.getByText(/your session has ended/i)).toBeInTheDocument();
    expect(getToken()).toBeNull();
    expect(router.state.location.search).toBe(`?next=${encodeURIComponent('/jobs/4101')}`);

    await user.type(screen.getByLabelText('Access token'), MOCK_TOKEN);
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await screen.findByRole('heading', { name: /my-database/ });
    expect(router.state.location.pathname).toBe('/jobs/4101');
  });

  it('signs out, and asks the server to end the session', async () => {
    const ended: (string | null)[] = [];
    server.use(
      http.post('/api/auth/sessions/end', ({ request }) => {
        ended.push(request.headers.get('Authorization'));
        return HttpResponse.json({ ended: true });
      }),
    );
    const { user, router } = renderApp('/applications');
    await user.click(await screen.findByRole('button', { name: 'Sign out' }));
    await waitFor(() => expect(ended).toEqual([`Bearer ${MOCK_SESSION}`]));
    await screen.findByRole('heading', { name: 'Sign in' });
    expect(screen.getByText(/you have signed out/i)).toBeInTheDocument();
    expect(getToken()).toBeNull();
    await waitFor(() => expect(router.state.location.pathname).toBe('/sign-in'));
  });

  it('only returns to paths inside the app', () => {
    expect(safeNextPath('/jobs/1?x=2')).toBe('/jobs/1?x=2');
    expect(safeNextPath('//evil.example/x')).toBe('/applications');
    expect(safeNextPath('https://evil.example')).toBe('/applications');
    expect(safeNextPath('/\\evil.example')).toBe('/applications');
    expect(safeNextPath(null)).toBe('/applications');
  });
});
