import { beforeAll, describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { control, createJob, databaseSpec, product } from '../test/jobs';
import { TestSocket } from '../test/socket';

/*
 * Requests exactly as UCloud's own web client and its Go provider send them, written from documented facts about
 * them (not from UCloud's code). Each must be served, with its effect; an unknown field or a wrong type
 * next to them is still a 400 that names the field.
 */
let dbJob: string;
let createdBefore: number;

// The web client's create: bulkRequestOf(spec), with the application's whole metadata, a DNS hostname, labels,
// sshEnabled, openedFile and restartOnExit.
const webClientSpec = (path: string) => ({
  application: {
    name: 'acme-database',
    version: '1.0.0',
    title: 'Acme database',
    description: 'A database',
    authors: ['Acme'],
    public: true,
    website: null,
    flavorName: null,
    groupId: null,
  },
  product,
  name: 'db-from-ucloud',
  hostname: 'db-from-ucloud-k3x9',
  labels: { team: 'science' },
  replicas: 1,
  allowDuplicateJob: false,
  parameters: { dataStore: { type: 'file', path, readOnly: false } },
  resources: [],
  timeAllocation: { hours: 1, minutes: 0, seconds: 0 },
  sshEnabled: false,
  openedFile: null,
  restartOnExit: false,
});

// The Go provider's JobUpdate: every optional field null, allowRestart and resourceList, Go's zero time.
const goUpdate = (fields: Record<string, unknown>) => ({
  state: null,
  outputFolder: null,
  status: null,
  expectedState: null,
  expectedDifferentState: null,
  newTimeAllocation: null,
  allowRestart: null,
  resourceList: null,
  timestamp: -62135596800000,
  ...fields,
});

const t = sharedApp();
beforeAll(async () => {
  createdBefore = Date.now() - 1;
  dbJob = await createJob(t, databaseSpec('/ucloud/running'));
  await control(t, dbJob, { state: 'RUNNING', status: 'Up' });
});

describe('the web client\'s bulk requests', () => {
  it('creates a job from {type: "bulk", items} with the application metadata, hostname and labels, storing only name and version', async () => {
    const response = await t.call('POST', '/api/jobs', t.tokens.user, { type: 'bulk', items: [webClientSpec('/ucloud/create')] });
    expect(response.statusCode).toBe(200);
    const id = response.json().responses[0].id;
    const job = (await t.call('GET', `/api/jobs/retrieve?id=${id}`, t.tokens.user)).json();
    expect(job.specification.application).toEqual({ name: 'acme-database', version: '1.0.0' });
    expect(job.specification.hostname).toBe('db-from-ucloud-k3x9');
    expect(job.specification.labels).toEqual({ team: 'science' });
    expect(job.specification.name).toBe('db-from-ucloud');
  });

  it('terminates and extends with {type: "bulk", items}', async () => {
    const id = await createJob(t, databaseSpec('/ucloud/extend'));
    await control(t, id, { state: 'RUNNING' });
    const extend = await t.call('POST', '/api/jobs/extend', t.tokens.user, { type: 'bulk', items: [{ jobId: id, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] });
    expect(extend.statusCode).toBe(200);
    const terminate = await t.call('POST', '/api/jobs/terminate', t.tokens.user, { type: 'bulk', items: [{ id }] });
    expect(terminate.statusCode).toBe(200);
    expect(terminate.json()).toEqual({ responses: [{}] });
  });

  it.each([
    ['another type tag', { type: 'single', items: [webClientSpec('/x/1')] }, /^type/],
    ['an unknown field beside them', { type: 'bulk', items: [{ ...webClientSpec('/x/2'), colour: 'red' }] }, /^items\[0\]\.colour: unknown field/],
    ['an unknown application field', { type: 'bulk', items: [{ ...webClientSpec('/x/3'), application: { ...webClientSpec('/x/3').application, logo: 'x' } }] }, /^items\[0\]\.application\.logo: unknown field/],
    ['a hostname that is not a DNS name', { type: 'bulk', items: [{ ...webClientSpec('/x/4'), hostname: 'not a host!' }] }, /^items\[0\]\.hostname: .*DNS name/],
    ['labels of the wrong type', { type: 'bulk', items: [{ ...webClientSpec('/x/5'), labels: { team: 3 } }] }, /^items\[0\]\.labels\.team/],
    ['authors of the wrong type', { type: 'bulk', items: [{ ...webClientSpec('/x/6'), application: { name: 'acme-database', version: '1.0.0', authors: 'Acme' } }] }, /^items\[0\]\.application\.authors/],
  ])('still refuses %s, naming the field', async (_what, body, why) => {
    const response = await t.call('POST', '/api/jobs', t.tokens.user, body);
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(why);
  });
});

describe('browse and retrieve as the sidebar and the job page send them', () => {
  it('serves the sidebar\'s browse with includeApplication, filling resolvedApplication in UCloud\'s shape', async () => {
    const response = await t.call('GET', '/api/jobs/browse?itemsPerPage=100&filterState=RUNNING&includeApplication=true', t.tokens.user);
    expect(response.statusCode).toBe(200);
    const job = response.json().items.find((j: { id: string }) => j.id === dbJob);
    expect(job.status.resolvedApplication.metadata).toMatchObject({ name: 'acme-database', version: '1.0.0', title: expect.any(String) });
    expect(job.status.resolvedApplication.invocation.parameters.map((p: { name: string }) => p.name)).toContain('dataStore');
    expect(job.status.resolvedProduct).toBeNull();
  });

  it('serves the job page\'s retrieve with every include flag, filling application, product and support', async () => {
    const response = await t.call('GET', `/api/jobs/retrieve?id=${dbJob}&includeApplication=true&includeUpdates=true&includeSupport=true&includeProduct=true`, t.tokens.user);
    expect(response.statusCode).toBe(200);
    const { status, updates } = response.json();
    expect(updates.length).toBeGreaterThan(0);
    expect(status.resolvedProduct).toMatchObject({ type: 'compute', name: 'example-compute', category: { name: 'example-compute', provider: 'example', productType: 'COMPUTE' } });
    expect(status.resolvedSupport.product.name).toBe('example-compute');
    expect(status.resolvedSupport.support.product).toEqual(product);
    expect(status.resolvedSupport.support.native).toMatchObject({ enabled: true, timeExtension: true, peers: true, logs: true });
    const plain = (await t.call('GET', `/api/jobs/retrieve?id=${dbJob}`, t.tokens.user)).json();
    expect([plain.status.resolvedApplication, plain.status.resolvedProduct, plain.status.resolvedSupport]).toEqual([null, null, null]);
  });

  it('sorts by timeLeft and createdBy in both directions', async () => {
    const soon = await createJob(t, databaseSpec('/ucloud/soon', { allowDuplicateJob: true }));
    await control(t, soon, { state: 'RUNNING', newTimeAllocation: 60_000 });
    const later = await createJob(t, databaseSpec('/ucloud/later', { allowDuplicateJob: true }));
    await control(t, later, { state: 'RUNNING', newTimeAllocation: 3_600_000 * 100 });
    for (const direction of ['ascending', 'descending']) {
      const page = await t.call('GET', `/api/jobs/browse?itemsPerPage=100&sortBy=timeLeft&sortDirection=${direction}`, t.tokens.user);
      expect(page.statusCode).toBe(200);
      const ids = page.json().items.map((j: { id: string }) => j.id);
      expect(ids.indexOf(soon) < ids.indexOf(later)).toBe(direction === 'ascending');
      const byCreator = await t.call('GET', `/api/jobs/browse?itemsPerPage=100&sortBy=createdBy&sortDirection=${direction}`, t.tokens.user);
      expect(byCreator.statusCode).toBe(200);
      const created = byCreator.json().items.map((j: { id: string }) => Number(j.id));
      // One owner, so creation order breaks the tie.
      expect(created).toEqual([...created].sort((a, b) => (direction === 'ascending' ? a - b : b - a)));
    }
  });

  it('applies filterCreatedBy, filterCreatedAfter/Before, filterProvider and filterType', async () => {
    const ids = async (query: string) => {
      const response = await t.call('GET', `/api/jobs/browse?itemsPerPage=1000&${query}`, t.tokens.user);
      expect(response.statusCode).toBe(200);
      return response.json().items.map((j: { id: string }) => j.id) as string[];
    };
    const all = await ids('');
    expect(all).toContain(dbJob);
    expect(await ids('filterCreatedBy=user')).toEqual(all);
    expect(await ids('filterCreatedBy=someone-else')).toEqual([]);
    expect(await ids(`filterCreatedAfter=${createdBefore}`)).toEqual(all);
    expect(await ids(`filterCreatedBefore=${createdBefore}`)).toEqual([]);
    expect(await ids('filterProvider=example')).toEqual(all);
    expect(await ids('filterProvider=elsewhere')).toEqual([]);
    expect(await ids('filterType=JOBS_ONLY')).toEqual(all);
    expect(await ids('filterType=VMS_ONLY')).toEqual([]);
  });

  it.each([
    ['an unknown flag', 'includeEverything=true', /^includeEverything: unknown field/],
    ['a flag that is not a boolean', 'includeApplication=maybe', /^includeApplication/],
    ['an unknown sortBy', 'sortBy=colour', /^sortBy/],
    ['a date that is not a number', 'filterCreatedAfter=yesterday', /^filterCreatedAfter/],
    ['an unknown filterType', 'filterType=GPUS_ONLY', /^filterType/],
  ])('still refuses %s, naming the field', async (_what, query, why) => {
    const response = await t.call('GET', `/api/jobs/browse?${query}`, t.tokens.user);
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(why);
  });
});

describe('projects', () => {
  it('serves no Project header as today, and refuses a project with a 400 that says projects are not supported', async () => {
    const refused = await t.app.inject({ method: 'GET', url: '/api/jobs/browse', headers: { authorization: `Bearer ${t.tokens.user}`, project: 'p-123' } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().why).toMatch(/^Project \(header\): projects are not supported/);
    const create = await t.app.inject({
      method: 'POST', url: '/api/jobs', headers: { authorization: `Bearer ${t.tokens.user}`, project: 'p-123', 'content-type': 'application/json' },
      payload: JSON.stringify({ type: 'bulk', items: [webClientSpec('/ucloud/in-project')] }),
    });
    expect(create.statusCode).toBe(400);
    const mine = (await t.call('GET', '/api/jobs/browse?itemsPerPage=1000', t.tokens.user)).json().items;
    expect(mine.some((j: { specification: { parameters: { dataStore?: { path: string } } } }) => j.specification.parameters?.dataStore?.path === '/ucloud/in-project')).toBe(false);
  });

  it('on a socket: serves project null with signedIntent, refuses a project, and takes task.listen as tasks.listen', async () => {
    const client = await TestSocket.inject(t.app);
    client.send({ call: 'task.listen', streamId: 'kotlin', payload: {}, bearer: t.tokens.user, project: null, signedIntent: null });
    client.send({ call: 'jobs.listen', streamId: 'intent', payload: {}, bearer: t.tokens.user, project: null, signedIntent: 'eyJhbGciOi.x.y' });
    client.send({ call: 'tasks.listen', streamId: 'project', payload: {}, bearer: t.tokens.user, project: 'p-123' });
    const refused = await client.until(() => client.on('project').find((f) => f.type === 'response'), 'the project refusal');
    expect(refused).toMatchObject({ status: 400, payload: { why: expect.stringMatching(/^project: projects are not supported/) } });
    const task = await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: 'Pull', owner: 'user', initialStatus: null });
    expect(task.statusCode).toBe(200);
    await t.call('POST', '/api/tasks/postStatus', t.tokens.ucloud, { update: { jobId: task.json().jobId, messageToAppend: 'layer 1' } });
    const message = await client.until(() => client.messages('kotlin').find((m) => m.messageToAppend === 'layer 1'), 'the task update on task.listen');
    expect(message.jobId).toBe(task.json().jobId);
    await control(t, dbJob, { status: 'Still up' });
    await client.until(() => client.messages('intent').find((m) => m.job?.id === dbJob), 'the job event on jobs.listen');
    expect(client.on('kotlin').some((f) => f.type === 'response')).toBe(false);
    client.ws.close();
  });
});

describe('the Go provider', () => {
  it('applies a control/update with every field null, allowRestart, resourceList and Go\'s zero time', async () => {
    const id = await createJob(t, databaseSpec('/ucloud/go'));
    const response = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, {
      items: [{ id, update: goUpdate({ state: 'RUNNING', status: 'Started by the Go provider', allowRestart: false, resourceList: [] }) }],
    });
    expect(response.statusCode).toBe(200);
    const job = (await t.call('GET', `/api/jobs/retrieve?id=${id}`, t.tokens.user)).json();
    expect(job.status.state).toBe('RUNNING');
    const last = job.updates.at(-1);
    expect(last.status).toBe('Started by the Go provider');
    expect(last.timestamp).toBeGreaterThan(0);
    expect(last).not.toHaveProperty('allowRestart');
  });

  it('still refuses an unknown field or a wrong type in a control update, naming it', async () => {
    const bad = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, { items: [{ id: dbJob, update: goUpdate({ restartCount: 1 }) }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().why).toMatch(/^items\[0\]\.update\.restartCount: unknown field/);
    const wrong = await t.call('POST', '/api/jobs/control/update', t.tokens.provider, { items: [{ id: dbJob, update: goUpdate({ allowRestart: 'no' }) }] });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().why).toMatch(/^items\[0\]\.update\.allowRestart/);
  });

  it('serves control/browse with the boolean flags the Go client writes', async () => {
    const response = await t.call('GET', '/api/jobs/control/browse?includeOthers=false&includeUpdates=true&includeSupport=false&includeProduct=true', t.tokens.provider);
    expect(response.statusCode).toBe(200);
    const job = response.json().items.find((j: { id: string }) => j.id === dbJob);
    expect(job.updates.length).toBeGreaterThan(0);
    expect(job.status.resolvedProduct.name).toBe('example-compute');
    expect(job.status.resolvedSupport).toBeNull();
  });

  it('serves control/retrieve for its own jobs only', async () => {
    const response = await t.call('GET', `/api/jobs/control/retrieve?id=${dbJob}&includeUpdates=true&includeProduct=true`, t.tokens.provider);
    expect(response.statusCode).toBe(200);
    expect(response.json().id).toBe(dbJob);
    expect(response.json().status.resolvedProduct.category.provider).toBe('example');
    const missing = await t.call('GET', '/api/jobs/control/retrieve?id=999999', t.tokens.provider);
    expect(missing.statusCode).toBe(404);
    const asUser = await t.call('GET', `/api/jobs/control/retrieve?id=${dbJob}`, t.tokens.user);
    expect(asUser.statusCode).toBe(403);
  });
});
