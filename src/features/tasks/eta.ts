/*
 * ETA from the rate at which a task's progress moves. Pure functions: the
 * caller passes the clock, so the estimate is testable and the store stays a
 * deterministic fold over what arrived.
 */

export interface ProgressSample {
  /** Client clock (ms) when this value of `current` was first seen. */
  at: number;
  current: number;
}

/** The rate is measured over roughly this much recent history, so it follows speed changes. */
export const ETA_WINDOW_MS = 30_000;
const MAX_SAMPLES = 32;

/**
 * Adds a progress reading. A reading that goes backwards or comes with a new
 * maximum starts a new run (the work restarted or was re-scoped), so old
 * samples cannot skew the rate. An unchanged value adds nothing: the first
 * time a value was seen is what measures the rate.
 */
export function recordProgress(
  samples: readonly ProgressSample[],
  current: number,
  maximumChanged: boolean,
  now: number,
): readonly ProgressSample[] {
  const last = samples[samples.length - 1];
  if (!last || maximumChanged || current < last.current) return [{ at: now, current }];
  if (current === last.current) return samples;
  const next = [...samples, { at: now, current }];
  // Keep the newest sample that is older than the window too, so the window is always spanned.
  let start = 0;
  while (start < next.length - 2 && next[start + 1]!.at <= now - ETA_WINDOW_MS) start += 1;
  start = Math.max(start, next.length - MAX_SAMPLES);
  return start > 0 ? next.slice(start) : next;
}

/** Milliseconds left at the measured rate, or null when there is no rate yet. */
export function estimateRemainingMs(samples: readonly ProgressSample[], maximum: number): number | null {
  if (samples.length < 2) return null;
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const elapsed = last.at - first.at;
  const done = last.current - first.current;
  if (elapsed <= 0 || done <= 0) return null;
  const remaining = maximum - last.current;
  if (remaining <= 0) return 0;
  return remaining / (done / elapsed);
}

/** "about 2 min left"; coarse on purpose, since the estimate itself is. */
export function formatEta(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 5) return 'a few seconds left';
  if (s < 60) return `about ${Math.max(5, Math.round(s / 5) * 5)} s left`;
  const min = Math.round(s / 60);
  if (min < 60) return `about ${min} min left`;
  const h = Math.floor(min / 60);
  const rest = min % 60;
  return rest === 0 ? `about ${h} h left` : `about ${h} h ${rest} min left`;
}
