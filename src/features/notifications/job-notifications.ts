import { useEffect } from 'react';
import { socketClient } from '@/api/socket';
import type { JobState, JobsListenMessage } from '@/api/types';
import { jobNotification } from '@/features/notifications/notification-model';
import { notificationReceived } from '@/features/notifications/notification-store';

/**
 * Job started / finished / failed / expired, from `jobs.listen`. Its own
 * stream on the app's one socket (the jobs pages keep theirs); the socket
 * class resubscribes it after a reconnect.
 */
export function useJobNotifications(enabled: boolean): void {
  useEffect(() => {
    if (!enabled) return undefined;
    const lastState = new Map<string, JobState>();
    return socketClient.subscribe('/api/jobs', 'jobs.listen', {}, {
      onMessage: (payload) => {
        const job = (payload as JobsListenMessage | null)?.job;
        if (!job?.id || !job.status) return;
        const n = jobNotification(job, lastState.get(job.id), Date.now());
        lastState.set(job.id, job.status.state);
        if (n) notificationReceived(n);
      },
    });
  }, [enabled]);
}
