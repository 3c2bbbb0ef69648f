import { beforeAll, describe, expect, it } from 'vitest';
import type { Task, TaskUpdate } from '../../contract/tasks';
import { sharedApp } from '../test/app';
import { TestSocket } from '../test/socket';

/**
 * What a client (the SPA's task tray) keeps, written independently of the server: REST snapshots and live
 * updates merged by `seq`. An update at or below the task's seq is a duplicate and is dropped; one past
 * seq + 1 is a gap, which a real client would mend by refetching.
 */
class TrayModel {
  readonly tasks = new Map<string, Task>();
  duplicates = 0;
  gaps = 0;

  reconcile(snapshot: Task[]) {
    for (const task of snapshot) {
      const mine = this.tasks.get(task.jobId);
      if (!mine || (task.seq ?? 0) >= (mine.seq ?? 0)) this.tasks.set(task.jobId, structuredClone(task));
    }
  }

  apply(update: TaskUpdate) {
    const task = this.tasks.get(update.jobId);
    if (!task) return;
    const seq = update.seq!;
    if (seq <= task.seq!) {
      this.duplicates += 1;
      return;
    }
    if (seq !== task.seq! + 1) {
      this.gaps += 1;
      return;
    }
    if (update.newTitle != null) task.title = update.newTitle;
    if (update.newStatus != null) task.status = update.newStatus;
    if (update.progress != null) task.progress = update.progress;
    if (update.speeds != null) task.speeds = update.speeds;
    if (update.messageToAppend != null) task.messages = [...(task.messages ?? []), update.messageToAppend].slice(-1000);
    if (update.complete) task.complete = true;
    task.seq = seq;
  }
}

let alice: string;
const t = sharedApp();
beforeAll(async () => {
  alice = (await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'alice' })).json().token;
});

const list = async (): Promise<Task[]> => (await t.call('GET', '/api/tasks?itemsPerPage=1000', alice)).json().items;

describe('a listener that disconnects mid-stream and reconnects', () => {
  it("rebuilds the server's view over REST and the new stream, with no message lost or duplicated", async () => {
    const model = new TrayModel();
    const id = (await t.call('PUT', '/api/tasks', t.tokens.ucloud, { title: 'Long job', owner: 'alice', initialStatus: 'Starting' })).json().jobId;

    // First connection: subscribe, then take the REST snapshot, then apply live updates.
    const first = await TestSocket.inject(t.app);
    first.call('tasks.listen', 'tray', {}, alice);
    await first.sync(alice);
    model.reconcile(await list());
    let appliedFromFirst = 0;
    const firstDone = first.until(() => {
      for (const update of first.messages('tray').slice(appliedFromFirst)) model.apply(update);
      appliedFromFirst = first.messages('tray').length;
      return appliedFromFirst >= 10 ? true : undefined;
    }, 'ten updates on the first connection');

    // The processor keeps posting throughout; every fifth update also changes title, status and progress.
    const total = 60;
    let posted = 0;
    const poster = (async () => {
      for (let n = 1; n <= total; n++) {
        const update: Record<string, unknown> = { jobId: id, messageToAppend: `line ${n}` };
        if (n % 5 === 0) Object.assign(update, { newTitle: `Long job (${n})`, newStatus: `At ${n}`, progress: { title: 'Lines', current: n, maximum: total } });
        const response = await t.call('POST', '/api/tasks/postStatus', t.tokens.ucloud, { update });
        expect(response.statusCode).toBe(200);
        posted = n;
      }
      expect((await t.call('POST', '/api/tasks/markAsComplete', t.tokens.ucloud, { id })).statusCode).toBe(200);
    })();

    await firstDone;
    await first.close();
    const postedWhileConnected = posted;

    // Reconnect: subscribe first, then refetch; live updates that arrive meanwhile wait in a buffer.
    const second = await TestSocket.inject(t.app);
    second.call('tasks.listen', 'tray', {}, alice);
    await second.sync(alice);
    // Let at least one live update land before the snapshot, so the snapshot certainly holds it too.
    await second.waitMessages('tray', 1);
    model.reconcile(await list());
    let appliedFromSecond = 0;
    const drain = () => {
      for (const update of second.messages('tray').slice(appliedFromSecond)) model.apply(update);
      appliedFromSecond = second.messages('tray').length;
    };
    await poster;
    await second.until(() => {
      drain();
      return model.tasks.get(id)?.complete ? true : undefined;
    }, 'the completion update');

    const server = (await t.call('GET', `/api/tasks/retrieve?id=${id}`, alice)).json() as Task;
    const { modifiedAt: _ignored, ...serverView } = server;
    const { modifiedAt: _alsoIgnored, ...clientView } = model.tasks.get(id)!;
    expect(clientView).toEqual(serverView);
    expect(server.messages).toEqual(Array.from({ length: total }, (_, i) => `line ${i + 1}`));
    expect(server).toMatchObject({ complete: true, seq: total + 1, title: `Long job (${total})`, status: `At ${total}` });
    // The reconnect really happened mid-stream, and seq did its job: duplicates dropped, no gap.
    expect(postedWhileConnected).toBeLessThan(total);
    expect(model.duplicates).toBeGreaterThanOrEqual(1);
    expect(model.gaps).toBe(0);
    await second.close();
  });
});
