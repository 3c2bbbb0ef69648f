import { beforeAll, describe, expect, it } from 'vitest';
import { sharedApp } from '../test/app';
import { control, createJob, databaseSpec, product, retrieve, webAppSpec } from '../test/jobs';

let otherUser: string;
let runningDb: string;
let foreignRunning: string;
let queuedDb: string;

const t = sharedApp();
beforeAll(async () => {
  const added = await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'alice' });
  otherUser = added.json().token;
  runningDb = await createJob(t, databaseSpec('/db/running'));
  await control(t, runningDb, { state: 'RUNNING' });
  queuedDb = await createJob(t, databaseSpec('/db/queued'));
  foreignRunning = await createJob(t, databaseSpec('/alice/db'), otherUser);
  await control(t, foreignRunning, { state: 'RUNNING' });
});

const batch = (over: Record<string, unknown>) => ({ ...databaseSpec('/x/y'), allowDuplicateJob: true, ...over });

describe('POST /api/jobs refuses bad input with a 4xx naming the field', () => {
  const cases: [string, () => unknown, number, RegExp][] = [
    ['malformed JSON', () => '{"items": [', 400, /^\(body\): malformed JSON/],
    ['an empty body', () => '', 400, /^\(body\): the request body is empty/],
    ['a body that is not an object', () => [1, 2], 400, /^\(body\)/],
    ['no items', () => ({ items: [] }), 400, /^items/],
    ['over 1000 items', () => ({ items: Array.from({ length: 1001 }, () => batch({})) }), 400, /^items/],
    ['an unknown top-level field', () => ({ items: [batch({})], extra: 1 }), 400, /extra/],
    ['a wrong type', () => ({ items: [batch({ replicas: '1' })] }), 400, /^items\[0\]\.replicas/],
    ['an unknown field in the spec', () => ({ items: [batch({ colour: 'red' })] }), 400, /^items\[0\]\.colour/],
    ['a missing application', () => ({ items: [{ ...batch({}), application: undefined }] }), 400, /^items\[0\]\.application/],
    ['an unknown application', () => ({ items: [batch({ application: { name: 'nope', version: '1' } })] }), 400, /^items\[0\]\.application: no application 'nope'/],
    ['an unknown product', () => ({ items: [batch({ product: { ...product, id: 'huge' } })] }), 400, /^items\[0\]\.product: no product 'huge'/],
    ['an unknown parameter', () => ({ items: [batch({ parameters: { dataStore: { type: 'file', path: '/a', readOnly: false }, colour: { type: 'text', value: 'x' } } })] }), 400, /^items\[0\]\.parameters\.colour: unknown parameter/],
    ['a missing required parameter', () => ({ items: [batch({ parameters: {} })] }), 400, /^items\[0\]\.parameters\.dataStore: required/],
    ['a parameter of the wrong value type', () => ({ items: [batch({ parameters: { dataStore: { type: 'text', value: '/a' } } })] }), 400, /^items\[0\]\.parameters\.dataStore: .*'file'/],
    ['an unknown parameter value type', () => ({ items: [batch({ parameters: { dataStore: { type: 'xyz', value: 1 } } })] }), 400, /^items\[0\]\.parameters\.dataStore\.type: unknown parameter type 'xyz'/],
    ['a relative path', () => ({ items: [batch({ parameters: { dataStore: { type: 'file', path: 'data', readOnly: false } } })] }), 400, /^items\[0\]\.parameters\.dataStore\.path: must be an absolute/],
    ['a path with ..', () => ({ items: [batch({ parameters: { dataStore: { type: 'file', path: '/a/../etc', readOnly: false } } })] }), 400, /^items\[0\]\.parameters\.dataStore\.path/],
    ['zero replicas', () => ({ items: [batch({ replicas: 0 })] }), 400, /^items\[0\]\.replicas/],
    ['a zero time allocation', () => ({ items: [batch({ timeAllocation: { hours: 0, minutes: 0, seconds: 0 } })] }), 400, /^items\[0\]\.timeAllocation: must be longer than zero/],
    ['60 minutes', () => ({ items: [batch({ timeAllocation: { hours: 0, minutes: 60, seconds: 0 } })] }), 400, /^items\[0\]\.timeAllocation/],
    ['a negative duration', () => ({ items: [batch({ timeAllocation: { hours: -1, minutes: 0, seconds: 0 } })] }), 400, /^items\[0\]\.timeAllocation\.hours/],
    ['a bad hostname', () => ({ items: [webAppSpec([{ hostname: 'Data_Base!', jobId: runningDb }])] }), 400, /^items\[0\]\.resources\[0\]\.hostname: must be a DNS name/],
    ['a hostname label over 63 characters', () => ({ items: [webAppSpec([{ hostname: 'a'.repeat(64), jobId: runningDb }])] }), 400, /^items\[0\]\.resources\[0\]\.hostname/],
    ['duplicate hostnames', () => ({ items: [webAppSpec([{ hostname: 'db', jobId: runningDb }, { hostname: 'db', jobId: runningDb }])] }), 400, /^items\[0\]\.resources\[1\]\.hostname: 'db' is used by another peer/],
    ['a missing peer job', () => ({ items: [webAppSpec([{ hostname: 'db', jobId: '999999' }])] }), 400, /^items\[0\]\.resources\[0\]\.jobId: no job '999999' of yours exists/],
    ['a peer job id that is not a number', () => ({ items: [webAppSpec([{ hostname: 'db', jobId: 'abc' }])] }), 400, /^items\[0\]\.resources\[0\]\.jobId/],
    ['a peer job that is not running', () => ({ items: [webAppSpec([{ hostname: 'db', jobId: queuedDb }])] }), 400, /^items\[0\]\.resources\[0\]\.jobId: .* is IN_QUEUE/],
    ['a peer on an app that takes none', () => ({ items: [{ application: { name: 'acme-batch', version: '1.0.0' }, product, replicas: 1, allowDuplicateJob: true, parameters: { value: { type: 'text', value: 'v' } }, resources: [{ type: 'peer', hostname: 'db', jobId: runningDb }] }] }), 400, /^items\[0\]\.resources\[0\]: acme-batch cannot be connected/],
    ['a second item that is bad (nothing is created)', () => ({ items: [batch({}), batch({ replicas: 0 })] }), 400, /^items\[1\]\.replicas/],
  ];

  it.each(cases)('%s', async (_name, body, status, why) => {
    const before = (await t.call('GET', '/api/jobs/browse?itemsPerPage=1000', t.tokens.user)).json().items.length;
    const response = await t.call('POST', '/api/jobs', t.tokens.user, body());
    expect(response.statusCode).toBe(status);
    expect(response.json().why).toMatch(why);
    const after = (await t.call('GET', '/api/jobs/browse?itemsPerPage=1000', t.tokens.user)).json().items.length;
    expect(after).toBe(before);
  });

  it('a foreign peer job gets exactly the answer a missing one gets', async () => {
    const foreign = await t.call('POST', '/api/jobs', t.tokens.user, { items: [webAppSpec([{ hostname: 'db', jobId: foreignRunning }])] });
    const missing = await t.call('POST', '/api/jobs', t.tokens.user, { items: [webAppSpec([{ hostname: 'db', jobId: '987654' }])] });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().why).toBe(missing.json().why.replace('987654', foreignRunning));
  });

  it('a body over 1 MiB is 413', async () => {
    const response = await t.call('POST', '/api/jobs', t.tokens.user, { items: [batch({ name: 'x'.repeat(1024 * 1024) })] });
    expect(response.statusCode).toBe(413);
    expect(response.json().why).toMatch(/1 MiB/);
  });

  it('no token is 401, an unknown token is 401, and other roles are 403', async () => {
    const body = { items: [batch({})] };
    expect((await t.call('POST', '/api/jobs', null, body)).statusCode).toBe(401);
    expect((await t.call('POST', '/api/jobs', 'not-a-token', body)).statusCode).toBe(401);
    for (const token of [t.tokens.ucloud, t.tokens.provider, t.tokens.admin]) {
      const response = await t.call('POST', '/api/jobs', token, body);
      expect(response.statusCode).toBe(403);
      expect(response.json()).toEqual({ why: expect.stringMatching(/USER/), errorCode: null });
    }
  });
});

describe('duplicate jobs', () => {
  it('answers 409 DUPLICATE_JOB, and creates the job when asked again with allowDuplicateJob', async () => {
    const spec = databaseSpec('/dup/store');
    await createJob(t, spec);
    const again = await t.call('POST', '/api/jobs', t.tokens.user, { items: [spec] });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ errorCode: 'DUPLICATE_JOB', why: expect.stringMatching(/allowDuplicateJob/) });
    const allowed = await t.call('POST', '/api/jobs', t.tokens.user, { items: [{ ...spec, allowDuplicateJob: true }] });
    expect(allowed.statusCode).toBe(200);
  });

  it('does not count finished jobs or other users\' jobs', async () => {
    const spec = databaseSpec('/dup/finished');
    const id = await createJob(t, spec);
    await control(t, id, { state: 'SUCCESS' });
    expect((await t.call('POST', '/api/jobs', t.tokens.user, { items: [spec] })).statusCode).toBe(200);
    expect((await t.call('POST', '/api/jobs', otherUser, { items: [spec] })).statusCode).toBe(200);
  });
});

describe('typed parameter values (acme-simulation: integer, floating point, enumeration, boolean, text)', () => {
  const valid = {
    steps: { type: 'integer', value: 50 },
    rate: { type: 'floating_point', value: 0.25 },
    model: { type: 'text', value: 'logistic' },
    noise: { type: 'boolean', value: true },
    label: { type: 'text', value: 'a run' },
  };
  const simulation = (parameters: Record<string, unknown>) => ({
    application: { name: 'acme-simulation', version: '1.0.0' },
    product,
    name: 'typed',
    replicas: 1,
    allowDuplicateJob: true,
    parameters,
    resources: null,
    timeAllocation: null,
  });
  const withValue = (name: string, value: unknown) => simulation({ ...valid, [name]: value });

  it('accepts values of the right types, at the ends of their ranges, and stores them as sent', async () => {
    const id = await createJob(t, simulation(valid));
    expect((await retrieve(t, id)).specification.parameters).toEqual(valid);
    for (const [name, value] of [
      ['steps', { type: 'integer', value: 1 }],
      ['steps', { type: 'integer', value: 1000 }],
      ['rate', { type: 'floating_point', value: 0 }],
      ['rate', { type: 'floating_point', value: 1 }],
      ['model', { type: 'text', value: 'linear' }],
    ] as const) {
      const response = await t.call('POST', '/api/jobs', t.tokens.user, { items: [withValue(name, value)] });
      expect(response.statusCode, `${name} ${JSON.stringify(value)}: ${response.body}`).toBe(200);
    }
    // The optional ones may be left out; their defaults apply.
    const { noise: _noise, label: _label, ...required } = valid;
    expect((await t.call('POST', '/api/jobs', t.tokens.user, { items: [simulation(required)] })).statusCode).toBe(200);
  });

  const cases: [string, () => unknown, RegExp][] = [
    ['an integer below min', () => withValue('steps', { type: 'integer', value: 0 }), /^items\[0\]\.parameters\.steps\.value: must be at least 1$/],
    ['an integer above max', () => withValue('steps', { type: 'integer', value: 1001 }), /^items\[0\]\.parameters\.steps\.value: must be at most 1000$/],
    ['a fraction for an integer', () => withValue('steps', { type: 'integer', value: 2.5 }), /^items\[0\]\.parameters\.steps\.value/],
    ['a string for an integer', () => withValue('steps', { type: 'integer', value: '5' }), /^items\[0\]\.parameters\.steps\.value/],
    ['a floating-point value for an integer parameter', () => withValue('steps', { type: 'floating_point', value: 5 }), /^items\[0\]\.parameters\.steps: 'steps' takes a 'integer' value, not a 'floating_point' value$/],
    ['a float below min', () => withValue('rate', { type: 'floating_point', value: -0.01 }), /^items\[0\]\.parameters\.rate\.value: must be at least 0$/],
    ['a float above max', () => withValue('rate', { type: 'floating_point', value: 1.5 }), /^items\[0\]\.parameters\.rate\.value: must be at most 1$/],
    ['a string for a float', () => withValue('rate', { type: 'floating_point', value: '0.5' }), /^items\[0\]\.parameters\.rate\.value/],
    ['a text value for a float parameter', () => withValue('rate', { type: 'text', value: '0.5' }), /^items\[0\]\.parameters\.rate: 'rate' takes a 'floating_point' value, not a 'text' value$/],
    ['an option that is not offered', () => withValue('model', { type: 'text', value: 'cubic' }), /^items\[0\]\.parameters\.model\.value: must be one of 'linear', 'exponential', 'logistic'$/],
    ['an option by its display name', () => withValue('model', { type: 'text', value: 'Linear' }), /^items\[0\]\.parameters\.model\.value: must be one of/],
    ['an integer for an enumeration', () => withValue('model', { type: 'integer', value: 1 }), /^items\[0\]\.parameters\.model: 'model' takes a 'text' value, not a 'integer' value$/],
    ['a string for a boolean', () => withValue('noise', { type: 'boolean', value: 'true' }), /^items\[0\]\.parameters\.noise\.value/],
    ['a text value for a boolean parameter', () => withValue('noise', { type: 'text', value: 'true' }), /^items\[0\]\.parameters\.noise: 'noise' takes a 'boolean' value, not a 'text' value$/],
    ['two lines for single-line text', () => withValue('label', { type: 'text', value: 'one\ntwo' }), /^items\[0\]\.parameters\.label\.value: must be a single line$/],
    ['a number for text', () => withValue('label', { type: 'text', value: 7 }), /^items\[0\]\.parameters\.label\.value/],
    ['a required value left out', () => simulation({ rate: valid.rate, model: valid.model }), /^items\[0\]\.parameters\.steps: required by acme-simulation$/],
  ];

  it.each(cases)('refuses %s with 400 naming the field, and creates nothing', async (_name, body, why) => {
    const before = (await t.call('GET', '/api/jobs/browse?itemsPerPage=1000', t.tokens.user)).json().items.length;
    const response = await t.call('POST', '/api/jobs', t.tokens.user, { items: [body()] });
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(why);
    const after = (await t.call('GET', '/api/jobs/browse?itemsPerPage=1000', t.tokens.user)).json().items.length;
    expect(after).toBe(before);
  });
});

describe('browse and retrieve', () => {
  it('pages newest first through all of the caller\'s jobs and none of anyone else\'s', async () => {
    const ids: string[] = [];
    let next: string | null = null;
    do {
      const page: { items: { id: string }[]; next: string | null } = (await t.call('GET', `/api/jobs/browse?itemsPerPage=3${next ? `&next=${next}` : ''}`, t.tokens.user)).json();
      expect(page.items.length).toBeLessThanOrEqual(3);
      ids.push(...page.items.map((j: { id: string }) => j.id));
      next = page.next;
    } while (next);
    const numeric = ids.map(Number);
    expect(numeric).toEqual([...numeric].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(runningDb);
    expect(ids).not.toContain(foreignRunning);
  });

  it('filters by state and application, and sorts ascending on request', async () => {
    const running = (await t.call('GET', '/api/jobs/browse?filterState=RUNNING', t.tokens.user)).json();
    expect(running.items.length).toBeGreaterThan(0);
    expect(running.items.every((j: { status: { state: string } }) => j.status.state === 'RUNNING')).toBe(true);
    // Web apps of the caller's own, and one of someone else's, among the database jobs beforeAll made.
    const webApps = [
      await createJob(t, webAppSpec([], { name: 'filtered-web-1', allowDuplicateJob: true })),
      await createJob(t, webAppSpec([], { name: 'filtered-web-2', allowDuplicateJob: true })),
    ];
    const foreignWeb = await createJob(t, webAppSpec([], { allowDuplicateJob: true }), otherUser);
    type Listed = { id: string; specification: { application: { name: string } } };
    const all: Listed[] = (await t.call('GET', '/api/jobs/browse?itemsPerPage=1000', t.tokens.user)).json().items;
    const expected = all.filter((j) => j.specification.application.name === 'acme-web-app').map((j) => j.id);
    expect(expected).toEqual(expect.arrayContaining(webApps));
    expect(all.length).toBeGreaterThan(expected.length);
    const web: Listed[] = (await t.call('GET', '/api/jobs/browse?filterApplication=acme-web-app&itemsPerPage=1000', t.tokens.user)).json().items;
    expect(web.map((j) => j.id)).toEqual(expected);
    expect(web.map((j) => j.id)).not.toContain(runningDb);
    expect(web.map((j) => j.id)).not.toContain(foreignWeb);
    const databases: Listed[] = (await t.call('GET', '/api/jobs/browse?filterApplication=acme-database&itemsPerPage=1000', t.tokens.user)).json().items;
    expect(databases.map((j) => j.id)).toEqual(expect.arrayContaining([runningDb, queuedDb]));
    expect(databases.every((j) => j.specification.application.name === 'acme-database')).toBe(true);
    const asc = (await t.call('GET', '/api/jobs/browse?sortDirection=ascending&itemsPerPage=1000', t.tokens.user)).json();
    const numeric = asc.items.map((j: { id: string }) => Number(j.id));
    expect(numeric).toEqual([...numeric].sort((a, b) => a - b));
  });

  it.each([
    ['itemsPerPage=0', /^itemsPerPage/],
    ['itemsPerPage=1001', /^itemsPerPage/],
    ['itemsPerPage=ten', /^itemsPerPage/],
    ['filterState=DANCING', /^filterState/],
    ['sortDirection=sideways', /^sortDirection/],
    ['includeUpdates=maybe', /^includeUpdates/],
    ['next=abc', /^next/],
    ['bogus=1', /bogus/],
  ])('browse with %s is 400', async (query, why) => {
    const response = await t.call('GET', `/api/jobs/browse?${query}`, t.tokens.user);
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(why);
  });

  it('retrieve answers 404 alike for another user\'s job, a missing job and a malformed id', async () => {
    const own = await t.call('GET', `/api/jobs/retrieve?id=${runningDb}`, t.tokens.user);
    expect(own.statusCode).toBe(200);
    expect(own.json().id).toBe(runningDb);
    for (const id of [foreignRunning, '99999999', 'abc']) {
      const response = await t.call('GET', `/api/jobs/retrieve?id=${id}`, t.tokens.user);
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ why: `id: no job '${id}'`, errorCode: null });
    }
    expect((await t.call('GET', '/api/jobs/retrieve', t.tokens.user)).statusCode).toBe(400);
  });

  it('browseConnected is 404 for another user\'s job', async () => {
    expect((await t.call('GET', `/api/jobs/browseConnected?id=${foreignRunning}`, t.tokens.user)).statusCode).toBe(404);
  });
});

describe('terminate and extend', () => {
  it.each([
    ['/api/jobs/terminate', '{"items": [', /^\(body\): malformed JSON/],
    ['/api/jobs/terminate', { items: [{}] }, /^items\[0\]\.id: is required/],
    ['/api/jobs/terminate', { items: [{ id: 5 }] }, /^items\[0\]\.id: must be a non-empty string/],
    ['/api/jobs/terminate', { items: [{ id: '1', why: 'x' }] }, /^items\[0\]\.why: unknown field/],
    ['/api/jobs/extend', { items: [{ jobId: '1' }] }, /^items\[0\]\.requestedTime: is required/],
    ['/api/jobs/extend', { items: [{ jobId: '1', requestedTime: { hours: 'one', minutes: 0, seconds: 0 } }] }, /^items\[0\]\.requestedTime\.hours/],
    ['/api/jobs/extend', { items: [{ jobId: '1', requestedTime: { hours: 1, minutes: 75, seconds: 0 } }] }, /^items\[0\]\.requestedTime\.minutes/],
    ['/api/jobs/extend', { items: [] }, /^items/],
  ])('%s refuses %j with 400 naming the field', async (url, body, why) => {
    const response = await t.call('POST', url, t.tokens.user, body);
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(why);
  });

  it('browseConnected needs an id', async () => {
    const response = await t.call('GET', '/api/jobs/browseConnected', t.tokens.user);
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(/^id: is required/);
  });

  it('refuse the whole batch with 404 when any job is someone else\'s', async () => {
    const terminate = await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id: runningDb }, { id: foreignRunning }] });
    expect(terminate.statusCode).toBe(404);
    expect(terminate.json().why).toBe(`items[1].id: no job '${foreignRunning}'`);
    const extend = await t.call('POST', '/api/jobs/extend', t.tokens.user, {
      items: [{ jobId: foreignRunning, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }],
    });
    expect(extend.statusCode).toBe(404);
  });

  it('accept the caller\'s own active jobs', async () => {
    const terminate = await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id: runningDb }] });
    expect(terminate.statusCode).toBe(200);
    const extend = await t.call('POST', '/api/jobs/extend', t.tokens.user, {
      items: [{ jobId: runningDb, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }],
    });
    expect(extend.statusCode).toBe(200);
  });

  it('refuse to extend by nothing, or a job that has finished', async () => {
    const zero = await t.call('POST', '/api/jobs/extend', t.tokens.user, {
      items: [{ jobId: runningDb, requestedTime: { hours: 0, minutes: 0, seconds: 0 } }],
    });
    expect(zero.statusCode).toBe(400);
    expect(zero.json().why).toMatch(/^items\[0\]\.requestedTime/);
    const done = await createJob(t, databaseSpec('/finished/one'));
    await control(t, done, { state: 'SUCCESS' });
    const late = await t.call('POST', '/api/jobs/extend', t.tokens.user, {
      items: [{ jobId: done, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }],
    });
    expect(late.statusCode).toBe(400);
    expect(late.json().why).toMatch(/^items\[0\]\.jobId: .*SUCCESS/);
  });
});

describe('a job as the caller sees it', () => {
  it('has the seed\'s Job shape with nulls for absent optional fields', async () => {
    const id = await createJob(t, databaseSpec('/shape/check'));
    await control(t, id, { state: 'RUNNING' });
    const job = await retrieve(t, id);
    expect(Object.keys(job).sort()).toEqual(
      ['createdAt', 'id', 'output', 'owner', 'permissions', 'providerGeneratedId', 'specification', 'status', 'updates'].sort(),
    );
    expect(job.owner).toEqual({ createdBy: 'user', project: null });
    expect(job.specification).toMatchObject({ openedFile: null, restartOnExit: null, sshEnabled: null, timeAllocation: null });
    expect(job.status).toMatchObject({ state: 'RUNNING', jobParametersJson: null, resolvedApplication: null });
  });
});
