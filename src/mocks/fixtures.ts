import type { Application, Job, JobSpecification, JobState, Product } from '@/api/types';

/* Fixtures for the mock server: the seeds' catalog plus an app that uses every parameter type. */

export const MOCK_TOKEN = 'user-token';
/** The session the mock server gives in exchange for MOCK_TOKEN (POST /api/auth/sessions). */
export const MOCK_SESSION = 'user-session';
/** The mock server takes both (ending a session is not modelled). */
export const isMockBearer = (bearer: string | null | undefined): boolean => bearer === MOCK_TOKEN || bearer === MOCK_SESSION;
export const MOCK_USER = 'user';

export const applications: Application[] = [
  {
    name: 'acme-batch',
    version: '1.0.0',
    title: 'Acme Batch',
    description: 'Runs a batch computation and finishes on its own.',
    allowPeers: false,
    defaultTimeAllocation: { hours: 1, minutes: 0, seconds: 0 },
    parameters: [
      {
        name: 'debug',
        type: 'boolean',
        title: 'Debug mode',
        description: 'Print extra diagnostics.',
        optional: true,
        defaultValue: { type: 'boolean', value: false },
        min: null,
        max: null,
        options: null,
      },
      {
        name: 'value',
        type: 'text',
        title: 'Value',
        description: 'The text to process.',
        optional: false,
        defaultValue: null,
        min: null,
        max: null,
        options: null,
      },
    ],
  },
  {
    name: 'acme-database',
    version: '1.0.0',
    title: 'Acme Database',
    description: 'A database server that keeps its data in a folder you choose.',
    allowPeers: true,
    defaultTimeAllocation: { hours: 4, minutes: 0, seconds: 0 },
    parameters: [
      {
        name: 'dataStore',
        type: 'input_directory',
        title: 'Data store',
        description: 'The folder where the database keeps its files.',
        optional: false,
        defaultValue: null,
        min: null,
        max: null,
        options: null,
      },
    ],
  },
  {
    name: 'acme-web-app',
    version: '1.0.0',
    title: 'Acme Web App',
    description: 'A web application. Connect it to a database job to give it storage.',
    allowPeers: true,
    defaultTimeAllocation: { hours: 2, minutes: 0, seconds: 0 },
    applicationType: 'WEB',
    parameters: [],
  },
  {
    name: 'acme-showcase',
    version: '2.1.0',
    title: 'Parameter Showcase',
    description: 'Uses every kind of parameter; handy to try the launch form.',
    allowPeers: true,
    defaultTimeAllocation: null,
    parameters: [
      { name: 'label', type: 'text', title: 'Label', description: 'A short label.', optional: false, defaultValue: null, min: null, max: null, options: null },
      { name: 'notes', type: 'textarea', title: 'Notes', description: 'Free text.', optional: true, defaultValue: null, min: null, max: null, options: null },
      {
        name: 'mode',
        type: 'enumeration',
        title: 'Mode',
        description: 'How to run.',
        optional: false,
        defaultValue: null,
        min: null,
        max: null,
        options: [
          { name: 'Fast', value: 'fast' },
          { name: 'Thorough', value: 'thorough' },
        ],
      },
      { name: 'threads', type: 'integer', title: 'Threads', description: 'Worker threads.', optional: false, defaultValue: { type: 'integer', value: 4 }, min: 1, max: 64, options: null },
      { name: 'ratio', type: 'floating_point', title: 'Sample ratio', description: 'Fraction of the input to sample.', optional: true, defaultValue: null, min: 0, max: 1, options: null },
      { name: 'verbose', type: 'boolean', title: 'Verbose', description: 'Log every step.', optional: false, defaultValue: null, min: null, max: null, options: null },
      { name: 'input', type: 'input_file', title: 'Input file', description: 'The file to read.', optional: false, defaultValue: null, min: null, max: null, options: null },
      { name: 'output', type: 'input_directory', title: 'Output folder', description: 'Where results go.', optional: true, defaultValue: null, min: null, max: null, options: null },
      { name: 'cache', type: 'peer', title: 'Cache server', description: 'A running job to use as cache.', optional: true, defaultValue: null, min: null, max: null, options: null },
    ],
  },
];

export const products: Product[] = [
  { id: 'example-compute', category: 'example-compute', provider: 'example', description: 'Standard machine', cpu: 4, memoryInGigs: 16, gpu: 0, supportsPeers: true, supportsTimeExtension: true },
  { id: 'example-compute-1', category: 'example-compute', provider: 'example', description: 'Small machine', cpu: 1, memoryInGigs: 4, gpu: 0, supportsPeers: true, supportsTimeExtension: true },
  { id: 'other-gpu', category: 'other-gpu', provider: 'other', description: 'GPU machine on another provider', cpu: 16, memoryInGigs: 64, gpu: 1, supportsPeers: true, supportsTimeExtension: true },
];

export function spec(partial: Partial<JobSpecification> & Pick<JobSpecification, 'application'>): JobSpecification {
  return {
    product: { id: 'example-compute', category: 'example-compute', provider: 'example' },
    name: null,
    replicas: 1,
    allowDuplicateJob: false,
    parameters: null,
    resources: null,
    timeAllocation: { hours: 4, minutes: 0, seconds: 0 },
    openedFile: null,
    restartOnExit: null,
    sshEnabled: null,
    ...partial,
  };
}

export function makeJob(id: string, specification: JobSpecification, state: JobState, now: number, ageMs: number): Job {
  const createdAt = now - ageMs;
  const startedAt = state === 'IN_QUEUE' ? null : createdAt + 5_000;
  const alloc = specification.timeAllocation;
  const allocMs = alloc ? (alloc.hours * 3600 + alloc.minutes * 60 + alloc.seconds) * 1000 : null;
  const updates: Job['updates'] = [
    { state: 'IN_QUEUE', status: 'Your job is waiting in the queue', outputFolder: null, expectedState: null, expectedDifferentState: null, newTimeAllocation: null, timestamp: createdAt },
  ];
  if (startedAt !== null) {
    updates.push({ state: 'RUNNING', status: 'Your job is now running', outputFolder: null, expectedState: null, expectedDifferentState: null, newTimeAllocation: null, timestamp: startedAt });
  }
  if (state !== 'IN_QUEUE' && state !== 'RUNNING') {
    const status = state === 'SUCCESS' ? 'Your job has completed' : state === 'FAILURE' ? 'Your job failed: exit code 1' : state === 'EXPIRED' ? 'Your job ran out of time' : 'Your job was suspended';
    updates.push({ state, status, outputFolder: null, expectedState: null, expectedDifferentState: null, newTimeAllocation: null, timestamp: (startedAt ?? createdAt) + 60_000 });
  }
  return {
    id,
    owner: { createdBy: MOCK_USER, project: null },
    updates,
    specification,
    status: {
      state,
      jobParametersJson: null,
      startedAt,
      expiresAt: startedAt !== null && allocMs !== null ? startedAt + allocMs : null,
      resolvedApplication: null,
      resolvedSupport: null,
      resolvedProduct: null,
    },
    createdAt,
    output: null,
    permissions: null,
    providerGeneratedId: id,
  };
}

export function initialJobs(now: number): Job[] {
  const app = (name: string) => ({ name, version: '1.0.0' });
  return [
    makeJob('4101', spec({ application: app('acme-database'), name: 'my-database', parameters: { dataStore: { type: 'file', path: '/123/acme-database', readOnly: false } } }), 'RUNNING', now, 3_600_000),
    makeJob('4102', spec({ application: app('acme-database'), name: 'analytics-db', product: { id: 'other-gpu', category: 'other-gpu', provider: 'other' }, parameters: { dataStore: { type: 'file', path: '/123/analytics', readOnly: false } } }), 'RUNNING', now, 3_000_000),
    makeJob('4103', spec({ application: app('acme-batch'), name: 'nightly-report', parameters: { debug: { type: 'boolean', value: false }, value: { type: 'text', value: 'Hello, World!' } } }), 'SUCCESS', now, 86_400_000),
    makeJob('4104', spec({ application: app('acme-web-app'), name: 'shop-frontend', resources: [{ type: 'peer', hostname: 'database', jobId: '4101' }] }), 'RUNNING', now, 1_800_000),
    makeJob('4105', spec({ application: app('acme-batch'), name: 'broken-import', parameters: { debug: { type: 'boolean', value: true }, value: { type: 'text', value: 'oops' } } }), 'FAILURE', now, 7_200_000),
    makeJob('4106', spec({ application: app('acme-database'), name: 'cache-store', product: { id: 'example-compute-1', category: 'example-compute', provider: 'example' }, parameters: { dataStore: { type: 'file', path: '/123/cache', readOnly: false } } }), 'RUNNING', now, 600_000),
  ];
}

/** Many finished jobs, to try the list at scale (dev only). */
export function bulkJobs(count: number, now: number, firstId: number): Job[] {
  const states: JobState[] = ['SUCCESS', 'FAILURE', 'EXPIRED', 'SUCCESS'];
  const apps = ['acme-batch', 'acme-database', 'acme-web-app'];
  const jobs: Job[] = [];
  for (let i = 0; i < count; i++) {
    const name = apps[i % apps.length] ?? 'acme-batch';
    jobs.push(
      makeJob(String(firstId - i - 1), spec({ application: { name, version: '1.0.0' }, name: `batch-${i + 1}` }), states[i % states.length] ?? 'SUCCESS', now, 90_000_000 + i * 60_000),
    );
  }
  return jobs;
}
