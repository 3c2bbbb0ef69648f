import { useEffect } from 'react';
import { useQueryClient, type QueryClient, type QueryKey } from '@tanstack/react-query';
import {
  applyFollowUpdate,
  mergeJob,
  upsertConnectedJob,
  upsertJobInPages,
  upsertRunningJob,
} from '@/api/job-cache';
import { jobKeys, type JobListData, type JobListFilters } from '@/api/jobs';
import { socketClient } from '@/api/socket';
import type { ConnectedJob, Job, JobsFollowMessage, JobsListenMessage, JobsLog, PageV2 } from '@/api/types';

/** Folds one full job into every cached view of it. */
export function jobChanged(queryClient: QueryClient, job: Job): void {
  for (const query of queryClient.getQueryCache().findAll({ queryKey: jobKeys.lists() })) {
    const filters = (query.queryKey as QueryKey)[2] as JobListFilters;
    queryClient.setQueryData<JobListData>(query.queryKey, (data) => upsertJobInPages(data, job, filters));
  }
  queryClient.setQueryData<Job>(jobKeys.detail(job.id), (prev) => (prev ? mergeJob(prev, job) : prev));
  queryClient.setQueryData<PageV2<Job>>(jobKeys.running(), (data) => upsertRunningJob(data, job));
  for (const query of queryClient.getQueryCache().findAll({ queryKey: jobKeys.connectedAll() })) {
    const targetId = query.queryKey[2] as string;
    queryClient.setQueryData<{ items: ConnectedJob[] }>(query.queryKey, (data) => upsertConnectedJob(data, job, targetId));
  }
}

/**
 * App-wide `jobs.listen`: every state change of the user's jobs lands in the
 * cache, so lists, the picker and connected-job panels stay live without polling.
 * After a reconnect the jobs cache is refetched once, to catch what was missed.
 */
export function useJobsListen(enabled: boolean): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!enabled) return undefined;
    const unsubscribe = socketClient.subscribe('/api/jobs', 'jobs.listen', {}, {
      onMessage: (payload) => {
        const message = payload as JobsListenMessage;
        if (message?.job) jobChanged(queryClient, message.job);
      },
    });
    const offReconnect = socketClient.onReconnect((path) => {
      if (path === '/api/jobs') void queryClient.invalidateQueries({ queryKey: jobKeys.all });
    });
    return () => {
      unsubscribe();
      offReconnect();
    };
  }, [enabled, queryClient]);
}

/** What a follow says of the job's output: start afresh (a follow began), or lines that came. */
export interface OutputSink {
  reset(): void;
  append(log: readonly JobsLog[]): void;
}

/**
 * `jobs.follow` for the detail page: the initial job, then its updates as they land, and its output into `output`.
 * Every follow (also the one after a reconnect) sends the output from its start, so `initialJob` resets it.
 */
export function useFollowJob(id: string, output?: OutputSink): void {
  const queryClient = useQueryClient();
  useEffect(() => {
    return socketClient.subscribe('/api/jobs', 'jobs.follow', { id }, {
      onMessage: (payload) => {
        const message = payload as JobsFollowMessage;
        if ('initialJob' in message) {
          output?.reset();
          queryClient.setQueryData<Job>(jobKeys.detail(id), (prev) => mergeJob(prev, message.initialJob));
          jobChanged(queryClient, message.initialJob);
          return;
        }
        if (message.log && message.log.length > 0) output?.append(message.log);
        if (message.updates.length === 0 && message.newStatus === null) return;
        const prev = queryClient.getQueryData<Job>(jobKeys.detail(id));
        if (!prev) {
          void queryClient.invalidateQueries({ queryKey: jobKeys.detail(id) });
          return;
        }
        const next = applyFollowUpdate(prev, message.updates ?? [], message.newStatus ?? null);
        if (next !== prev) jobChanged(queryClient, next);
      },
    });
  }, [id, queryClient, output]);
}
