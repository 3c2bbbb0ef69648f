import { expect, test } from 'vitest';
import { build, type TestApp } from '../test/app';
import { createJob, webApp } from '../test/jobs';
import { FAST, POLL, waitForState } from '../test/provider';
import { TestSocket } from '../test/socket';
import type { Task, TaskUpdate } from '../../contract/tasks';
import { TransportError } from './kit/transport';
import { ImagePuller, layersOf } from './image-pull';

let t: TestApp | undefined;
test("while a job is queued, the provider reports its image pull as a task of the job's user: progress, speed, a line per layer, completion", async () => {
  t = await build({ ...FAST, exampleQueueDelayMs: 300, exampleImagePull: true });
  const client = await TestSocket.inject(t.app, '/api/tasks');
  client.call('tasks.listen', 'pull', {}, t.tokens.user);
  await client.sync(t.tokens.user);

  const id = await createJob(t, webApp());
  const title = `Pulling image acme-web-app:1.0.0 for job ${id}`;
  const findTask = async () => {
    const page = (await t!.call('GET', '/api/tasks?itemsPerPage=50', t!.tokens.user)).json() as { items: Task[] };
    return page.items.find((task) => task.title === title);
  };
  await expect.poll(async () => (await findTask())?.complete, POLL).toBe(true);
  const listed = (await findTask())!;
  const task = (await t.call('GET', `/api/tasks/retrieve?id=${listed.jobId}`, t.tokens.user)).json() as Task;

  const layers = layersOf('acme-web-app:1.0.0');
  const total = layers.reduce((sum, l) => sum + l.sizeMB, 0);
  expect(task).toMatchObject({ owner: 'user', processor: 'example', complete: true, status: 'Image ready' });
  expect(task.progress).toEqual({ title: 'Done', current: total, maximum: total });
  expect(task.messages).toEqual([
    ...layers.map((l, i) => `Layer ${i + 1}/${layers.length} sha256:${l.digest.slice(0, 12)} pulled (${l.sizeMB} MB)`),
    `Image acme-web-app:1.0.0 ready: ${total} MB in ${layers.length} layers`,
  ]);

  // What the user's tasks.listen stream saw: progress that only grows, a download speed in MB/s, then completion.
  const updates = (await client.until(() => {
    const mine = (client.messages('pull') as TaskUpdate[]).filter((u) => u.jobId === listed.jobId);
    return mine.some((u) => u.complete) ? mine : undefined;
  }, 'the pull to complete')) as TaskUpdate[];
  const progress = updates.flatMap((u) => (u.progress ? [u.progress.current] : []));
  expect(progress.length).toBe(layers.length * 4 + 1);
  expect(progress).toEqual([...progress].sort((a, b) => a - b));
  expect(updates.some((u) => u.speeds?.[0]?.unit === 'MB/s' && /^\d+(\.\d)? MB\/s$/.test(u.speeds[0].asText))).toBe(true);
  expect(updates.at(-1)!.complete).toBe(true);
  await client.close();
  await waitForState(t, id, 'RUNNING');
});

test('a pull that cannot be reported is logged, never thrown: the job does not depend on it', async () => {
  const warnings: unknown[] = [];
  const puller = new ImagePuller({
    core: async () => {
      throw new TransportError('connect ECONNREFUSED');
    },
    token: 'x',
    log: { warn: (entry: unknown) => warnings.push(entry) } as never,
    durationMs: 0,
  });
  await expect(puller.pull({ jobId: '1', owner: 'user', image: 'acme-web-app:1.0.0' })).resolves.toBeUndefined();
  expect(warnings).toEqual([{ jobId: '1', error: 'the core cannot be reached (connect ECONNREFUSED)' }]);
});
