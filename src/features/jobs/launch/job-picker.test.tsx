import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import type { BulkRequest, JobSpecification, PageV2, Job } from '@/api/types';
import { server } from '@/mocks/node';
import { renderApp } from '@/test/render';

async function openWebApp() {
  const utils = renderApp('/applications/acme-web-app/1.0.0');
  await screen.findByRole('button', { name: 'Launch job' });
  await utils.user.click(screen.getByRole('button', { name: /connect to job/i }));
  const row = screen.getByRole('group', { name: 'Connection 1' });
  const combobox = within(row).getByRole('combobox', { name: /^job/i });
  return { ...utils, row, combobox };
}

function options(): HTMLElement[] {
  const listbox = screen.queryByRole('listbox');
  return listbox ? within(listbox).queryAllByRole('option') : [];
}

function optionNames(): string[] {
  return options().map((o) => o.textContent ?? '');
}

describe('the "Connect to job" picker', () => {
  it('lists only RUNNING jobs on the chosen provider, searchable by name, id or application', async () => {
    const { user, combobox } = await openWebApp();
    await user.click(combobox);
    const listbox = await screen.findByRole('listbox');
    // 4101, 4104 and 4106 run on "example"; 4102 runs elsewhere; 4103/4105 are finished.
    await waitFor(() => expect(within(listbox).getAllByRole('option')).toHaveLength(3));
    expect(optionNames().join('\n')).toMatch(/my-database/);
    expect(optionNames().join('\n')).not.toMatch(/analytics-db|nightly-report|broken-import/);

    await user.type(combobox, 'shop');
    expect(optionNames()).toEqual([expect.stringMatching(/shop-frontend/)]);
    await user.clear(combobox);
    await user.type(combobox, '4106');
    expect(optionNames()).toEqual([expect.stringMatching(/cache-store/)]);
    await user.clear(combobox);
    await user.type(combobox, 'acme-database');
    expect(optionNames()).toHaveLength(2);
    await user.clear(combobox);
    await user.type(combobox, 'zzz');
    expect(options()).toHaveLength(0);
    expect(screen.getByText(/no running job matches “zzz”/i)).toBeInTheDocument();
  });

  it('is operated with the keyboard: arrows move, Enter picks and suggests a hostname, Escape closes', async () => {
    const { user, row, combobox } = await openWebApp();
    combobox.focus();
    // Down opens the list; Escape closes it and leaves focus in the field.
    await user.keyboard('{ArrowDown}');
    await screen.findByRole('listbox');
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('listbox')).not.toBeInTheDocument());
    expect(combobox).toHaveFocus();
    expect(combobox).toHaveValue('');

    await user.keyboard('{ArrowDown}');
    await screen.findByRole('listbox');
    await waitFor(() => expect(options().length).toBeGreaterThan(1));
    await user.keyboard('{ArrowDown}');
    const [first, second] = options();
    await waitFor(() => expect(combobox).toHaveAttribute('aria-activedescendant', first!.id));
    await user.keyboard('{ArrowDown}');
    await waitFor(() => expect(combobox).toHaveAttribute('aria-activedescendant', second!.id));
    await user.keyboard('{ArrowUp}');
    await waitFor(() => expect(combobox).toHaveAttribute('aria-activedescendant', first!.id));
    const firstName = first!.querySelector('.combobox-item__title')?.textContent ?? '';
    await user.keyboard('{Enter}');

    await waitFor(() => expect(screen.queryByRole('listbox')).not.toBeInTheDocument());
    expect((combobox as HTMLInputElement).value).toMatch(new RegExp(`^${firstName} \\(#\\d+\\)$`));
    // The hostname is suggested from the picked job's name.
    expect(within(row).getByRole('textbox', { name: /hostname/i })).toHaveValue(firstName);
  });

  it('suggests the hostname from the picked job and sends the peer as a resource', async () => {
    let sent: JobSpecification | undefined;
    server.use(
      http.post('/api/jobs', async ({ request }) => {
        sent = ((await request.json()) as BulkRequest<JobSpecification>).items[0];
        return HttpResponse.json({ responses: [{ id: '4300' }] });
      }),
    );
    const { user, row, combobox, router } = await openWebApp();
    await user.type(combobox, 'my-data');
    await waitFor(() => expect(options()).toHaveLength(1));
    await user.keyboard('{ArrowDown}{Enter}');
    expect(within(row).getByRole('textbox', { name: /hostname/i })).toHaveValue('my-database');
    await user.clear(within(row).getByRole('textbox', { name: /hostname/i }));
    await user.type(within(row).getByRole('textbox', { name: /hostname/i }), 'database');
    await user.click(screen.getByRole('button', { name: 'Launch job' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/jobs/4300'));
    expect(sent?.resources).toEqual([{ type: 'peer', hostname: 'database', jobId: '4101' }]);
  });

  it('validates hostnames as DNS names and refuses duplicates before submit', async () => {
    let posted = false;
    server.use(
      http.post('/api/jobs', () => {
        posted = true;
        return HttpResponse.json({ responses: [{ id: '1' }] });
      }),
    );
    const { user, row } = await openWebApp();
    const hostname = within(row).getByRole('textbox', { name: /hostname/i });
    await user.type(hostname, 'Database');
    await user.tab();
    expect(hostname).toHaveAccessibleDescription(/lowercase/i);
    await user.clear(hostname);
    await user.type(hostname, '-db');
    expect(hostname).toHaveAccessibleDescription(/cannot start or end with “-”/i);
    await user.clear(hostname);
    await user.type(hostname, 'db_1');
    expect(hostname).toHaveAccessibleDescription(/only a–z, 0–9/i);
    await user.clear(hostname);
    await user.type(hostname, `${'a'.repeat(64)}`);
    expect(hostname).toHaveAccessibleDescription(/at most 63/i);
    await user.clear(hostname);
    await user.type(hostname, 'db');
    expect(hostname).not.toHaveAttribute('aria-invalid');

    await user.click(screen.getByRole('button', { name: /connect to job/i }));
    const row2 = screen.getByRole('group', { name: 'Connection 2' });
    await user.type(within(row2).getByRole('textbox', { name: /hostname/i }), 'db');
    await user.click(screen.getByRole('button', { name: 'Launch job' }));
    expect(within(row2).getByRole('textbox', { name: /hostname/i })).toHaveAccessibleDescription(/already used/i);
    expect(within(row).getByRole('combobox', { name: /^job/i })).toHaveAccessibleDescription(/choose a running job/i);
    expect(posted).toBe(false);
  });

  it('says why it is empty when no running job can be connected', async () => {
    const empty: PageV2<Job> = { items: [], itemsPerPage: 1000, next: null };
    server.use(http.get('/api/jobs/browse', () => HttpResponse.json(empty)));
    const { combobox } = await openWebApp();
    await waitFor(() => expect(combobox).toHaveAccessibleDescription(/you have no running jobs/i));
  });

  it('explains when running jobs exist only on another provider, and follows the machine type', async () => {
    const { findJob } = await import('@/mocks/db');
    const onlyOther: PageV2<Job> = { items: [findJob('4102')!], itemsPerPage: 1000, next: null };
    server.use(http.get('/api/jobs/browse', () => HttpResponse.json(onlyOther)));
    const { user, combobox } = await openWebApp();
    await waitFor(() =>
      expect(combobox).toHaveAccessibleDescription(/none of your running jobs runs on provider “example”/i),
    );
    expect(combobox).toHaveAccessibleDescription(/same provider as the machine type/i);

    await user.selectOptions(screen.getByRole('combobox', { name: /machine type/i }), 'other/other-gpu');
    expect(combobox).not.toHaveAccessibleDescription(/none of your running jobs/i);
    await user.click(combobox);
    await waitFor(() => expect(optionNames()).toEqual([expect.stringMatching(/analytics-db/)]));
  });
});
