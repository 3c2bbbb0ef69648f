import { useEffect } from 'react';
import { browseJobs } from '@/api/jobs';
import { socketClient } from '@/api/socket';
import type { JobState, JobsListenMessage } from '@/api/types';
import { ExpiryWarnings } from '@/features/notifications/expiry-warnings';
import { jobNotification } from '@/features/notifications/notification-model';
import { notificationReceived } from '@/features/notifications/notification-store';

/**
 * Job started / finished / failed / expired, from `jobs.listen`, and "about to expire" ten minutes before a running
 * job's `expiresAt` (ExpiryWarnings, told of the running jobs at start and of every change). Its own stream on the
 * app's one socket (the jobs pages keep theirs); the socket class resubscribes it after a reconnect.
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
    const unsubscribe = socketClient.subscribe('/api/jobs', 'jobs.listen', {}, {
      onMessage: (payload) => {
        const job = (payload as JobsListenMessage | null)?.job;
        if (!job?.id || !job.status) return;
        const n = jobNotification(job, lastState.get(job.id), Date.now());
        lastState.set(job.id, job.status.state);
        expiry.jobChanged(job);
        if (n) notificationReceived(n);
      },
    });
    return () => {
      controller.abort();
      unsubscribe();
      expiry.stop();
    };
  }, [enabled]);
}
