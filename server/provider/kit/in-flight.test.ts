import { describe, expect, test } from 'vitest';
import { InFlight } from './in-flight';

function later() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('InFlight', () => {
  test('idle() waits for tracked work, and for work it started meanwhile', async () => {
    const inFlight = new InFlight(() => {});
    const first = later();
    const second = later();
    inFlight.track(first.promise.then(() => inFlight.track(second.promise)));
    let idle = false;
    const waiting = inFlight.idle().then(() => (idle = true));
    first.resolve();
    await tick();
    expect(idle).toBe(false);
    expect(inFlight.size).toBe(1);
    second.resolve();
    await waiting;
    expect(idle).toBe(true);
    expect(inFlight.size).toBe(0);
  });

  test('current() waits only for the work in flight when it is called', async () => {
    const inFlight = new InFlight(() => {});
    const first = later();
    const second = later();
    inFlight.track(first.promise);
    const waiting = inFlight.current();
    inFlight.track(second.promise);
    first.resolve();
    await waiting;
    expect(inFlight.size).toBe(1);
    second.resolve();
    await inFlight.idle();
  });

  test('a failure is reported, not thrown, and does not stall idle()', async () => {
    const errors: unknown[] = [];
    const inFlight = new InFlight((error) => errors.push(error));
    const work = later();
    inFlight.track(work.promise);
    work.reject(new Error('boom'));
    await inFlight.idle();
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
    expect(inFlight.size).toBe(0);
  });
});
