import { describe, expect, it } from 'vitest';
import type { TSchema } from 'typebox';
import { FindByStringId, Unit } from './common';
import {
  extractSeedPayloads,
  kotlinLiteral,
  seedFiles,
  seedPayloads,
  seedStreams,
  type RawSeedPayload,
} from './fixtures/seed-payloads';
import { Job, JobsControlUpdateRequest, JobsCreateRequest, JobsCreateResponse, ProviderJobsVerifyRequest } from './jobs';
import { TasksListenRequest } from './socket';
import { PostStatusRequest, Task, TasksCreateRequest, TaskUpdate } from './tasks';
import { Value } from 'typebox/value';

const SCHEMAS: Record<RawSeedPayload['call'], Partial<Record<RawSeedPayload['kind'], TSchema>>> = {
  'provider.jobs.verify': { request: ProviderJobsVerifyRequest, response: Unit },
  'jobs.control.update': { request: JobsControlUpdateRequest, response: Unit },
  'jobs.create': { request: JobsCreateRequest, response: JobsCreateResponse },
  'tasks.create': { request: TasksCreateRequest, response: Task },
  'tasks.postStatus': { request: PostStatusRequest, response: Unit },
  'tasks.markAsComplete': { request: FindByStringId, response: Unit },
  'tasks.listen': { request: TasksListenRequest, message: TaskUpdate },
};

const payloads = seedFiles().flatMap(({ seed, text }) => extractSeedPayloads(seed, text));

function tally(seed: string) {
  const counts: Record<string, number> = {};
  for (const p of payloads.filter((p) => p.seed === seed)) {
    const key = `${p.source} ${p.call} ${p.kind}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('seed payload extraction', () => {
  it('finds every payload in every seed', () => {
    expect(seedFiles().map((f) => f.seed)).toEqual([
      '000_7d16e19d49a43e32.txt',
      '001_2be27d0ebd4d4bad.txt',
      '002_befef9e35b273061.txt',
    ]);
    expect(tally('000_7d16e19d49a43e32.txt')).toEqual({
      'typescript provider.jobs.verify request': 1,
      'typescript provider.jobs.verify response': 1,
      'typescript jobs.control.update request': 1,
      'typescript jobs.control.update response': 1,
      'curl provider.jobs.verify request': 1,
      'curl provider.jobs.verify response': 1,
      'curl jobs.control.update request': 1,
      'curl jobs.control.update response': 1,
    });
    expect(tally('001_2be27d0ebd4d4bad.txt')).toEqual({
      'typescript jobs.create request': 2,
      'typescript jobs.create response': 2,
      'curl jobs.create request': 2,
      'curl jobs.create response': 2,
    });
    expect(tally('002_befef9e35b273061.txt')).toEqual({
      'typescript tasks.create request': 1,
      'typescript tasks.create response': 1,
      'typescript tasks.postStatus request': 3,
      'typescript tasks.postStatus response': 3,
      'typescript tasks.markAsComplete request': 1,
      'typescript tasks.markAsComplete response': 1,
      'curl tasks.create request': 1,
      'curl tasks.create response': 1,
      'curl tasks.postStatus request': 3,
      'curl tasks.postStatus response': 3,
      'curl tasks.markAsComplete request': 1,
      'curl tasks.markAsComplete response': 1,
      'kotlin tasks.listen request': 1,
      'kotlin tasks.listen message': 4,
    });
    expect(payloads).toHaveLength(41);
  });

  it('pairs the TypeScript and curl sections into identical calls, with curl method and path', () => {
    const calls = seedPayloads();
    expect(calls.map((c) => `${c.actor} ${c.method} ${c.path} (${c.call})`)).toEqual([
      'ucloud POST /ucloud/example/jobs/verify (provider.jobs.verify)',
      'provider POST /api/jobs/control/update (jobs.control.update)',
      'user POST /api/jobs (jobs.create)',
      'user POST /api/jobs (jobs.create)',
      'ucloud PUT /api/tasks (tasks.create)',
      'ucloud POST /api/tasks/postStatus (tasks.postStatus)',
      'ucloud POST /api/tasks/postStatus (tasks.postStatus)',
      'ucloud POST /api/tasks/postStatus (tasks.postStatus)',
      'ucloud POST /api/tasks/markAsComplete (tasks.markAsComplete)',
    ]);
    expect(calls[0]!.seedPath).toBe('/ucloud/ucloud/jobs/verify');
    for (const call of calls) expect(JSON.parse(call.bodyText)).toEqual(call.body);

    const typescriptOnly = payloads.filter((p) => p.source === 'typescript').map((p) => p.json);
    const curlOnly = payloads.filter((p) => p.source === 'curl').map((p) => p.json);
    expect(curlOnly).toEqual(typescriptOnly);
  });

  it('reads the user-side TaskUpdate stream from the Kotlin section', () => {
    const [stream, ...rest] = seedStreams();
    expect(rest).toEqual([]);
    expect(stream).toMatchObject({ call: 'tasks.listen', actor: 'user', payload: {} });
    expect(stream!.messages.map((m) => (m as TaskUpdate).messageToAppend)).toEqual([
      'Count is now 1',
      'Count is now 2',
      'Count is now 3',
      null,
    ]);
    expect(stream!.messages.at(-1)).toMatchObject({ complete: true, speeds: [], progress: null });
  });

  it('reads Kotlin literals the same way the TypeScript section spells them', () => {
    const { text } = seedFiles().find((f) => f.seed.startsWith('002'))!;
    const kotlinTask = /\/\*\n(Task\([\s\S]*?\n\))\n\*\//.exec(text)![1]!;
    const typescriptTask = payloads.find((p) => p.call === 'tasks.create' && p.kind === 'response')!.json;
    expect(kotlinLiteral(kotlinTask)).toEqual(typescriptTask);
    expect(() => kotlinLiteral('mapOf("a" to 1)')).toThrow();
  });
});

describe('seed payloads validate against the contract', () => {
  it.each(payloads.map((p) => [`${p.seed} ${p.source} ${p.call} ${p.kind}`, p] as const))('%s', (_, payload) => {
    const schema = SCHEMAS[payload.call][payload.kind];
    expect(schema, `no schema for ${payload.call} ${payload.kind}`).toBeDefined();
    expect(Value.Check(schema!, payload.json), JSON.stringify([...Value.Errors(schema!, payload.json)])).toBe(true);
  });

  it('accepts the providerGeneratedId that seed 000 shows only in Kotlin', () => {
    const verify = payloads.find((p) => p.call === 'provider.jobs.verify' && p.kind === 'request')!.json as {
      items: Job[];
    };
    expect(Value.Check(Job, { ...verify.items[0]!, providerGeneratedId: '54112' })).toBe(true);
  });
});
