import { afterEach, describe, expect, test, vi } from 'vitest';
import { Backoff, backoffDelay } from './backoff';

const mid = () => 0.5;

describe('backoffDelay', () => {
  test('doubles from the base, is capped, and is jittered by ±20 %', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10].map((n) => backoffDelay(n, 1000, 60_000, mid))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000,
    ]);
    expect(backoffDelay(3, 1000, 60_000, () => 0)).toBeCloseTo(3200);
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBeCloseTo(4800);
    expect(backoffDelay(50, 1000, 60_000, () => 1)).toBeCloseTo(72_000);
    expect(backoffDelay(0, 1000, 60_000, mid)).toBe(1000);
  });
});

describe('Backoff', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('each failure in a row waits longer, up to the cap; a success starts again from the base', () => {
    const backoff = new Backoff(100, 1000, mid);
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.fail())).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoff.failures).toBe(6);
    backoff.reset();
    expect(backoff.failures).toBe(0);
    expect(backoff.fail()).toBe(100);
  });

  test('retryLater runs the retry once its delay has passed, and is waiting until then', () => {
    vi.useFakeTimers();
    const backoff = new Backoff(100, 1000, mid);
    const retry = vi.fn();
    expect(backoff.retryLater(retry)).toBe(100);
    expect(backoff.waiting).toBe(true);
    vi.advanceTimersByTime(99);
    expect(retry).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(retry).toHaveBeenCalledTimes(1);
    expect(backoff.waiting).toBe(false);
    // A second failure in a row waits twice as long.
    expect(backoff.retryLater(retry)).toBe(200);
    vi.advanceTimersByTime(199);
    expect(retry).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(retry).toHaveBeenCalledTimes(2);
  });

  test('a new retryLater replaces the waiting one; cancel drops it but keeps the count', () => {
    vi.useFakeTimers();
    const backoff = new Backoff(100, 1000, mid);
    const first = vi.fn();
    const second = vi.fn();
    backoff.retryLater(first);
    backoff.retryLater(second);
    vi.advanceTimersByTime(1000);
    expect(first).not.toHaveBeenCalled();
    expect(second).toHaveBeenCalledTimes(1);
    backoff.retryLater(first);
    backoff.cancel();
    expect(backoff.waiting).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(first).not.toHaveBeenCalled();
    expect(backoff.failures).toBe(3);
  });
});
