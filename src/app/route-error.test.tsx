import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { serverAnswered, serverUnreachable } from '@/api/reachability';
import { PageError, pageReload } from '@/app/route-error';
import { server } from '@/mocks/node';

afterEach(() => act(() => serverAnswered()));

describe("a page whose code could not be fetched while the server is down", () => {
  it('says so, and Try again asks the server: no answer says so, an answer reloads the page', async () => {
    const reload = vi.spyOn(pageReload, 'reload').mockImplementation(() => undefined);
    let up = false;
    server.use(http.get('/api/health', () => (up ? HttpResponse.json({ ok: true }) : HttpResponse.error())));
    act(() => serverUnreachable());
    const user = userEvent.setup();
    render(
      <MemoryRouter>
        <PageError error={new TypeError('Failed to fetch dynamically imported module: http://x/assets/job-list-page.js')} />
      </MemoryRouter>,
    );
    expect(screen.getByRole('heading', { level: 1, name: 'This page could not be loaded' })).toBeInTheDocument();
    const button = screen.getByRole('button', { name: 'Try again' });

    await user.click(button);
    expect(await screen.findByRole('status')).toHaveTextContent('Still no answer from the server');
    expect(reload).not.toHaveBeenCalled();

    up = true;
    await user.click(button);
    await waitFor(() => expect(reload).toHaveBeenCalledTimes(1));
  });

  it("counts a page's stylesheet that could not be fetched (Vite's preload error) as the same outage", () => {
    act(() => serverUnreachable());
    render(
      <MemoryRouter>
        <PageError error={new Error('Unable to preload CSS for http://x/assets/job-list-page.css')} />
      </MemoryRouter>,
    );
    expect(screen.getByRole('heading', { level: 1, name: 'This page could not be loaded' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });
});
