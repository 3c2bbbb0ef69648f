import { act, screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobKeys } from '@/api/jobs';
import type { Job } from '@/api/types';
import { applyUpdate, findJob, printOutput } from '@/mocks/db';
import { apiError, hasOpenStream } from '@/mocks/handlers';
import { server } from '@/mocks/node';
import { renderApp } from '@/test/render';
import { formatDateTime } from '@/lib/format';

async function openJob(id: string, title: RegExp) {
  const utils = renderApp(`/jobs/${id}`);
  await screen.findByRole('heading', { level: 1, name: title });
  return utils;
}

describe('job detail', () => {
  it('explains the state and shows the parameters', async () => {
    await openJob('4101', /my-database/);
    expect(screen.getByText(/the job is running\. it stops when its time allocation runs out/i)).toBeInTheDocument();
    expect(screen.getByText(/left · expires/i)).toBeInTheDocument();
    const params = screen.getByRole('region', { name: 'Parameters' });
    expect(within(params).getByText('dataStore')).toBeInTheDocument();
    expect(within(params).getByText('/123/acme-database')).toBeInTheDocument();
  });

  it('shows connected jobs in both directions, each a link', async () => {
    const { user } = await openJob('4104', /shop-frontend/);
    const panel = screen.getByRole('region', { name: 'Connected jobs' });
    expect(within(panel).getByText('database', { selector: '.peer-list__host' })).toBeInTheDocument();
    const forward = await within(panel).findByRole('link', { name: /my-database #4101/ });
    expect(forward).toHaveAttribute('href', '/jobs/4101');

    // The same facts as a picture, named in words.
    await waitFor(() =>
      expect(within(panel).getByRole('img', { name: /^Connections:/ })).toHaveAccessibleName(
        'Connections: shop-frontend reaches my-database (#4101) as database.',
      ),
    );

    await user.click(forward);
    await screen.findByRole('heading', { level: 1, name: /my-database/ });
    const reversePanel = screen.getByRole('region', { name: 'Connected jobs' });
    const reverse = await within(reversePanel).findByRole('link', { name: /shop-frontend #4104/ });
    expect(reverse).toHaveAttribute('href', '/jobs/4104');
    expect(within(reverse.closest('li')!).getByText('database')).toBeInTheDocument();
    const graph = within(reversePanel).getByRole('img', { name: /^Connections:/ });
    expect(graph.tagName.toLowerCase()).toBe('svg');
    expect(graph).toHaveAccessibleName('Connections: shop-frontend (#4104) reaches my-database as database.');
    // Boxes for both jobs, and the hostname on the arrow between them.
    expect(Array.from(graph.querySelectorAll('text')).map((t) => t.textContent)).toEqual(
      expect.arrayContaining(['shop-frontend', 'my-database', 'database']),
    );
  });

  it('follows the job live: new updates appear in the timeline and state changes are announced', async () => {
    await openJob('4101', /my-database/);
    await waitFor(() => expect(hasOpenStream('jobs.follow', '4101')).toBe(true));
    act(() => {
      applyUpdate('4101', { state: 'FAILURE', status: 'Disk full on the provider' });
    });
    const timeline = screen.getByRole('list', { name: /job updates/i });
    expect(await within(timeline).findByText('Disk full on the provider')).toBeInTheDocument();
    expect(screen.getByText(/the job has stopped because something went wrong/i)).toBeInTheDocument();
    // The live region is filled by an effect after the render that shows the new state (a CI run under load read it
    // in between), so wait for it.
    expect(await screen.findByText(/job state changed to failed\. disk full on the provider/i)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Terminate' })).not.toBeInTheDocument();
  });

  it('shows when a connected job is no longer running', async () => {
    await openJob('4104', /shop-frontend/);
    const panel = screen.getByRole('region', { name: 'Connected jobs' });
    await within(panel).findByRole('link', { name: /my-database #4101/ });
    await waitFor(() => expect(hasOpenStream('jobs.listen')).toBe(true));
    await waitFor(() => expect(hasOpenStream('jobs.follow', '4104')).toBe(true));
    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Terminated by user' });
    });
    expect(await within(panel).findByText('No longer running')).toBeInTheDocument();
    const timeline = screen.getByRole('list', { name: /job updates/i });
    expect(await within(timeline).findByText(/peer 'database' \(job 4101\) is no longer running/i)).toBeInTheDocument();
  });

  it('terminates only after confirmation', async () => {
    const { user } = await openJob('4101', /my-database/);
    await user.click(screen.getByRole('button', { name: 'Terminate' }));
    const dialog = await screen.findByRole('dialog', { name: 'Terminate this job?' });
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(findJob('4101')?.status.state).toBe('RUNNING');

    await user.click(screen.getByRole('button', { name: 'Terminate' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Terminate job' }));
    expect(await screen.findByText(/the job was terminated/i)).toBeInTheDocument();
    // The wire state stays SUCCESS; the page says what happened.
    expect(findJob('4101')?.status.state).toBe('SUCCESS');
    expect(within(screen.getByRole('region', { name: 'State' })).getByText('Terminated')).toBeInTheDocument();
    expect(screen.queryByText('Success')).not.toBeInTheDocument();
  });

  it('stays finished when the refetch after terminate was answered before the provider finished the job', async () => {
    // The race a CI run caught in Chromium: terminate's refetch is answered with the job still RUNNING, the
    // provider's SUCCESS arrives over the socket before that answer does, and the answer must not undo it.
    let armed = false;
    let answered = false;
    let refetching: () => void = () => undefined;
    const refetchStarted = new Promise<void>((resolve) => (refetching = resolve));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    server.use(
      http.post('/api/jobs/terminate', () => HttpResponse.json({})),
      http.get('/api/jobs/retrieve', async () => {
        if (!armed) return undefined;
        const stale = structuredClone(findJob('4101'));
        refetching();
        await gate;
        answered = true;
        return HttpResponse.json(stale);
      }),
    );
    const { user, queryClient } = await openJob('4101', /my-database/);
    await waitFor(() => expect(hasOpenStream('jobs.follow', '4101')).toBe(true));
    armed = true;
    await user.click(screen.getByRole('button', { name: 'Terminate' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Terminate job' }));
    await refetchStarted;

    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Terminated by user' });
    });
    expect(await screen.findByText(/the job was terminated/i)).toBeInTheDocument();

    // The positive signal that the stale answer was processed: react-query stored the refetch's result (one more
    // data update, and nothing in flight). Only then is "still finished" a statement about the answer.
    const stored = () => queryClient.getQueryState<Job>(jobKeys.detail('4101'))!;
    const updatesBefore = stored().dataUpdateCount;
    release();
    await waitFor(() => expect(answered).toBe(true));
    await waitFor(() => {
      expect(stored().dataUpdateCount).toBeGreaterThan(updatesBefore);
      expect(stored().fetchStatus).toBe('idle');
    });
    expect(stored().data?.status.state).toBe('SUCCESS');
    expect(screen.getByText(/the job was terminated/i)).toBeInTheDocument();
    expect(screen.queryByText(/the job is running/i)).not.toBeInTheDocument();
    const timeline = screen.getByRole('list', { name: /job updates/i });
    expect(within(timeline).getByText('Terminated by user')).toBeInTheDocument();
  });

  it('shows a refused extension as pending until the refusal, then the reason, with the expiry unchanged', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    server.use(
      http.post('/api/jobs/extend', async () => {
        await gate;
        return apiError(400, 'items[0].requestedTime: the provider allows at most 48 hours');
      }),
    );
    const { user } = await openJob('4101', /my-database/);
    const expiresAt = findJob('4101')!.status.expiresAt!;
    expect(screen.getByText(formatDateTime(expiresAt))).toBeInTheDocument();

    await user.click(await screen.findByRole('button', { name: 'Extend by 8 hours' }));
    expect(await screen.findByText(/extension pending: \+8 h, for 12 h in total/i)).toBeInTheDocument();
    // Not counted before the provider applies it.
    expect(screen.getByText(formatDateTime(expiresAt))).toBeInTheDocument();

    release();
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'The time allocation was not extended: items[0].requestedTime: the provider allows at most 48 hours',
    );
    expect(screen.queryByText(/extension pending/i)).not.toBeInTheDocument();
    expect(screen.getByText(formatDateTime(expiresAt))).toBeInTheDocument();
  });

  it('adds up quick extends as pending, then shows them applied, with the allocation text', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The provider applies each request when the gate opens (the mock applies them in order, as the real core does).
    server.use(
      http.post('/api/jobs/extend', async () => {
        await gate;
        return undefined;
      }),
    );
    const { user } = await openJob('4101', /my-database/);
    const params = screen.getByRole('region', { name: 'Parameters' });
    expect(within(params).getByText('4 h')).toBeInTheDocument();
    const expiresAt = findJob('4101')!.status.expiresAt!;
    const plus24 = await screen.findByRole('button', { name: 'Extend by 24 hours' });
    await user.click(plus24);
    await user.click(plus24);
    await user.click(plus24);
    expect(await screen.findByText(/extension pending: \+72 h, for 76 h in total/i)).toBeInTheDocument();
    expect(screen.getByText(formatDateTime(expiresAt))).toBeInTheDocument();

    release();
    expect(await screen.findByText(/extended by 72 h: the time allocation is now 76 h/i)).toBeInTheDocument();
    expect(screen.queryByText(/extension pending/i)).not.toBeInTheDocument();
    expect(screen.getByText(formatDateTime(expiresAt + 72 * 3_600_000))).toBeInTheDocument();
    expect(within(params).getByText('76 h (asked for 4 h, extended by 72 h)')).toBeInTheDocument();
  });

  it('runs again with the same parameters and connections', async () => {
    const { user, router } = await openJob('4104', /shop-frontend/);
    await user.click(screen.getByRole('link', { name: 'Run again' }));
    await screen.findByRole('button', { name: 'Launch job' });
    expect(router.state.location.search).toBe('?from=4104');
    expect(screen.getByText(/pre-filled from job #4104/i)).toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: /job name/i })).toHaveValue('shop-frontend');
    const row = screen.getByRole('group', { name: 'Connection 1' });
    expect(within(row).getByRole('textbox', { name: /hostname/i })).toHaveValue('database');
    await waitFor(() => expect(within(row).getByRole('combobox', { name: /^job/i })).toHaveValue('my-database (#4101)'));
  });

  it('says so when the job does not exist', async () => {
    server.use(http.get('/api/jobs/retrieve', () => apiError(404, 'No such job')));
    renderApp('/jobs/999');
    expect(await screen.findByRole('heading', { name: 'Job not found' })).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent('No such job');
  });

  it("offers Open interface for a running web app only, and opens the server's URL in a new tab without an opener", async () => {
    const opened: unknown[][] = [];
    const original = window.open;
    window.open = ((...args: unknown[]) => {
      opened.push(args);
      return null;
    }) as typeof window.open;
    try {
      const { user } = await openJob('4104', /shop-frontend/);
      const button = await screen.findByRole('button', { name: 'Open interface' });
      await user.click(button);
      await waitFor(() => expect(opened).toHaveLength(1));
      expect(opened[0]).toEqual(['http://job-4104.localhost:8080/_jobdeck/grant?g=mock-grant-4104', '_blank', 'noopener,noreferrer']);
      expect(await screen.findByText(/the interface opened in a new tab/i)).toHaveAttribute('role', 'status');

      // Once it has ended, the button goes.
      act(() => {
        applyUpdate('4104', { state: 'SUCCESS', status: 'Terminated by user' });
      });
      await waitFor(() => expect(screen.queryByRole('button', { name: 'Open interface' })).not.toBeInTheDocument());
    } finally {
      window.open = original;
    }
  });

  it('does not offer Open interface for an application without a web interface', async () => {
    await openJob('4101', /my-database/);
    await screen.findByRole('button', { name: 'Terminate' });
    expect(screen.queryByRole('button', { name: 'Open interface' })).not.toBeInTheDocument();
  });
});

describe('job output', () => {
  // jsdom does no layout; give the log's scroll box a size so the virtualiser renders its rows.
  const original = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientHeight');
  beforeAll(() => {
    Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
      configurable: true,
      get(this: HTMLElement) {
        return this.classList.contains('job-output__log') ? 380 : 0;
      },
    });
  });
  afterAll(() => {
    if (original) Object.defineProperty(HTMLElement.prototype, 'clientHeight', original);
  });

  it('shows what the job printed in a log, live, with stderr apart, and what it printed before the page opened', async () => {
    printOutput('4101', 'starting up\n');
    await openJob('4101', /my-database/);
    const log = await screen.findByRole('log', { name: 'Output of job 4101' });
    await within(log).findByText('starting up');
    act(() => printOutput('4101', 'listening on 5432\nhalf a li', 'warning: low disk\n'));
    await within(log).findByText('listening on 5432');
    expect(within(log).getByText('half a li')).toBeInTheDocument();
    expect(within(log).getByText('warning: low disk')).toHaveClass('job-output__line--stderr');
    act(() => printOutput('4101', 'ne\n'));
    await within(log).findByText('half a line');
  });

  it('says so when a job has printed nothing yet', async () => {
    await openJob('4101', /my-database/);
    const log = await screen.findByRole('log', { name: 'Output of job 4101' });
    expect(within(log).getByText('No output yet.')).toBeInTheDocument();
  });
});

describe('the tab', () => {
  it('names the job and its state, and follows the state live', async () => {
    await openJob('4101', /my-database/);
    await waitFor(() => expect(document.title).toBe('[Running] my-database – Jobdeck'));
    expect(document.querySelector('link[rel="icon"]')?.getAttribute('href')).toMatch(/^data:image\/svg\+xml,/);
    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Terminated by user' });
    });
    await waitFor(() => expect(document.title).toBe('[Terminated] my-database – Jobdeck'));
  });

  it('says Failed in the title of a job that failed', async () => {
    await openJob('4101', /my-database/);
    act(() => {
      applyUpdate('4101', { state: 'FAILURE', status: 'Exit code 1' });
    });
    await waitFor(() => expect(document.title).toBe('[Failed] my-database – Jobdeck'));
  });
});
