import { expect } from 'vitest';
import { EMPTY_JOB_UPDATE } from '../../contract/constants';
import type { Job, JobSpecification } from '../../contract/jobs';
import type { TestApp } from './app';

/** The built-in provider's product (server/provider/). */
export const product = { id: 'example-compute', category: 'example-compute', provider: 'example' };

/** A database job's specification, as the seeds write it (duplicates refused). */
export const databaseSpec = (path = '/123/acme-database', extra: Record<string, unknown> = {}) => ({
  application: { name: 'acme-database', version: '1.0.0' },
  product,
  name: 'my-database',
  replicas: 1,
  allowDuplicateJob: false,
  parameters: { dataStore: { type: 'file', path, readOnly: false } },
  resources: null,
  timeAllocation: null,
  ...extra,
});

/** A web app that connects to `peers`, as the seeds write it (duplicates refused). */
export const webAppSpec = (peers: { hostname: string; jobId: string }[], extra: Record<string, unknown> = {}) => ({
  application: { name: 'acme-web-app', version: '1.0.0' },
  product,
  name: 'my-web-app',
  replicas: 1,
  allowDuplicateJob: false,
  parameters: null,
  resources: peers.map((p) => ({ type: 'peer', ...p })),
  timeAllocation: null,
  ...extra,
});

/** A typed specification with duplicates allowed, for tests that create many jobs of one application. */
export function spec(fields: Partial<JobSpecification> & { application: JobSpecification['application'] }): JobSpecification {
  return { product, replicas: 1, allowDuplicateJob: true, name: null, parameters: null, resources: null, timeAllocation: null, ...fields };
}

export const webApp = (fields: Partial<JobSpecification> = {}) => spec({ application: { name: 'acme-web-app', version: '1.0.0' }, ...fields });
export const batch = (fields: Partial<JobSpecification> = {}) =>
  spec({
    application: { name: 'acme-batch', version: '1.0.0' },
    parameters: { debug: { type: 'boolean', value: true }, value: { type: 'text', value: 'Hello, World!' } },
    ...fields,
  });

/** A provider's job update (contract §4) with every field null but those given. */
export const update = (fields: Record<string, unknown>) => ({ ...EMPTY_JOB_UPDATE, ...fields });

/** Creates one job and returns its id; anything but a 200 fails the test. */
export async function createJob(t: TestApp, specification: unknown, token = t.tokens.user): Promise<string> {
  const response = await t.call('POST', '/api/jobs', token, { items: [specification] });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json() as { responses: { id: string }[] }).responses[0]!.id;
}

/** Moves a job as its provider would (contract §4). */
export async function control(t: TestApp, id: string, fields: Record<string, unknown>, token = t.tokens.provider) {
  return t.call('POST', '/api/jobs/control/update', token, { items: [{ id, update: update(fields) }] });
}

/** The job's body, updates included, whatever the status (an error body for a 404). */
export async function retrieve(t: TestApp, id: string, token = t.tokens.user) {
  const response = await t.call('GET', `/api/jobs/retrieve?id=${id}&includeUpdates=true`, token);
  return response.json();
}

/** The job, updates included; anything but a 200 fails the test. */
export async function getJob(t: TestApp, id: string, token = t.tokens.user): Promise<Job> {
  const response = await t.call('GET', `/api/jobs/retrieve?id=${id}&includeUpdates=true`, token);
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as Job;
}

/** The job's update statuses, in order. */
export const statuses = (job: Job) => job.updates.map((u) => u.status).filter((s): s is string => s !== null);

export async function terminate(t: TestApp, id: string, token = t.tokens.user): Promise<void> {
  const response = await t.call('POST', '/api/jobs/terminate', token, { items: [{ id }] });
  expect(response.statusCode, response.body).toBe(200);
}
