import { describe, expect, it } from 'vitest';
import type { Job } from '@/api/types';
import { makeJob, spec } from '@/mocks/fixtures';
import type { AppNotification } from '@/features/notifications/notification-model';
import { EXPIRY_WARNING_MS, ExpiryWarnings, type WarningClock } from '@/features/notifications/expiry-warnings';

const T0 = 1_700_000_000_000;
const MIN = 60_000;

/** A clock the test moves by hand: timers fire when `advance` passes their time, in order. */
class FakeClock implements WarningClock {
  time = T0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 1;
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimeout = (handle: unknown) => void this.timers.delete(handle as number);
  get pending() {
    return this.timers.size;
  }
  advance(ms: number) {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }
}

function job(id: string, expiresAt: number | null, state: Job['status']['state'] = 'RUNNING'): Job {
  const j = makeJob(id, spec({ application: { name: 'acme-web-app', version: '1.0.0' }, name: `web ${id}` }), state, T0, 60_000);
  return { ...j, status: { ...j.status, state, expiresAt } };
}

function setup() {
  const clock = new FakeClock();
  const seen: AppNotification[] = [];
  const warnings = new ExpiryWarnings((n) => seen.push(n), clock);
  return { clock, seen, warnings };
}

describe('about-to-expire warnings', () => {
  it('warns once, ten minutes before a running job expires, and not before', () => {
    const { clock, seen, warnings } = setup();
    warnings.jobChanged(job('1', T0 + 60 * MIN));
    clock.advance(50 * MIN - 1);
    expect(seen).toHaveLength(0);
    clock.advance(1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id: 'job:1:expiring', kind: 'job-expiring', title: 'web 1 expires in 10 min', target: { type: 'job', id: '1' } });
    // Still running, told again (jobs.listen sends every change), time passing: no second warning.
    warnings.jobChanged(job('1', T0 + 60 * MIN));
    clock.advance(9 * MIN);
    expect(seen).toHaveLength(1);
    expect(EXPIRY_WARNING_MS).toBe(10 * MIN);
  });

  it('warns at once for a job already inside the last ten minutes, and never for one past its expiry', () => {
    const { clock, seen, warnings } = setup();
    warnings.jobChanged(job('2', T0 + 4 * MIN));
    expect(seen.map((n) => n.title)).toEqual(['web 2 expires in 4 min']);
    warnings.jobChanged(job('3', T0 - 1));
    warnings.jobChanged(job('4', T0));
    clock.advance(60 * MIN);
    expect(seen).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it('forgets a job that stops running or has no expiry, and follows an extension', () => {
    const { clock, seen, warnings } = setup();
    warnings.jobChanged(job('5', T0 + 30 * MIN));
    warnings.jobChanged(job('6', T0 + 30 * MIN));
    warnings.jobChanged(job('7', null));
    warnings.jobChanged(job('5', T0 + 30 * MIN, 'SUCCESS'));
    // Job 6 is extended by an hour before its warning was due.
    clock.advance(10 * MIN);
    warnings.jobChanged(job('6', T0 + 90 * MIN));
    clock.advance(50 * MIN);
    expect(seen).toHaveLength(0);
    clock.advance(20 * MIN);
    expect(seen.map((n) => n.id)).toEqual(['job:6:expiring']);
    expect(clock.time).toBe(T0 + 80 * MIN);
  });

  it('stops its timer when stopped', () => {
    const { clock, seen, warnings } = setup();
    warnings.jobChanged(job('8', T0 + 30 * MIN));
    expect(clock.pending).toBe(1);
    warnings.stop();
    expect(clock.pending).toBe(0);
    clock.advance(60 * MIN);
    expect(seen).toHaveLength(0);
  });
});
