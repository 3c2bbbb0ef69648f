import { describe, expect, it } from 'vitest';
import { CollectQueue } from './collect-queue';

/** A queue whose collections end when the test says so, recording what ran and what saw its abort. */
function harness(concurrency: number) {
  const started: string[] = [];
  const aborted: string[] = [];
  const finish = new Map<string, () => void>();
  const tracked: Promise<unknown>[] = [];
  const queue = new CollectQueue({
    concurrency,
    run: (jobId, signal) =>
      new Promise<void>((resolve) => {
        started.push(jobId);
        finish.set(jobId, resolve);
        signal.addEventListener('abort', () => {
          aborted.push(jobId);
          resolve();
        });
      }),
    track: (work) => tracked.push(work),
  });
  const end = async (jobId: string) => {
    finish.get(jobId)!();
    // The queue takes the next in the ended collection's `finally`, a few microtasks later.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { queue, started, aborted, end, settled: () => Promise.all(tracked) };
}

describe('output collection queue', () => {
  it('runs at most its concurrency at once, the next as one ends, in the order added', async () => {
    const h = harness(2);
    h.queue.add(['1', '2', '3', '4', '5']);
    expect(h.started).toEqual(['1', '2']);
    await h.end('2');
    expect(h.started).toEqual(['1', '2', '3']);
    await h.end('1');
    await h.end('3');
    expect(h.started).toEqual(['1', '2', '3', '4', '5']);
    expect(h.queue.size).toBe(2);
  });

  it('queues a job once however often it is added while it waits or runs', async () => {
    const h = harness(1);
    h.queue.add(['1', '2']);
    h.queue.add(['1', '2', '2']);
    await h.end('1');
    await h.end('2');
    expect(h.started).toEqual(['1', '2']);
    expect(h.queue.size).toBe(0);
    // Once done it may be queued again (the provider's table says whether anything is left to copy).
    h.queue.add(['1']);
    expect(h.started).toEqual(['1', '2', '1']);
  });

  it('on close aborts what runs, starts nothing that waited, and takes nothing new', async () => {
    const h = harness(2);
    h.queue.add(['1', '2', '3', '4']);
    h.queue.close();
    await h.settled();
    expect(h.aborted).toEqual(['1', '2']);
    h.queue.add(['5']);
    expect(h.started).toEqual(['1', '2']);
    expect(h.queue.size).toBe(0);
  });
});
