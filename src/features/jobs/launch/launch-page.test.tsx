import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import type { BulkRequest, JobSpecification } from '@/api/types';
import { apiError } from '@/mocks/handlers';
import { server } from '@/mocks/node';
import { renderApp } from '@/test/render';
import { loadCatalog } from '../../../../server/catalog/catalog';
import { checkSpecification } from '../../../../server/jobs/validate-spec';

async function openLaunch(path = '/applications/acme-showcase/2.1.0') {
  const utils = renderApp(path);
  await screen.findByRole('button', { name: 'Launch job' });
  return utils;
}

describe('launch form', () => {
  it('marks required fields and shows inline errors for every widget on submit', async () => {
    const { user } = await openLaunch();
    await user.clear(screen.getByLabelText(/^threads/i));
    await user.click(screen.getByRole('button', { name: 'Launch job' }));

    expect(await screen.findByText(/fields need your attention/i)).toBeInTheDocument();
    const label = screen.getByRole('textbox', { name: /^label/i });
    expect(label).toHaveAttribute('aria-invalid', 'true');
    expect(label).toHaveAccessibleDescription(/this field is required/i);
    expect(screen.getByRole('combobox', { name: /^mode/i })).toHaveAccessibleDescription(/choose an option/i);
    expect(screen.getByRole('textbox', { name: /^threads/i })).toHaveAccessibleDescription(/this field is required/i);
    expect(screen.getByRole('combobox', { name: /^verbose/i })).toHaveAccessibleDescription(/choose yes or no/i);
    expect(screen.getByRole('textbox', { name: /^input file/i })).toHaveAccessibleDescription(/this field is required/i);
    // Optional fields left empty are fine.
    expect(screen.getByRole('textbox', { name: /^notes/i })).not.toHaveAttribute('aria-invalid');
    expect(screen.getByRole('textbox', { name: /^sample ratio/i })).not.toHaveAttribute('aria-invalid');
    // Focus moves to the first invalid field.
    expect(label).toHaveFocus();
  });

  it('validates integers against min and max', async () => {
    const { user } = await openLaunch();
    const threads = screen.getByRole('textbox', { name: /^threads/i });
    await user.clear(threads);
    await user.type(threads, '2.5');
    await user.tab();
    expect(threads).toHaveAccessibleDescription(/enter a whole number/i);
    await user.clear(threads);
    await user.type(threads, '65');
    expect(threads).toHaveAccessibleDescription(/from 1 to 64/i);
    await user.clear(threads);
    await user.type(threads, '0');
    expect(threads).toHaveAccessibleDescription(/enter a value from 1 to 64/i);
    await user.clear(threads);
    await user.type(threads, '64');
    expect(threads).not.toHaveAttribute('aria-invalid');
  });

  it('validates floating point numbers and their range', async () => {
    const { user } = await openLaunch();
    const ratio = screen.getByRole('textbox', { name: /^sample ratio/i });
    await user.type(ratio, 'abc');
    await user.tab();
    expect(ratio).toHaveAccessibleDescription(/enter a number/i);
    await user.clear(ratio);
    await user.type(ratio, '1.5');
    expect(ratio).toHaveAccessibleDescription(/from 0 to 1/i);
    await user.clear(ratio);
    await user.type(ratio, '0.25');
    expect(ratio).not.toHaveAttribute('aria-invalid');
  });

  it('validates file and folder paths: absolute, normalised, no ".."', async () => {
    const { user } = await openLaunch();
    const input = screen.getByRole('textbox', { name: /^input file/i });
    await user.type(input, 'data/file.csv');
    await user.tab();
    expect(input).toHaveAccessibleDescription(/absolute path/i);
    await user.clear(input);
    await user.type(input, '/home/../etc/passwd');
    expect(input).toHaveAccessibleDescription(/must not contain “\.\.”/i);
    await user.clear(input);
    await user.type(input, '/home//data');
    expect(input).toHaveAccessibleDescription(/“\/\/”/);
    await user.clear(input);
    await user.type(input, '/home/data/');
    expect(input).toHaveAccessibleDescription(/trailing/i);
    await user.clear(input);
    await user.type(input, '/home/data/input.csv');
    expect(input).not.toHaveAttribute('aria-invalid');

    const folder = screen.getByRole('textbox', { name: /^output folder/i });
    await user.type(folder, '/results/./run');
    await user.tab();
    expect(folder).toHaveAccessibleDescription(/“\.” segments/i);
  });

  it('validates text, enumeration and boolean choices', async () => {
    const { user } = await openLaunch();
    const label = screen.getByRole('textbox', { name: /^label/i });
    await user.type(label, '   ');
    await user.tab();
    expect(label).toHaveAccessibleDescription(/required/i);
    await user.type(label, 'hello');
    expect(label).not.toHaveAttribute('aria-invalid');

    const mode = screen.getByRole('combobox', { name: /^mode/i });
    await user.selectOptions(mode, 'thorough');
    await user.tab();
    expect(mode).not.toHaveAttribute('aria-invalid');
    await user.selectOptions(mode, '');
    expect(mode).toHaveAccessibleDescription(/choose an option/i);

    const verbose = screen.getByRole('combobox', { name: /^verbose/i });
    await user.selectOptions(verbose, 'Yes');
    await user.tab();
    expect(verbose).not.toHaveAttribute('aria-invalid');
  });

  it('validates the time allocation', async () => {
    const { user } = await openLaunch('/applications/acme-batch/1.0.0');
    const minutes = screen.getByRole('textbox', { name: 'Minutes' });
    await user.clear(minutes);
    await user.type(minutes, '75');
    await user.tab();
    expect(minutes).toHaveAccessibleDescription(/0 to 59/);
    const hours = screen.getByRole('textbox', { name: 'Hours' });
    await user.clear(hours);
    await user.clear(minutes);
    await user.type(minutes, '0');
    await user.type(hours, '0');
    await user.tab();
    expect(minutes).toHaveAccessibleDescription(/at least 1 minute/i);
  });

  it("shows the server's why when the job is refused", async () => {
    server.use(
      http.post('/api/jobs', () =>
        apiError(400, "items[0].parameters.value: must be at most 100 characters"),
      ),
    );
    const { user } = await openLaunch('/applications/acme-batch/1.0.0');
    await user.type(screen.getByRole('textbox', { name: /^value/i }), 'Hello');
    await user.click(screen.getByRole('button', { name: 'Launch job' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The job was not started');
    expect(alert).toHaveTextContent('items[0].parameters.value: must be at most 100 characters');
  });

  it("puts the server's why next to the field it names", async () => {
    server.use(
      http.post('/api/jobs', () =>
        apiError(400, 'items[0].resources[0].jobId: job 4101 is not running'),
      ),
    );
    const { user } = await openLaunch('/applications/acme-web-app/1.0.0');
    await user.click(screen.getByRole('button', { name: /connect to job/i }));
    const row = screen.getByRole('group', { name: 'Connection 1' });
    const combobox = within(row).getByRole('combobox', { name: /^job/i });
    await user.type(combobox, 'my-data');
    await user.keyboard('{ArrowDown}{Enter}');
    await user.click(screen.getByRole('button', { name: 'Launch job' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('items[0].resources[0].jobId: job 4101 is not running');
    expect(combobox).toHaveAccessibleDescription(/job 4101 is not running/);
    expect(combobox).toHaveAttribute('aria-invalid', 'true');
  });

  it('asks before starting a duplicate job and resubmits with allowDuplicateJob', async () => {
    const bodies: JobSpecification[] = [];
    server.use(
      http.post('/api/jobs', async ({ request }) => {
        const body = (await request.clone().json()) as BulkRequest<JobSpecification>;
        const spec = body.items[0]!;
        bodies.push(spec);
        if (!spec.allowDuplicateJob) {
          return apiError(409, 'A job with the same parameters is already running', 'DUPLICATE_JOB');
        }
        return HttpResponse.json({ responses: [{ id: '4101' }] });
      }),
    );
    const { user, router } = await openLaunch('/applications/acme-database/1.0.0');
    await user.type(screen.getByRole('textbox', { name: /^data store/i }), '/123/acme-database');
    await user.click(screen.getByRole('button', { name: 'Launch job' }));

    const dialog = await screen.findByRole('dialog', { name: 'Start another job?' });
    expect(dialog).toHaveTextContent(/is already running with the same application, machine type and parameters. Start another one anyway?/);
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.click(within(dialog).getByRole('button', { name: 'Start another' }));

    await waitFor(() => expect(router.state.location.pathname).toBe('/jobs/4101'));
    expect(bodies.map((b) => b.allowDuplicateJob)).toEqual([false, true]);
    expect(bodies[1]?.parameters).toEqual({ dataStore: { type: 'file', path: '/123/acme-database', readOnly: false } });
  });

  it('cancelling the duplicate dialog starts nothing', async () => {
    server.use(http.post('/api/jobs', () => apiError(409, 'duplicate', 'DUPLICATE_JOB')));
    const { user, router } = await openLaunch('/applications/acme-database/1.0.0');
    await user.type(screen.getByRole('textbox', { name: /^data store/i }), '/123/acme-database');
    await user.click(screen.getByRole('button', { name: 'Launch job' }));
    await screen.findByRole('dialog', { name: 'Start another job?' });
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(router.state.location.pathname).toBe('/applications/acme-database/1.0.0');
    expect(screen.getByRole('button', { name: 'Launch job' })).toBeEnabled();
  });

  describe('typed values (the real catalog\'s acme-simulation)', () => {
    // The application as the server serves it, from server/catalog/default-catalog.yaml, so the form is tested
    // against the real definition of its integer, floating-point, enumeration, boolean and text parameters.
    const catalog = loadCatalog();
    const simulation = catalog.findApplication('acme-simulation', '1.0.0')!;

    function serveSimulation() {
      const sent: JobSpecification[] = [];
      server.use(
        http.get('/api/hpc/apps/retrieve', ({ request }) =>
          new URL(request.url).searchParams.get('name') === simulation.name ? HttpResponse.json(simulation) : undefined,
        ),
        http.post('/api/jobs', async ({ request }) => {
          sent.push(...((await request.json()) as BulkRequest<JobSpecification>).items);
          return HttpResponse.json({ responses: [{ id: '4101' }] });
        }),
      );
      return sent;
    }

    it('sends each value in the UCloud shape with its own JSON type: numbers, a boolean, the option, a string', async () => {
      const sent = serveSimulation();
      const { user, router } = await openLaunch('/applications/acme-simulation/1.0.0');
      const steps = screen.getByRole('textbox', { name: /^steps/i });
      await user.clear(steps);
      await user.type(steps, '250');
      const rate = screen.getByRole('textbox', { name: /^growth rate/i });
      await user.clear(rate);
      await user.type(rate, '0.75');
      await user.selectOptions(screen.getByRole('combobox', { name: /^growth model/i }), 'Logistic (levels off at 100)');
      await user.selectOptions(screen.getByRole('combobox', { name: /^add noise/i }), 'Yes');
      await user.type(screen.getByRole('textbox', { name: /^label/i }), 'first try');
      await user.click(screen.getByRole('button', { name: 'Launch job' }));

      await waitFor(() => expect(router.state.location.pathname).toBe('/jobs/4101'));
      expect(sent).toHaveLength(1);
      const parameters = sent[0]!.parameters!;
      expect(parameters).toEqual({
        steps: { type: 'integer', value: 250 },
        rate: { type: 'floating_point', value: 0.75 },
        model: { type: 'text', value: 'logistic' },
        noise: { type: 'boolean', value: true },
        label: { type: 'text', value: 'first try' },
      });
      // toEqual already tells 250 from "250"; said once more, plainly, per type.
      const value = (name: string) => (parameters[name] as { value: unknown }).value;
      expect(Number.isInteger(value('steps'))).toBe(true);
      expect(typeof value('rate')).toBe('number');
      expect(typeof value('noise')).toBe('boolean');
      expect(typeof value('model')).toBe('string');
      expect(typeof value('label')).toBe('string');
      // And the server's own check of a job specification accepts exactly what the form sent.
      expect(() => checkSpecification(catalog, sent[0]!, 'items[0]')).not.toThrow();
    });

    it('sends the catalog\'s defaults typed as they are, and leaves an empty optional text out', async () => {
      const sent = serveSimulation();
      const { user, router } = await openLaunch('/applications/acme-simulation/1.0.0');
      expect(screen.getByRole('textbox', { name: /^steps/i })).toHaveValue('20');
      await user.click(screen.getByRole('button', { name: 'Launch job' }));
      await waitFor(() => expect(router.state.location.pathname).toBe('/jobs/4101'));
      expect(sent[0]!.parameters).toEqual({
        steps: { type: 'integer', value: 20 },
        rate: { type: 'floating_point', value: 0.1 },
        model: { type: 'text', value: 'exponential' },
        noise: { type: 'boolean', value: false },
      });
      expect(() => checkSpecification(catalog, sent[0]!, 'items[0]')).not.toThrow();
    });

    it('holds back values outside the catalog\'s min and max, saying the range, and sends nothing', async () => {
      const sent = serveSimulation();
      const { user } = await openLaunch('/applications/acme-simulation/1.0.0');
      const steps = screen.getByRole('textbox', { name: /^steps/i });
      await user.clear(steps);
      await user.type(steps, '1001');
      const rate = screen.getByRole('textbox', { name: /^growth rate/i });
      await user.clear(rate);
      await user.type(rate, '1.5');
      await user.click(screen.getByRole('button', { name: 'Launch job' }));
      expect(await screen.findByText(/fields need your attention/i)).toBeInTheDocument();
      expect(steps).toHaveAccessibleDescription(/enter a value from 1 to 1000/i);
      expect(rate).toHaveAccessibleDescription(/enter a value from 0 to 1/i);
      expect(sent).toEqual([]);
    });
  });
});
