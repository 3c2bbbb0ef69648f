import { describe, expect, it } from 'vitest';
import { memoize } from './memo';

describe('memoize', () => {
  /** A function that counts its calls, so the test sees which answers were computed and which remembered. */
  function counted() {
    const calls: string[] = [];
    return { calls, fn: (key: string) => (calls.push(key), `h(${key})`) };
  }

  it('computes a value once and answers it again from memory', () => {
    const { calls, fn } = counted();
    const hash = memoize(fn, { max: 10, maxKeyLength: 64 });
    expect([hash('a'), hash('b'), hash('a'), hash('a')]).toEqual(['h(a)', 'h(b)', 'h(a)', 'h(a)']);
    expect(calls).toEqual(['a', 'b']);
  });

  it('keeps at most `max` arguments, forgetting the oldest first', () => {
    const { calls, fn } = counted();
    const hash = memoize(fn, { max: 2, maxKeyLength: 64 });
    hash('a');
    hash('b');
    hash('c'); // 'a' goes
    hash('b');
    hash('c');
    expect(calls).toEqual(['a', 'b', 'c']);
    expect(hash('a')).toBe('h(a)');
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });

  it('never keeps an argument longer than maxKeyLength', () => {
    const { calls, fn } = counted();
    const hash = memoize(fn, { max: 10, maxKeyLength: 3 });
    expect(hash('long')).toBe('h(long)');
    expect(hash('long')).toBe('h(long)');
    hash('abc');
    hash('abc');
    expect(calls).toEqual(['long', 'long', 'abc']);
  });
});
