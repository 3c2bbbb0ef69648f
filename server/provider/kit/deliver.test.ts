import { describe, expect, test } from 'vitest';
import { deliver, type BatchDelivery, type Failure } from './deliver';
import { TransportError, type HttpResult } from './transport';

/** A receiver that refuses any request holding a bad item (as the core and the built-in provider do), and records all. */
function receiver(opts: { bad?: Set<number>; down?: boolean; failStatus?: number; notNow?: boolean } = {}) {
  const requests: number[][] = [];
  const delivered: number[] = [];
  const refused: number[] = [];
  const failed: { batch: number[]; failure: Failure }[] = [];
  const how: BatchDelivery<number> = {
    send: async (batch) => {
      if (opts.notNow) return null;
      requests.push([...batch]);
      if (opts.down) throw new TransportError('ECONNREFUSED');
      if (opts.failStatus) return { status: opts.failStatus, body: { why: 'down for maintenance' } };
      const bad = batch.some((i) => opts.bad?.has(i));
      return bad ? { status: 404, body: { why: 'unknown job' } } : { status: 200, body: {} };
    },
    isRefusal: (status) => status === 400 || status === 404,
    delivered: async (batch) => void delivered.push(...batch),
    refused: async (item) => void refused.push(item),
    failed: async (batch, failure) => void failed.push({ batch: [...batch], failure }),
  };
  return { how, requests, delivered, refused, failed };
}

describe('deliver', () => {
  test('a batch the receiver takes goes in one request', async () => {
    const r = receiver();
    expect(await deliver([1, 2, 3], r.how)).toBe('delivered');
    expect(r.requests).toEqual([[1, 2, 3]]);
    expect(r.delivered).toEqual([1, 2, 3]);
  });

  test('a refused batch is split: the one bad item is dropped and every other is delivered, in order', async () => {
    const r = receiver({ bad: new Set([3]) });
    expect(await deliver([1, 2, 3, 4, 5], r.how)).toBe('delivered');
    expect(r.requests).toEqual([[1, 2, 3, 4, 5], [1], [2], [3], [4], [5]]);
    expect(r.delivered).toEqual([1, 2, 4, 5]);
    expect(r.refused).toEqual([3]);
    expect(r.failed).toEqual([]);
  });

  test('a refused single item is dropped without another try', async () => {
    const r = receiver({ bad: new Set([7]) });
    expect(await deliver([7], r.how)).toBe('delivered');
    expect(r.requests).toEqual([[7]]);
    expect(r.refused).toEqual([7]);
  });

  test('no answer: the batch stays queued, with the reason', async () => {
    const r = receiver({ down: true });
    expect(await deliver([1, 2], r.how)).toBe('retry');
    expect(r.failed).toEqual([{ batch: [1, 2], failure: { reached: false, message: 'ECONNREFUSED' } }]);
    expect(r.delivered).toEqual([]);
  });

  test('an answer that is not a refusal (503) is retried, not split', async () => {
    const r = receiver({ failStatus: 503 });
    expect(await deliver([1, 2], r.how)).toBe('retry');
    expect(r.requests).toEqual([[1, 2]]);
    expect((r.failed[0]!.failure as { result: HttpResult }).result.status).toBe(503);
  });

  test('a failure while splitting stops there: the items before it are delivered, it and the rest are not', async () => {
    const r = receiver({ bad: new Set([2]) });
    let sends = 0;
    const inner = r.how.send;
    r.how.send = async (batch) => {
      sends += 1;
      // The receiver goes away after the second single-item request.
      if (sends > 3) throw new TransportError('ECONNRESET');
      return inner(batch);
    };
    expect(await deliver([1, 2, 3, 4], r.how)).toBe('retry');
    expect(r.delivered).toEqual([1]);
    expect(r.refused).toEqual([2]);
    expect(r.failed.map((f) => f.batch)).toEqual([[3]]);
  });

  test('a batch the sender did not send now (null) is retried without counting as a failure', async () => {
    const r = receiver({ notNow: true });
    expect(await deliver([1], r.how)).toBe('retry');
    expect(r.failed).toEqual([]);
  });

  test('an error other than a transport error is not swallowed', async () => {
    const r = receiver();
    r.how.send = async () => {
      throw new Error('database gone');
    };
    await expect(deliver([1], r.how)).rejects.toThrow('database gone');
  });
});
