import { act, screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Job, PageV2 } from '@/api/types';
import { applyUpdate, mockDb } from '@/mocks/db';
import { apiError, hasOpenStream } from '@/mocks/handlers';
import { server } from '@/mocks/node';
import { renderApp } from '@/test/render';

const header = (name: string) => screen.getAllByRole('columnheader').find((h) => h.textContent?.startsWith(name))!;

function rowFor(name: string): HTMLElement {
  return screen.getByRole('link', { name }).closest('[role="row"]') as HTMLElement;
}

// The list scrolls with the window (one scroll). jsdom does no layout or scrolling: stand in for both, so the
// window virtualiser sees a viewport (jsdom's 1024×768) and a scroll position.
function scrollWindowTo(y: number) {
  Object.defineProperty(window, 'scrollY', { configurable: true, value: y });
  Object.defineProperty(window, 'pageYOffset', { configurable: true, value: y });
  window.dispatchEvent(new Event('scroll'));
}
const originalScrollTo = window.scrollTo;
beforeAll(() => {
  window.scrollTo = ((x: number | ScrollToOptions, y?: number) => scrollWindowTo(typeof x === 'number' ? (y ?? 0) : (x.top ?? 0))) as typeof window.scrollTo;
});
afterEach(() => scrollWindowTo(0));
afterAll(() => {
  window.scrollTo = originalScrollTo;
});

describe('job list', () => {
  it('shows jobs with state badges in words', async () => {
    renderApp('/jobs');
    const table = await screen.findByRole('table', { name: 'Jobs' });
    expect(within(table).getByRole('link', { name: 'my-database' })).toHaveAttribute('href', '/jobs/4101');
    expect(within(rowFor('my-database')).getByText('Running')).toBeInTheDocument();
    expect(within(rowFor('broken-import')).getByText('Failed')).toBeInTheDocument();
    expect(within(rowFor('nightly-report')).getByText('Success')).toBeInTheDocument();
  });

  it('keeps filters and sort in the URL and sends them to the server', async () => {
    const seen: URLSearchParams[] = [];
    server.events.on('request:start', ({ request }) => {
      if (request.url.includes('/api/jobs/browse')) seen.push(new URL(request.url).searchParams);
    });
    const { user, router } = renderApp('/jobs?app=acme-batch');
    await screen.findByRole('table', { name: 'Jobs' });
    expect(screen.getByRole('combobox', { name: 'Application' })).toHaveValue('acme-batch');
    expect(screen.queryByRole('link', { name: 'my-database' })).not.toBeInTheDocument();

    await user.selectOptions(screen.getByRole('combobox', { name: 'State' }), 'FAILURE');
    await waitFor(() => expect(router.state.location.search).toBe('?app=acme-batch&state=FAILURE'));
    await screen.findByRole('link', { name: 'broken-import' });
    expect(screen.queryByRole('link', { name: 'nightly-report' })).not.toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: /sort oldest first/i }));
    await waitFor(() => expect(router.state.location.search).toContain('sort=createdAt&dir=asc'));
    await waitFor(() => expect(seen.at(-1)?.get('sortDirection')).toBe('ascending'));
    expect(seen.at(-1)?.get('filterState')).toBe('FAILURE');
    expect(seen.at(-1)?.get('filterApplication')).toBe('acme-batch');
    server.events.removeAllListeners();
  });

  it('explains an empty result and clears filters', async () => {
    const { user, router } = renderApp('/jobs?state=SUSPENDED');
    expect(await screen.findByText('No jobs match these filters')).toBeInTheDocument();
    await user.click(screen.getAllByRole('button', { name: 'Clear filters' })[0]!);
    await waitFor(() => expect(router.state.location.search).toBe(''));
    await screen.findByRole('table', { name: 'Jobs' });
  });

  it('says when there are no jobs at all', async () => {
    const empty: PageV2<Job> = { items: [], itemsPerPage: 250, next: null };
    server.use(http.get('/api/jobs/browse', () => HttpResponse.json(empty)));
    renderApp('/jobs');
    expect(await screen.findByText('You have no jobs yet')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Browse applications' })).toBeInTheDocument();
  });

  it('updates rows live and adds new jobs at the top', async () => {
    renderApp('/jobs');
    await screen.findByRole('table', { name: 'Jobs' });
    await waitFor(() => expect(hasOpenStream('jobs.listen')).toBe(true));
    act(() => {
      applyUpdate('4106', { state: 'EXPIRED', status: 'Your job ran out of time' });
    });
    await waitFor(() => expect(within(rowFor('cache-store')).getByText('Expired')).toBeInTheDocument());

    const { createJob } = await import('@/mocks/db');
    act(() => {
      createJob({ ...mockDb.jobs[0]!.specification, name: 'fresh-one', allowDuplicateJob: true }, 0);
    });
    const fresh = await screen.findByRole('link', { name: 'fresh-one' });
    expect(within(fresh.closest('[role="row"]') as HTMLElement).getByText('In queue')).toBeInTheDocument();
    const rows = screen.getAllByRole('row').slice(1);
    expect(within(rows[0]!).getByRole('link', { name: 'fresh-one' })).toBeInTheDocument();
  });

  it('says Terminated, not Success, for a job the user terminated, live and after a reload, keeping the wire state', async () => {
    const { unmount } = renderApp('/jobs');
    await screen.findByRole('table', { name: 'Jobs' });
    await waitFor(() => expect(hasOpenStream('jobs.listen')).toBe(true));
    act(() => {
      applyUpdate('4106', { state: 'SUCCESS', status: 'Terminated by user' });
      applyUpdate('4101', { state: 'SUCCESS', status: 'Finished normally' });
    });
    const terminated = await within(rowFor('cache-store')).findByText('Terminated');
    expect(terminated.closest('.badge')).toHaveAttribute('data-state', 'SUCCESS');
    await waitFor(() => expect(within(rowFor('my-database')).getByText('Success')).toBeInTheDocument());
    expect(within(rowFor('my-database')).queryByText('Terminated')).not.toBeInTheDocument();
    unmount();

    // Read afresh over REST (with updates), the same.
    renderApp('/jobs');
    await screen.findByRole('table', { name: 'Jobs' });
    expect(within(rowFor('cache-store')).getByText('Terminated')).toBeInTheDocument();
    expect(within(rowFor('nightly-report')).getByText('Success')).toBeInTheDocument();
  });

  it('with State = Running, gains a job that starts running and loses one that stops, live', async () => {
    const { createJob } = await import('@/mocks/db');
    let queued = '';
    act(() => {
      const made = createJob({ ...mockDb.jobs[0]!.specification, name: 'batch-late', allowDuplicateJob: true }, 0);
      if (made.ok) queued = made.id;
    });
    renderApp('/jobs?state=RUNNING');
    await screen.findByRole('link', { name: 'my-database' });
    await waitFor(() => expect(hasOpenStream('jobs.listen')).toBe(true));
    expect(screen.queryByRole('link', { name: 'batch-late' })).not.toBeInTheDocument();
    const before = screen.getByText(/^\d+ jobs$/).textContent;

    act(() => {
      applyUpdate(queued, { state: 'RUNNING', status: 'Started' });
    });
    const row = (await screen.findByRole('link', { name: 'batch-late' })).closest('[role="row"]') as HTMLElement;
    expect(within(row).getByText('Running')).toBeInTheDocument();
    // The newest job, in a newest-first list: the first row.
    expect(within(screen.getAllByRole('row')[1]!).getByRole('link', { name: 'batch-late' })).toBeInTheDocument();

    act(() => {
      applyUpdate('4101', { state: 'SUCCESS', status: 'Terminated by user' });
    });
    await waitFor(() => expect(screen.queryByRole('link', { name: 'my-database' })).not.toBeInTheDocument());
    expect(screen.getByText(/^\d+ jobs$/).textContent).toBe(before);
  });

  it('searches by name or id, through the server, and keeps the search in the URL', async () => {
    const seen: URLSearchParams[] = [];
    server.events.on('request:start', ({ request }) => {
      if (request.url.includes('/api/jobs/browse')) seen.push(new URL(request.url).searchParams);
    });
    const { user, router } = renderApp('/jobs');
    await screen.findByRole('link', { name: 'my-database' });
    const box = screen.getByRole('searchbox', { name: 'Search' });
    await user.type(box, 'rep');
    await waitFor(() => expect(router.state.location.search).toBe('?q=rep'));
    await screen.findByRole('link', { name: 'nightly-report' });
    // The results changed under the box: it keeps focus, and typing goes on where it was.
    expect(box).toHaveFocus();
    await user.keyboard('ort');
    await waitFor(() => expect(router.state.location.search).toBe('?q=report'));
    await waitFor(() => expect(screen.queryByRole('link', { name: 'my-database' })).not.toBeInTheDocument());
    await screen.findByRole('link', { name: 'nightly-report' });
    expect(screen.getByRole('searchbox', { name: 'Search' })).toBe(box);
    expect(box).toHaveFocus();
    expect(box).toHaveValue('report');
    await waitFor(() => expect(seen.at(-1)?.get('filterQuery')).toBe('report'));
    await user.clear(screen.getByRole('searchbox', { name: 'Search' }));
    await user.type(screen.getByRole('searchbox', { name: 'Search' }), '4104');
    await screen.findByRole('link', { name: 'shop-frontend' });
    await waitFor(() => expect(screen.queryByRole('link', { name: 'nightly-report' })).not.toBeInTheDocument());
    expect(screen.getByText('1 job')).toBeInTheDocument();
    server.events.removeAllListeners();
  });

  it('shows time left, the machine with its provider, and why a queued job waits', async () => {
    const { createJob } = await import('@/mocks/db');
    act(() => {
      createJob({ ...mockDb.jobs[0]!.specification, name: 'waiting-one', allowDuplicateJob: true }, 0);
    });
    renderApp('/jobs');
    const db = (await screen.findByRole('link', { name: 'my-database' })).closest('[role="row"]') as HTMLElement;
    expect(within(db).getByText(/^\d+ h \d\d min left$|^\d+ min left$/)).toBeInTheDocument();
    expect(within(db).getByText('on example')).toBeInTheDocument();
    expect(within(rowFor('analytics-db')).getByText('on other')).toBeInTheDocument();
    expect(within(rowFor('nightly-report')).getByText('Ended')).toBeInTheDocument();
    const waiting = rowFor('waiting-one');
    expect(within(waiting).getByText('Not started')).toBeInTheDocument();
    expect(within(waiting).getByText(/^waiting (under a minute|\d+ min): /)).toBeInTheDocument();
  });

  it('terminates several selected jobs together after a confirmation that names them', async () => {
    const terminated: string[][] = [];
    server.events.on('request:start', async ({ request }) => {
      if (request.url.endsWith('/api/jobs/terminate')) terminated.push(((await request.clone().json()) as { items: { id: string }[] }).items.map((i) => i.id));
    });
    const { user } = renderApp('/jobs');
    await screen.findByRole('link', { name: 'my-database' });
    // Finished jobs cannot be selected.
    expect(within(rowFor('nightly-report')).queryByRole('checkbox')).not.toBeInTheDocument();
    await user.click(within(rowFor('my-database')).getByRole('checkbox', { name: 'Select my-database' }));
    await user.click(within(rowFor('cache-store')).getByRole('checkbox', { name: 'Select cache-store' }));
    expect(screen.getByText('2 jobs selected')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Terminate 2 jobs' }));
    const dialog = await screen.findByRole('dialog', { name: 'Terminate 2 jobs?' });
    expect(within(dialog).getByText('my-database')).toBeInTheDocument();
    expect(within(dialog).getByText('cache-store')).toBeInTheDocument();
    // Cancel first: nothing is sent.
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(terminated).toEqual([]);
    await user.click(screen.getByRole('button', { name: 'Terminate 2 jobs' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Terminate 2 jobs' }));
    await waitFor(() => expect(terminated.map((ids) => [...ids].sort())).toEqual([['4101', '4106']]));
    await waitFor(() => expect(screen.queryByText(/jobs? selected/)).not.toBeInTheDocument());
    // The bar and its buttons are gone: focus is on what was done, not on <body>.
    await waitFor(() => expect(screen.getByText(/^Asked to terminate 2 jobs\./)).toHaveFocus());
    expect(document.activeElement).not.toBe(document.body);
    server.events.removeAllListeners();
  });

  it('filter and sort changes both push a history entry, and Back restores the scroll position', async () => {
    const { resetMockDb } = await import('@/mocks/db');
    resetMockDb({ extraJobs: 300 });
    const { user, router } = renderApp('/jobs');
    await screen.findByRole('link', { name: 'my-database' });
    await user.selectOptions(screen.getByRole('combobox', { name: 'State' }), 'RUNNING');
    await waitFor(() => expect(router.state.location.search).toBe('?state=RUNNING'));
    expect(router.state.historyAction).toBe('PUSH');
    await user.click(within(header('Job')).getByRole('button'));
    await waitFor(() => expect(router.state.location.search).toContain('sort=name'));
    expect(router.state.historyAction).toBe('PUSH');
    act(() => void router.navigate(-1));
    await waitFor(() => expect(router.state.location.search).toBe('?state=RUNNING'));
    act(() => void router.navigate(-1));
    await waitFor(() => expect(router.state.location.search).toBe(''));

    // Deep in the list, open a job, come Back: the same scroll position.
    await screen.findByRole('link', { name: 'my-database' });
    act(() => scrollWindowTo(4200));
    act(() => void router.navigate('/jobs/4101'));
    await screen.findByRole('heading', { level: 1, name: /my-database/ });
    act(() => scrollWindowTo(0));
    act(() => void router.navigate(-1));
    await waitFor(() => expect(router.state.location.pathname).toBe('/jobs'));
    await waitFor(() => expect(window.scrollY).toBe(4200));
  });

  it('loads the next server page when scrolled to the end', async () => {
    const { resetMockDb } = await import('@/mocks/db');
    resetMockDb({ extraJobs: 600 });
    renderApp('/jobs');
    await screen.findByRole('table', { name: 'Jobs' });
    // Only a screenful of rows is in the DOM, however many are loaded.
    await screen.findByRole('link', { name: 'my-database' });
    const rendered = screen.getAllByRole('row').length;
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(60);
    expect(screen.getByText('250+ jobs')).toBeInTheDocument();
    // Scroll the page to the end of what is loaded: the next page is fetched.
    act(() => scrollWindowTo(250 * 56));
    expect(await screen.findByText('500+ jobs')).toBeInTheDocument();
  });
});

describe('sorting the job list', () => {
  const browseRequests: URLSearchParams[] = [];
  const record = ({ request }: { request: Request }) => {
    if (request.url.includes('/api/jobs/browse')) browseRequests.push(new URL(request.url).searchParams);
  };
  beforeAll(() => {
    server.events.on('request:start', record);
  });
  afterAll(() => {
    server.events.removeListener('request:start', record);
  });
  const jobNames = () => screen.getAllByRole('row').slice(1).map((row) => within(row).getAllByRole('link')[0]!.textContent);

  it('sorts by a column when its header is clicked, and again the other way, keeping it in the URL', async () => {
    const { user, router } = renderApp('/jobs?state=RUNNING');
    await screen.findByRole('table', { name: 'Jobs' });
    expect(header('Created')).toHaveAttribute('aria-sort', 'descending');
    expect(header('Job')).not.toHaveAttribute('aria-sort');

    await user.click(within(header('Job')).getByRole('button', { name: /^Job\. Sort A to Z/ }));
    await waitFor(() => expect(router.state.location.search).toBe('?state=RUNNING&sort=name&dir=asc'));
    await waitFor(() => expect(jobNames()).toEqual(['analytics-db', 'cache-store', 'my-database', 'shop-frontend']));
    expect(header('Job')).toHaveAttribute('aria-sort', 'ascending');
    expect(header('Created')).not.toHaveAttribute('aria-sort');
    expect(browseRequests.at(-1)?.get('sortBy')).toBe('name');
    expect(browseRequests.at(-1)?.get('sortDirection')).toBe('ascending');
    expect(browseRequests.at(-1)?.get('filterState')).toBe('RUNNING');

    const nameButton = within(header('Job')).getByRole('button', { name: 'Job, sorted A to Z. Sort Z to A' });
    await user.click(nameButton);
    await waitFor(() => expect(router.state.location.search).toBe('?state=RUNNING&sort=name&dir=desc'));
    await waitFor(() => expect(jobNames()).toEqual(['shop-frontend', 'my-database', 'cache-store', 'analytics-db']));
    expect(header('Job')).toHaveAttribute('aria-sort', 'descending');
    // The button stays in the document (the rows are kept while the new order loads), so focus stays on it.
    expect(within(header('Job')).getByRole('button')).toHaveFocus();
  });

  it('is operable from the keyboard', async () => {
    const { user, router } = renderApp('/jobs');
    await screen.findByRole('table', { name: 'Jobs' });
    within(header('Application')).getByRole('button').focus();
    await user.keyboard('{Enter}');
    await waitFor(() => expect(router.state.location.search).toBe('?sort=application&dir=asc'));
    await waitFor(() => expect(header('Application')).toHaveAttribute('aria-sort', 'ascending'));
    await user.keyboard(' ');
    await waitFor(() => expect(header('Application')).toHaveAttribute('aria-sort', 'descending'));
    expect(router.state.location.search).toBe('?sort=application&dir=desc');
  });

  it('starts from the sort in the URL', async () => {
    browseRequests.length = 0;
    renderApp('/jobs?sort=state&dir=desc');
    await screen.findByRole('table', { name: 'Jobs' });
    // The list's own request (the notifications also fetch the running jobs at start, unsorted).
    const listRequest = browseRequests.find((r) => r.has('sortBy'));
    expect(listRequest?.get('sortBy')).toBe('state');
    expect(listRequest?.get('sortDirection')).toBe('descending');
    expect(header('State')).toHaveAttribute('aria-sort', 'descending');
    expect(within(header('State')).getByRole('button', { name: 'State, sorted finished first. Sort queued first' })).toBeInTheDocument();
    expect(jobNames().slice(0, 2)).toEqual(['broken-import', 'nightly-report']);
    expect(screen.getByText(/Your jobs, by state, finished first/)).toBeInTheDocument();
  });

  it('starts again from the first page when the sort changes', async () => {
    const { resetMockDb } = await import('@/mocks/db');
    resetMockDb({ extraJobs: 600 });
    const { user } = renderApp('/jobs');
    await screen.findByRole('table', { name: 'Jobs' });
    act(() => scrollWindowTo(250 * 56));
    expect(await screen.findByText('500+ jobs')).toBeInTheDocument();
    browseRequests.length = 0;
    await user.click(within(header('Job')).getByRole('button'));
    expect(await screen.findByText('250+ jobs')).toBeInTheDocument();
    expect(browseRequests[0]?.get('sortBy')).toBe('name');
    expect(browseRequests[0]?.has('next')).toBe(false);
    await waitFor(() => expect(window.scrollY).toBe(0));
  });

  it("shows the server's why when a sorted page is refused", async () => {
    server.use(
      http.get('/api/jobs/browse', ({ request }) =>
        new URL(request.url).searchParams.get('sortBy') === 'name'
          ? apiError(400, "sortBy: must be one of 'createdAt', 'application'")
          : undefined,
      ),
    );
    const { user } = renderApp('/jobs');
    await screen.findByRole('table', { name: 'Jobs' });
    await user.click(within(header('Job')).getByRole('button'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load jobs');
    expect(alert).toHaveTextContent("sortBy: must be one of 'createdAt', 'application'");
  });
});
