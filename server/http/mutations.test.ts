import { describe, expect, it } from 'vitest';
import { seedPayloads, type SeedCallName } from '../../contract/fixtures/seed-payloads';
import { SEED_REQUEST_SCHEMAS } from '../../contract/fixtures/seed-request-schemas';
import { check } from './parse';

// Each case breaks one field of a seed request and expects the 400's why to name exactly that field.

const REQUESTS = SEED_REQUEST_SCHEMAS;

const calls = seedPayloads();

function seedBody(call: SeedCallName, nth = 0): unknown {
  const found = calls.filter((c) => c.call === call)[nth];
  if (!found) throw new Error(`no seed call ${call} #${nth}`);
  return structuredClone(found.body);
}

type Container = Record<string, unknown>;
type Mutation = (body: unknown) => unknown;

/** The container that holds the last step of a dotted path such as `items.0.replicas`. */
function parentOf(body: unknown, path: string): [Container, string] {
  const steps = path.split('.');
  const last = steps.pop()!;
  return [steps.reduce((node, step) => (node as Container)[step], body) as Container, last];
}

const get = (body: unknown, path: string): unknown => {
  const [parent, key] = parentOf(body, path);
  return parent[key];
};
const set =
  (path: string, value: unknown): Mutation =>
  (body) => {
    const [parent, key] = parentOf(body, path);
    parent[key] = value;
    return body;
  };
const del =
  (path: string): Mutation =>
  (body) => {
    const [parent, key] = parentOf(body, path);
    delete parent[key];
    return body;
  };
const both =
  (...mutations: Mutation[]): Mutation =>
  (body) =>
    mutations.reduce((b, m) => m(b), body);

function whyAfter(call: SeedCallName, mutate: Mutation, nth = 0): string | undefined {
  const result = check(REQUESTS[call], mutate(seedBody(call, nth)));
  return result.ok ? undefined : result.why;
}

const UNKNOWN_TYPE = "unknown parameter type 'xyz'; expected one of 'text', 'integer', 'floating_point', 'boolean', 'file', 'peer'";

describe('a mutated seed request is refused with a why naming the field', () => {
  it.each<[string, SeedCallName, Mutation, string, number?]>([
    ['wrong type', 'jobs.create', set('items.0.replicas', '1'), 'items[0].replicas: must be an integer >= 1'],
    ['out of range', 'jobs.create', set('items.0.replicas', 0), 'items[0].replicas: must be an integer >= 1'],
    ['missing field', 'jobs.create', del('items.0.application'), 'items[0].application: is required'],
    ['missing nested field', 'jobs.create', del('items.0.product.provider'), 'items[0].product.provider: is required'],
    ['unknown field', 'jobs.create', set('items.0.colour', 'red'), 'items[0].colour: unknown field'],
    ['misspelt field', 'jobs.create', both(set('items.0.replica', 1), del('items.0.replicas')), 'items[0].replica: unknown field'],
    ['unknown parameter type', 'jobs.create', set('items.0.resources', [{ type: 'xyz' }]), `items[0].resources[0].type: ${UNKNOWN_TYPE}`, 1],
    ['unknown parameter type in parameters', 'jobs.create', set('items.0.parameters.dataStore.type', 'xyz'), `items[0].parameters.dataStore.type: ${UNKNOWN_TYPE}`],
    ['parameter without type', 'jobs.create', del('items.0.resources.0.type'), 'items[0].resources[0].type: is required', 1],
    ['error inside the matching union branch', 'jobs.create', set('items.0.resources.0.hostname', 42), 'items[0].resources[0].hostname: must be a string', 1],
    ['unknown field inside a union branch', 'jobs.create', set('items.0.resources.0.port', 5432), 'items[0].resources[0].port: unknown field', 1],
    ['missing field inside a union branch', 'jobs.create', del('items.0.parameters.dataStore.readOnly'), 'items[0].parameters.dataStore.readOnly: is required'],
    ['parameter name with a newline', 'jobs.create', set('items.0.parameters.data\nStore', 42), 'items[0].parameters["data\\nStore"]: unknown field'],
    ['resources not an array', 'jobs.create', set('items.0.resources', { type: 'peer' }), 'items[0].resources: must be an array or null', 1],
    ['negative duration', 'jobs.create', set('items.0.timeAllocation', { hours: -1, minutes: 0, seconds: 0 }), 'items[0].timeAllocation.hours: must be an integer >= 0'],
    ['minutes out of range', 'jobs.create', set('items.0.timeAllocation', { hours: 1, minutes: 60, seconds: 0 }), 'items[0].timeAllocation.minutes: must be an integer between 0 and 59'],
    ['fractional duration', 'jobs.create', set('items.0.timeAllocation', { hours: 1.5, minutes: 0, seconds: 0 }), 'items[0].timeAllocation.hours: must be an integer >= 0'],
    ['incomplete duration', 'jobs.create', set('items.0.timeAllocation', { hours: 1, minutes: 0 }), 'items[0].timeAllocation.seconds: is required'],
    ['duration as a string', 'jobs.create', set('items.0.timeAllocation', '1h'), 'items[0].timeAllocation: must be an object or null'],
    ['too many items', 'jobs.create', (b) => ({ items: Array.from({ length: 1001 }, () => get(b, 'items.0')) }), 'items: must have at most 1000 items (got 1001)'],
    ['empty items', 'jobs.create', () => ({ items: [] }), 'items: must have at least 1 item'],
    ['items not an array', 'jobs.create', (b) => ({ items: get(b, 'items.0') }), 'items: must be an array'],
    ['not an object', 'jobs.create', () => null, '(body): must be an object'],
    ['nested spec field', 'provider.jobs.verify', set('items.0.specification.replicas', 0), 'items[0].specification.replicas: must be an integer >= 1'],
    ['unknown job state', 'provider.jobs.verify', set('items.0.status.state', 'DONE'), "items[0].status.state: must be one of 'IN_QUEUE', 'RUNNING', 'SUCCESS', 'FAILURE', 'EXPIRED', 'SUSPENDED'"],
    ['timestamp as a string', 'provider.jobs.verify', set('items.0.createdAt', '2021-10-04'), 'items[0].createdAt: must be an integer >= 0'],
    ['nullable timestamp', 'provider.jobs.verify', set('items.0.status.startedAt', 1.5), 'items[0].status.startedAt: must be an integer >= 0 or null'],
    ['missing update timestamp', 'jobs.control.update', del('items.0.update.timestamp'), 'items[0].update.timestamp: is required'],
    ['bad expectedState', 'jobs.control.update', set('items.0.update.expectedState', 'running'), "items[0].update.expectedState: must be one of 'IN_QUEUE', 'RUNNING', 'SUCCESS', 'FAILURE', 'EXPIRED', 'SUSPENDED' or null"],
    ['bad username', 'tasks.create', set('owner', 'User 1234'), 'owner: must be a username (1 to 64 of A-Z a-z 0-9 _ . - #)'],
    ['missing title', 'tasks.create', del('title'), 'title: is required'],
    ['bad progress', 'tasks.postStatus', set('update.progress', { title: 'Pulling', current: '1', maximum: 3 }), 'update.progress.current: must be an integer >= 0'],
    ['bad speed', 'tasks.postStatus', set('update.speeds', [{ title: 'Download', speed: 'fast', unit: 'MB/s', asText: 'fast' }]), 'update.speeds[0].speed: must be a number'],
    ['speeds not an array', 'tasks.postStatus', set('update.speeds', 'fast'), 'update.speeds: must be an array or null'],
    ['empty id', 'tasks.markAsComplete', set('id', ''), 'id: must not be empty'],
    ['numeric id', 'tasks.markAsComplete', set('id', 4101), 'id: must be a non-empty string'],
  ])('%s (%s)', (_, call, mutate, why, nth) => {
    expect(whyAfter(call, mutate, nth)).toBe(why);
  });
});

describe('optional fields', () => {
  it('may be null or absent on input', () => {
    for (const field of ['name', 'parameters', 'resources', 'timeAllocation', 'openedFile', 'restartOnExit', 'sshEnabled']) {
      expect(whyAfter('jobs.create', set(`items.0.${field}`, null)), field).toBeUndefined();
      expect(whyAfter('jobs.create', del(`items.0.${field}`)), field).toBeUndefined();
    }
    expect(whyAfter('tasks.create', del('initialStatus'))).toBeUndefined();
  });

  it('are still typed when present', () => {
    expect(whyAfter('jobs.create', set('items.0.sshEnabled', 'yes'))).toBe('items[0].sshEnabled: must be a boolean or null');
  });
});
