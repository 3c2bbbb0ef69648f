import { useEffect } from 'react';
import { browseJobs } from '@/api/jobs';
import { live } from '@/api/live/live';
import type { JobState } from '@/api/types';
import { ExpiryWarnings } from '@/features/notifications/expiry-warnings';
import { jobNotification } from '@/features/notifications/notification-model';
import { notificationReceived } from '@/features/notifications/notification-store';

/**
 * Job started / finished / failed / expired, from `jobs.listen`, and "about to expire" ten minutes before a running
 * job's `expiresAt` (ExpiryWarnings, told of the running jobs at start and of every change). Both are fed from the
 * live layer's one `jobs.listen`, the same events that update the cache: this opens no stream of its own.
 */
export function useJobNotifications(enabled: boolean): void {
  useEffect(() => {
    if (!enabled) return undefined;
    const lastState = new Map<string, JobState>();
    const expiry = new ExpiryWarnings(notificationReceived);
    const controller = new AbortController();
    // The jobs already running when the tab opens (one page: the newest 100 are the ones about to matter).
    browseJobs({ filterState: 'RUNNING', itemsPerPage: 100 }, controller.signal).then(
      (page) => page.items.forEach((job) => expiry.jobChanged(job)),
      () => {}, // no warnings for those, then; jobs.listen still brings the ones that change
    );
    const unsubscribe = live.onJobEvent((job) => {
      const n = jobNotification(job, lastState.get(job.id), Date.now());
      lastState.set(job.id, job.status.state);
      expiry.jobChanged(job);
      if (n) notificationReceived(n);
    });
    return () => {
      controller.abort();
      unsubscribe();
      expiry.stop();
    };
  }, [enabled]);
}
