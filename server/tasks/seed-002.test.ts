import { beforeAll, describe, expect, it } from 'vitest';
import { seedPayloads, seedStreams } from '../../contract/fixtures/seed-payloads';
import { sharedApp } from '../test/app';
import { TestSocket } from '../test/socket';
import { runSeedCurl } from '../test/seed-curl';
import { runCli, type CliContext } from '../cli';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Seed 002, "Counting to 3": the service's curl commands run verbatim with curl against a listening server,
// and the end-user's tasks.listen subscription receives what the seed says it receives.
describe('seed 002: counting to 3', () => {
  let host: string;
  let cli: (argv: string[]) => Promise<string[]>;
  let ownerToken: string;

  const t = sharedApp();
  beforeAll(async () => {
    host = await t.app.listen({ port: 0, host: '127.0.0.1' });
    cli = async (argv) => {
      const lines: string[] = [];
      const ctx: CliContext = { baseUrl: host, credentials: t.tokens, out: (line) => lines.push(line) };
      await runCli(argv, ctx);
      return lines;
    };
    // The seed's owner, created the way an operator would: `npm run cli -- user add 'User#1234'`.
    [ownerToken] = (await cli(['user', 'add', 'User#1234'])) as [string];
  });

  const calls = seedPayloads().filter((c) => c.seed.startsWith('002'));
  const [stream] = seedStreams().filter((s) => s.seed.startsWith('002'));

  it('reads five service calls and one stream of four updates from the seed', () => {
    expect(calls.map((c) => `${c.actor} ${c.method} ${c.path}`)).toEqual([
      'ucloud PUT /api/tasks',
      'ucloud POST /api/tasks/postStatus',
      'ucloud POST /api/tasks/postStatus',
      'ucloud POST /api/tasks/postStatus',
      'ucloud POST /api/tasks/markAsComplete',
    ]);
    expect(stream).toMatchObject({ call: 'tasks.listen', payload: {} });
    expect(stream!.messages).toHaveLength(4);
  });

  it("runs the curl commands verbatim, and the owner's tasks.listen subscriber receives exactly the seed's four TaskUpdates, in order", async () => {
    const listener = await TestSocket.connect(`${host.replace('http', 'ws')}/api/tasks`);
    listener.call(stream!.call, '0', stream!.payload, ownerToken);
    await listener.sync(ownerToken);

    const [create, ...rest] = calls;
    const created = await runSeedCurl(host, t.tokens.ucloud, create!);
    expect(created.status).toBe(200);
    const seedTask = create!.response as { jobId: string };
    const task = created.body as { jobId: string };
    // The seed's Task, field for field; only the id and the clock are the server's own. Plus the extensions.
    expect(task).toEqual({
      ...seedTask,
      jobId: expect.stringMatching(UUID),
      startedAt: expect.any(Number),
      modifiedAt: expect.any(Number),
      progress: null,
      speeds: [],
      messages: [],
      seq: 0,
    });

    for (const call of rest) {
      const result = await runSeedCurl(host, t.tokens.ucloud, call, { [seedTask.jobId]: task.jobId });
      expect(result).toEqual({ status: 200, body: call.response });
    }

    await listener.waitMessages('0', 4);
    // Nothing else follows: once a later call on the socket is answered, a fifth update would have arrived.
    await listener.sync(ownerToken);
    expect(listener.on('0')).toEqual(
      stream!.messages.map((message, i) => ({
        type: 'message',
        streamId: '0',
        payload: { ...(message as object), jobId: task.jobId, seq: i + 1 },
      })),
    );

    const view = await t.call('GET', `/api/tasks/retrieve?id=${task.jobId}`, ownerToken);
    expect(view.json()).toMatchObject({
      jobId: task.jobId,
      owner: 'User#1234',
      processor: '_ucloud',
      title: 'We are counting to 3',
      complete: true,
      messages: ['Count is now 1', 'Count is now 2', 'Count is now 3'],
      seq: 4,
    });
    await listener.close();
  });

  it('`task demo --owner User#1234` counts to 3 the same way, over HTTP as the ucloud service', async () => {
    const listener = await TestSocket.connect(`${host.replace('http', 'ws')}/api/tasks`);
    listener.call('tasks.listen', 'demo', {}, ownerToken);
    await listener.sync(ownerToken);
    const output = await cli(['task', 'demo', '--owner', 'User#1234', '--delay', '0']);
    const id = /^Created task (\S+) for 'User#1234'/.exec(output[0]!)?.[1];
    expect(id).toMatch(UUID);
    expect(output.slice(1)).toEqual(['Count is now 1', 'Count is now 2', 'Count is now 3', `Task ${id} is complete.`]);
    await listener.waitMessages('demo', 4);
    expect(listener.messages('demo')).toEqual(stream!.messages.map((message, i) => ({ ...(message as object), jobId: id, seq: i + 1 })));
    await listener.close();
  });

  it('`task demo` refuses an unknown option and a missing owner', async () => {
    await expect(cli(['task', 'demo', '--owners', 'x'])).rejects.toThrow(/unknown option '--owners'/);
    await expect(cli(['task', 'demo', '--owner', 'nobody', '--delay', '0'])).rejects.toThrow(/\(400\): owner: no user 'nobody'/);
  });
});
