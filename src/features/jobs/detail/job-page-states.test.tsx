import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jobChanged } from '@/api/live/job-cache-routing';
import { jobKeys } from '@/api/jobs';
import type { Job } from '@/api/types';
import { applyUpdate, findJob } from '@/mocks/db';
import { hasOpenStream } from '@/mocks/handlers';
import { products } from '@/mocks/fixtures';
import { server } from '@/mocks/node';
import { renderApp } from '@/test/render';
import { formatDateTime } from '@/lib/format';

/*
 * The job page's states (products that cannot be extended among them), rendered through the
 * real router and query cache against the mock API.
 */

async function openJob(id: string, title: RegExp) {
  const utils = renderApp(`/jobs/${id}`);
  await screen.findByRole('heading', { level: 1, name: title });
  return utils;
}

const announcer = () => screen.getByTestId('state-announcer');

describe('the live region', () => {
  it('announces a new state with the line that came with it, not the line before it', async () => {
    const { queryClient } = await openJob('4101', /my-database/);
    await waitFor(() => expect(hasOpenStream('jobs.follow', '4101')).toBe(true));
    act(() => {
      applyUpdate('4101', { newTimeAllocation: 25 * 3_600_000, status: 'Time allocation extended by 24 h, to 25 h in total' });
    });
    const timeline = screen.getByRole('list', { name: /job updates/i });
    await within(timeline).findByText('Time allocation extended by 24 h, to 25 h in total');

    // What jobs.listen delivers first: the job in its new state, without its updates (they follow on jobs.follow).
    const cached = queryClient.getQueryData<Job>(jobKeys.detail('4101'))!;
    act(() => jobChanged(queryClient, { ...cached, status: { ...cached.status, state: 'SUCCESS' }, updates: [] }));
    await screen.findByText(/the job has finished/i);
    expect(announcer()).not.toHaveTextContent(/extended/i);

    // Then the update that carried the new state.
    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Terminated by user' });
    });
    await waitFor(() => expect(announcer()).toHaveTextContent('Job state changed to Terminated. Terminated by user'));
  });
});

describe('a finished job', () => {
  it('shows how long it ran and when it ended, not when it would have expired', async () => {
    await openJob('4103', /nightly-report/);
    const job = findJob('4103')!;
    const end = job.updates.at(-1)!.timestamp;
    const state = screen.getByRole('region', { name: 'State' });
    expect(within(state).getByText('1 min')).toBeInTheDocument();
    expect(within(state).getByText(/ran · ended/)).toBeInTheDocument();
    expect(within(state).getByText(formatDateTime(end))).toBeInTheDocument();
    expect(within(state).queryByText(/expires/)).not.toBeInTheDocument();
  });
});

describe('a product without time extension', () => {
  it('offers no extend buttons and says why; the page names the provider', async () => {
    server.use(
      http.get('/api/products/browse', () =>
        HttpResponse.json({
          items: products.map((p) => (p.id === 'example-compute' ? { ...p, supportsTimeExtension: false } : p)),
          itemsPerPage: 1000,
          next: null,
        }),
      ),
    );
    await openJob('4101', /my-database/);
    expect(await screen.findByText(/time extension is not offered on this machine type \(example-compute at example\)/i)).toBeInTheDocument();
    expect(screen.queryByRole('group', { name: 'Extend time allocation' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /extend by/i })).not.toBeInTheDocument();
    expect(screen.getByText(/on example-compute, at provider example/i)).toBeInTheDocument();
    const params = screen.getByRole('region', { name: 'Parameters' });
    expect(within(params).getByText('Provider').nextElementSibling).toHaveTextContent('example');
  });

  it('keeps the extend buttons on a product that supports it', async () => {
    await openJob('4101', /my-database/);
    expect(await screen.findByRole('button', { name: 'Extend by 24 hours' })).toBeInTheDocument();
    expect(screen.queryByText(/time extension is not offered/i)).not.toBeInTheDocument();
  });
});

describe('a peer that ended', () => {
  it('is named in the state card of the job that connects to it', async () => {
    await openJob('4104', /shop-frontend/);
    await waitFor(() => expect(hasOpenStream('jobs.listen')).toBe(true));
    const state = screen.getByRole('region', { name: 'State' });
    expect(within(state).queryByText(/can no longer reach/i)).not.toBeInTheDocument();
    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Terminated by user' });
    });
    expect(await within(state).findByText(/it can no longer reach/i)).toHaveTextContent('It can no longer reach database: my-database #4101 has ended.');
    expect(within(state).getByRole('link', { name: 'my-database #4101' })).toHaveAttribute('href', '/jobs/4101');
  });
});

describe('near expiry', () => {
  it('says so in words, not only in colour', async () => {
    await openJob('4101', /my-database/);
    expect(screen.queryByText(/expires soon/i)).not.toBeInTheDocument();
    const job = findJob('4101')!;
    // The provider reports an allocation that leaves five minutes.
    act(() => {
      applyUpdate('4101', { newTimeAllocation: Date.now() + 5 * 60_000 - job.status.startedAt!, status: 'Allocation changed' });
    });
    expect(await screen.findByText('Expires soon: less than 10 minutes left')).toBeInTheDocument();
  });
});

describe('a server outage', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * With the page's timers faked and the clock all but still, what a test waits for must be driven: each round lets
   * the timers due within the next millisecond run (React Query hands its results to the page through zero-delay
   * timers), then checks. A round moves the clock by 1 ms, so all the rounds of a test stay far short of the page's
   * first automatic try, 2 s away.
   */
  async function eventually(check: () => void, rounds = 200): Promise<void> {
    for (let round = 0; ; round++) {
      await act(() => vi.advanceTimersByTimeAsync(1));
      try {
        return check();
      } catch (error) {
        if (round >= rounds) throw error;
      }
    }
  }

  it('keeps the job on screen marked stale, counts down to the next try, and recovers on Retry now, not on its own', async () => {
    // While down, every call fails as fetch sees a server that is not there (msw's "error" response; nothing else
    // can make the mock API unreachable on demand). Once back, the server answers from the first probe on: another
    // call made in between (a panel's first load, say) cannot end the outage, so only a probe can.
    let down = false;
    let back = false;
    let probes = 0;
    server.use(
      http.get('/api/health', () => {
        probes += 1;
        if (back) down = false;
        return down ? HttpResponse.error() : HttpResponse.json({ status: 'ok' });
      }),
      http.all('/api/*', () => (down ? HttpResponse.error() : undefined)),
    );
    const { queryClient } = await openJob('4101', /my-database/);
    // From here on the page's own tries (2, 4, 8, 10 s apart) cannot come: only Retry now can end the outage.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    down = true;
    await act(() => queryClient.invalidateQueries({ queryKey: jobKeys.detail('4101') }));

    await eventually(() => expect(screen.getByText(/jobdeck’s server cannot be reached/i)).toBeInTheDocument());
    await eventually(() => expect(screen.getByTestId('stale')).toHaveTextContent(/it could not be refreshed, so it may be out of date/));
    // Still the job, not "Could not load the job".
    expect(screen.getByRole('heading', { level: 1, name: /my-database/ })).toBeInTheDocument();
    expect(screen.queryByText('Could not load the job')).not.toBeInTheDocument();
    expect(screen.getByText(/trying again in \d+ s\./i)).toBeInTheDocument();

    back = true;
    // The server is back, yet nothing has asked it: the page's next try has not come.
    expect(probes).toBe(0);
    expect(screen.getByText(/jobdeck’s server cannot be reached/i)).toBeInTheDocument();
    // A plain click: user-event and Testing Library's own waits count on timers that the fake clock holds.
    fireEvent.click(screen.getByRole('button', { name: 'Retry now' }));
    await eventually(() => expect(screen.queryByText(/jobdeck’s server cannot be reached/i)).not.toBeInTheDocument());
    await eventually(() => expect(screen.queryByTestId('stale')).not.toBeInTheDocument());
    expect(probes).toBe(1);
  });

  it('says the server cannot be reached as soon as the browser goes offline, with nothing asked of it', async () => {
    let calls = 0;
    server.use(
      http.all('/api/*', () => {
        calls += 1;
        return undefined;
      }),
    );
    await openJob('4101', /my-database/);
    calls = 0;
    // The page shows what it loaded, fresh: no call would fail to tell it the network is gone.
    act(() => void window.dispatchEvent(new Event('offline')));
    expect(screen.getByText(/jobdeck’s server cannot be reached/i)).toBeInTheDocument();
    expect(screen.getByRole('heading', { level: 1, name: /my-database/ })).toBeInTheDocument();
    expect(calls).toBe(0);
    // Back online, the probe finds the server and the notice goes.
    act(() => void window.dispatchEvent(new Event('online')));
    fireEvent.click(screen.getByRole('button', { name: 'Retry now' }));
    await waitFor(() => expect(screen.queryByText(/jobdeck’s server cannot be reached/i)).not.toBeInTheDocument());
  });
});
