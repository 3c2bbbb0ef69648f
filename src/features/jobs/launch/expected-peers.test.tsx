import { act, screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import type { BulkRequest, JobSpecification, Product } from '@/api/types';
import { applyUpdate, createJob, mockDb } from '@/mocks/db';
import { products } from '@/mocks/fixtures';
import { server } from '@/mocks/node';
import { renderApp } from '@/test/render';
import { loadCatalog } from '../../../../server/catalog/catalog';

/*
 * The launch form against the real catalog's acme-web-app (server/catalog/default-catalog.yaml), which declares the
 * peer it expects: an acme-database job under the hostname `database`.
 */
const webApp = loadCatalog().findApplication('acme-web-app', '1.0.0')!;

function serveWebApp(extraProducts: Product[] = []) {
  const sent: JobSpecification[] = [];
  server.use(
    http.get('/api/hpc/apps/retrieve', ({ request }) =>
      new URL(request.url).searchParams.get('name') === 'acme-web-app' ? HttpResponse.json(webApp) : undefined,
    ),
    http.get('/api/products/browse', () => HttpResponse.json({ items: [...products, ...extraProducts], itemsPerPage: 50, next: null })),
    http.post('/api/jobs', async ({ request }) => {
      sent.push(...((await request.json()) as BulkRequest<JobSpecification>).items);
      return HttpResponse.json({ responses: [{ id: '4101' }] });
    }),
  );
  return sent;
}

async function open(path = '/applications/acme-web-app/1.0.0') {
  const utils = renderApp(path);
  await screen.findByRole('button', { name: 'Launch job' }, { timeout: 15_000 });
  return utils;
}

describe('expected peers (catalog expectedPeers)', () => {
  it('names the hostname the app expects, prefills it, and offers fitting jobs first', async () => {
    const sent = serveWebApp();
    const { user } = await open();
    const connection = screen.getByRole('group', { name: 'Connection 1: Database' });
    expect(within(connection).getByRole('textbox', { name: /^hostname/i })).toHaveValue('database');
    expect(screen.getByText(/Pick the job; it reaches it/).closest('p')).toHaveTextContent('Acme Web App expects a acme-database job as database.');

    const combobox = within(connection).getByRole('combobox', { name: /^job/i });
    await user.click(combobox);
    const listbox = await screen.findByRole('listbox');
    const fitting = await within(listbox).findByRole('group', { name: 'Fitting: acme-database jobs' });
    // acme-database jobs on provider example (analytics-db runs elsewhere); the web app 4104 comes after, apart.
    expect(within(fitting).getAllByRole('option').map((o) => o.textContent?.split(' ')[0]).sort()).toEqual(['cache-store#4106', 'my-database#4101']);
    expect(within(within(listbox).getByRole('group', { name: 'Other running jobs' })).getByRole('option')).toHaveTextContent(/shop-frontend/);
    await user.click(within(fitting).getByRole('option', { name: /my-database/ }));
    // Picking a job keeps the expected name (a job's own name would be `my-database`).
    expect(within(connection).getByRole('textbox', { name: /^hostname/i })).toHaveValue('database');

    await user.click(screen.getByRole('button', { name: 'Launch job' }));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.resources).toEqual([{ type: 'peer', hostname: 'database', jobId: '4101' }]);
  });

  it('warns when the expected hostname is changed, and an untouched expected connection is left out', async () => {
    const sent = serveWebApp();
    const { user } = await open();
    const hostname = screen.getByRole('textbox', { name: /^hostname/i });
    await user.clear(hostname);
    await user.type(hostname, 'db');
    expect(hostname).toHaveAccessibleDescription(/looks for “database”; under another name it will not find this job/);
    await user.clear(hostname);
    await user.type(hostname, 'database');
    await user.click(screen.getByRole('button', { name: 'Launch job' }));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.resources).toBeNull();
  });

  it('warns at Launch while the expected peer is not connected, and launches anyway if asked', async () => {
    const sent = serveWebApp();
    const { user } = await open();
    const launch = screen.getByRole('button', { name: 'Launch job' });
    const warning = 'No job is connected as database (Database), which Acme Web App expects. It starts without it';
    expect(launch).toHaveAccessibleDescription(expect.stringContaining(warning));
    expect(screen.getByRole('note')).toHaveTextContent(warning);

    // A job picked for it: no warning.
    const connection = screen.getByRole('group', { name: 'Connection 1: Database' });
    await user.click(within(connection).getByRole('combobox', { name: /^job/i }));
    await user.click(await screen.findByRole('option', { name: /my-database/ }));
    expect(launch).not.toHaveAccessibleDescription();
    expect(screen.queryByText(/No job is connected as/)).not.toBeInTheDocument();

    // Renamed away from the expected hostname: the app will not find it, so the warning is back.
    const hostname = within(connection).getByRole('textbox', { name: /^hostname/i });
    await user.clear(hostname);
    await user.type(hostname, 'db');
    expect(launch).toHaveAccessibleDescription(expect.stringContaining(warning));
    await user.clear(hostname);
    await user.type(hostname, 'database');
    await user.click(within(connection).getByRole('button', { name: 'Remove connection 1' }));
    expect(launch).toHaveAccessibleDescription(expect.stringContaining(warning));

    // A warning, not a block.
    await user.click(launch);
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.resources).toBeNull();
  });

  it('offers no "Connect to job" on a machine type whose provider cannot connect jobs (supportsPeers: false)', async () => {
    const slurm: Product = { id: 'debug', category: 'debug', provider: 'slurm', description: 'A Slurm partition', cpu: 2, memoryInGigs: 4, gpu: 0, supportsPeers: false, supportsTimeExtension: false };
    serveWebApp([slurm]);
    const { user } = await open();
    expect(screen.getByRole('button', { name: '+ Connect to job' })).toBeInTheDocument();
    const machine = screen.getByRole('combobox', { name: /^machine type/i });
    // Options are grouped by provider.
    expect(within(machine).getByRole('group', { name: 'Provider slurm' })).toBeInTheDocument();
    await user.selectOptions(machine, 'slurm/debug');
    expect(machine).toHaveAccessibleDescription(/Runs on provider “slurm”\. Jobs on it cannot be connected to other jobs\./);
    expect(screen.queryByRole('button', { name: '+ Connect to job' })).not.toBeInTheDocument();
    expect(screen.queryByRole('group', { name: 'Connection 1: Database' })).not.toBeInTheDocument();
    expect(screen.getByText(/cannot connect to other jobs/)).toHaveTextContent('debug (provider slurm) cannot connect to other jobs');
  });
});

describe('the duplicate-job dialog', () => {
  it('names and links the running duplicate; after Cancel a plain note, focus on Launch, no raw API text', async () => {
    const { user } = await open('/applications/acme-database/1.0.0');
    await user.type(screen.getByRole('textbox', { name: /^data store/i }), '/123/acme-database');
    await user.click(screen.getByRole('button', { name: 'Launch job' }));
    const dialog = await screen.findByRole('dialog', { name: 'Start another job?' });
    expect(within(dialog).getByRole('link', { name: 'my-database (#4101)' })).toHaveAttribute('href', '/jobs/4101');
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    await waitFor(() => expect(screen.getByRole('button', { name: 'Launch job' })).toHaveFocus());
    const note = screen.getByText(/^Not started:/).closest('p') as HTMLElement;
    expect(note).toHaveTextContent(/Not started: my-database \(#4101\) is already running/);
    expect(within(note).getByRole('link', { name: 'my-database (#4101)' })).toBeInTheDocument();
    expect(document.body).not.toHaveTextContent(/allowDuplicateJob/);
  });
});

describe('Run again with a peer that has ended', () => {
  it('says which job it was and offers the newest running job of that application', async () => {
    serveWebApp();
    // A web app that connected to my-database (4101), which has since ended; cache-store (4106) still runs.
    let source = '';
    act(() => {
      const made = createJob(
        { ...mockDb.jobs.find((j) => j.id === '4104')!.specification, name: 'old-shop', allowDuplicateJob: true, resources: [{ type: 'peer', hostname: 'database', jobId: '4101' }] },
        0,
      );
      if (made.ok) source = made.id;
      applyUpdate('4101', { state: 'SUCCESS', status: 'Terminated by user' });
    });
    const { user } = await open(`/applications/acme-web-app/1.0.0?from=${source}`);
    const connection = screen.getByRole('group', { name: 'Connection 1: Database' });
    const notice = await within(connection).findByText(/is no longer running/);
    expect(notice).toHaveTextContent('The job this connected to as database, my-database (#4101), is no longer running (Success).');
    await user.click(within(connection).getByRole('button', { name: /Connect to cache-store \(#4106\) instead, the newest running acme-database job/ }));
    expect(within(connection).getByRole('combobox', { name: /^job/i })).toHaveValue('cache-store (#4106)');
    expect(within(connection).queryByText(/is no longer running/)).not.toBeInTheDocument();
  });
});
