import { describe, expect, it } from 'vitest';
import { ETA_WINDOW_MS, estimateRemainingMs, formatEta, recordProgress, type ProgressSample } from '@/features/tasks/eta';

function feed(readings: [number, number][]): readonly ProgressSample[] {
  let samples: readonly ProgressSample[] = [];
  for (const [at, current] of readings) samples = recordProgress(samples, current, false, at);
  return samples;
}

describe('ETA', () => {
  it('has no estimate from a single reading, or while nothing moves', () => {
    expect(estimateRemainingMs(feed([[0, 10]]), 100)).toBeNull();
    expect(estimateRemainingMs(feed([[0, 10], [5_000, 10]]), 100)).toBeNull();
  });

  it('divides what is left by the measured rate', () => {
    // 40 units in 4 s is 10 per second; 50 left.
    expect(estimateRemainingMs(feed([[0, 10], [1_000, 20], [4_000, 50]]), 100)).toBe(5_000);
  });

  it('is zero once the maximum is reached', () => {
    expect(estimateRemainingMs(feed([[0, 10], [1_000, 100]]), 100)).toBe(0);
  });

  it('measures when a value was first seen, not when it was repeated', () => {
    const samples = feed([[0, 0], [1_000, 10], [1_500, 10], [1_900, 10]]);
    expect(samples).toEqual([{ at: 0, current: 0 }, { at: 1_000, current: 10 }]);
  });

  it('follows a change of speed: old readings leave the window', () => {
    // Slow for two minutes (1/s), then fast (10/s) for the last 30 s.
    const readings: [number, number][] = [];
    for (let s = 0; s <= 120; s += 10) readings.push([s * 1000, s]);
    for (let s = 1; s <= 30; s += 1) readings.push([(120 + s) * 1000, 120 + s * 10]);
    const samples = feed(readings);
    expect(samples[0]!.at).toBeGreaterThanOrEqual(150_000 - ETA_WINDOW_MS - 1_000);
    const eta = estimateRemainingMs(samples, 1_000)!;
    // 580 left at ~10/s is ~58 s; the slow phase would have said ~9 min.
    expect(eta).toBeGreaterThan(50_000);
    expect(eta).toBeLessThan(70_000);
  });

  it('starts over when progress goes backwards or the maximum changes', () => {
    let samples = feed([[0, 10], [1_000, 20]]);
    samples = recordProgress(samples, 5, false, 2_000);
    expect(samples).toEqual([{ at: 2_000, current: 5 }]);
    samples = recordProgress(feed([[0, 10], [1_000, 20]]), 30, true, 2_000);
    expect(samples).toEqual([{ at: 2_000, current: 30 }]);
  });

  it('keeps a bounded number of readings', () => {
    const readings: [number, number][] = Array.from({ length: 500 }, (_, i) => [i * 10, i]);
    expect(feed(readings).length).toBeLessThanOrEqual(32);
  });

  it('formats coarsely', () => {
    expect(formatEta(2_000)).toBe('a few seconds left');
    expect(formatEta(42_000)).toBe('about 40 s left');
    expect(formatEta(150_000)).toBe('about 3 min left');
    expect(formatEta(2 * 3_600_000 + 10 * 60_000)).toBe('about 2 h 10 min left');
    expect(formatEta(3 * 3_600_000)).toBe('about 3 h left');
  });
});
