import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openTestDb } from '../../test/app';
import type { Db } from '../../db/index';
import type { JobUpdate } from '../../../contract/jobs';
import { Outbox } from './outbox';
import { TransportError, type HttpResult, type Transport } from './transport';

// The kit's outbox against a fake core: durable in example_outbox (migration 003), in order, a refused batch split
// to drop the one bad update, backoff while the core is down, and stop() waiting for a delivery in flight.

const status = (text: string): JobUpdate => ({
  state: null,
  status: text,
  outputFolder: null,
  expectedState: null,
  expectedDifferentState: null,
  newTimeAllocation: null,
  timestamp: 0,
});

const quiet = { warn: () => {}, error: () => {} };

let db: Db;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ db, cleanup } = await openTestDb());
});
afterEach(async () => {
  await cleanup();
});

/** A core that takes updates for known jobs only and refuses any batch with another (404, as control/update does). */
function fakeCore(known: Set<string>) {
  const requests: string[][] = [];
  let down = false;
  let gate: Promise<void> | null = null;
  const transport: Transport = async (_method, _path, _token, json): Promise<HttpResult> => {
    if (gate) await gate;
    if (down) throw new TransportError('ECONNREFUSED');
    const ids = (JSON.parse(json!) as { items: { id: string }[] }).items.map((i) => i.id);
    requests.push(ids);
    return ids.every((id) => known.has(id)) ? { status: 200, body: {} } : { status: 404, body: { why: 'unknown job' } };
  };
  return {
    transport,
    requests,
    setDown: (value: boolean) => (down = value),
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = null;
        release();
      };
    },
  };
}

async function queued(): Promise<string[]> {
  return (await db.query<{ job_id: string }>(`SELECT job_id FROM example_outbox ORDER BY id`)).map((r) => r.job_id);
}

function outbox(core: Transport, retryMs = 10) {
  return new Outbox({ db, table: 'example_outbox', core, token: 't', retryMs, retryMaxMs: 100, name: 'test', log: quiet, batchSize: 4 });
}

describe('Outbox', () => {
  test('delivers queued updates in order, in batches, and leaves nothing queued', async () => {
    const core = fakeCore(new Set(['1', '2', '3', '4', '5', '6']));
    const box = outbox(core.transport);
    await db.tx((q) => box.enqueue(q, ['1', '2', '3', '4', '5', '6'].map((jobId) => ({ jobId, update: status(`s${jobId}`) }))));
    box.start();
    await box.settled();
    expect(core.requests).toEqual([['1', '2', '3', '4'], ['5', '6']]);
    expect(await queued()).toEqual([]);
    await box.stop();
  });

  test('a batch refused for one update delivers the others and drops only that one', async () => {
    const core = fakeCore(new Set(['1', '2', '4']));
    const box = outbox(core.transport);
    await db.tx((q) => box.enqueue(q, ['1', '2', '3', '4'].map((jobId) => ({ jobId, update: status('x') }))));
    box.start();
    await box.settled();
    expect(core.requests).toEqual([['1', '2', '3', '4'], ['1'], ['2'], ['3'], ['4']]);
    expect(await queued()).toEqual([]);
    await box.stop();
  });

  test('while the core is down, updates stay queued and are retried with backoff until it is back', async () => {
    const core = fakeCore(new Set(['1']));
    core.setDown(true);
    const box = outbox(core.transport);
    await db.tx((q) => box.enqueue(q, [{ jobId: '1', update: status('x') }]));
    box.start();
    await box.settled();
    expect(await queued()).toEqual(['1']);
    core.setDown(false);
    await expect.poll(queued, { timeout: 5_000, interval: 20 }).toEqual([]);
    expect(core.requests).toEqual([['1']]);
    await box.stop();
  });

  test('stop() waits for a delivery in flight; after it nothing is sent, and the queue waits for the next start', async () => {
    const core = fakeCore(new Set(['1', '2']));
    const box = outbox(core.transport);
    await db.tx((q) => box.enqueue(q, [{ jobId: '1', update: status('x') }]));
    const release = core.hold();
    box.start();
    let stopped = false;
    const stopping = box.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(await queued()).toEqual([]);
    await db.tx((q) => box.enqueue(q, [{ jobId: '2', update: status('y') }]));
    box.sendQueued();
    await box.settled();
    expect(await queued()).toEqual(['2']);
    box.start();
    await box.settled();
    expect(await queued()).toEqual([]);
    await box.stop();
  });
});
