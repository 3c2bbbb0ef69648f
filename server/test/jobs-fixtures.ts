import type { TestApp } from './helpers';

export const product = { id: 'example-compute', category: 'example-compute', provider: 'example' };

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

export const update = (fields: Record<string, unknown>) => ({
  state: null,
  status: null,
  outputFolder: null,
  expectedState: null,
  expectedDifferentState: null,
  newTimeAllocation: null,
  timestamp: 0,
  ...fields,
});

export async function createJob(t: TestApp, spec: unknown, token = t.tokens.user): Promise<string> {
  const response = await t.call('POST', '/api/jobs', token, { items: [spec] });
  if (response.statusCode !== 200) throw new Error(`create failed: ${response.statusCode} ${response.body}`);
  return response.json().responses[0].id as string;
}

/** Moves a job as its provider would (contract §4). */
export async function control(t: TestApp, id: string, fields: Record<string, unknown>, token = t.tokens.provider) {
  return t.call('POST', '/api/jobs/control/update', token, { items: [{ id, update: update(fields) }] });
}

export async function retrieve(t: TestApp, id: string, token = t.tokens.user) {
  const response = await t.call('GET', `/api/jobs/retrieve?id=${id}&includeUpdates=true`, token);
  return response.json();
}
