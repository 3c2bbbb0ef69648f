import type { QueryClient } from '@tanstack/react-query';
import { applyFollowUpdate, mergeJob, upsertConnectedJob, upsertJobInPages, upsertRunningJob } from '@/api/job-cache';
import { jobKeys, jobsQueries } from '@/api/jobs';
import type { FollowEvent } from '@/api/live/messages';
import type { Job, JobsLog } from '@/api/types';

/*
 * Where a validated job event goes in the react-query cache. The merges themselves are the pure functions of
 * job-cache.ts; this only picks the cached views an event touches, through the query factories' typed keys.
 */

/** Folds one full job into every cached view of it: lists, its detail, the picker's running jobs, connected panels. */
export function jobChanged(queryClient: QueryClient, job: Job): void {
  const cache = queryClient.getQueryCache();
  for (const query of cache.findAll({ queryKey: jobKeys.lists() })) {
    const filters = query.meta?.listFilters;
    if (filters) queryClient.setQueryData(jobsQueries.list(filters).queryKey, (data) => upsertJobInPages(data, job, filters));
  }
  queryClient.setQueryData(jobsQueries.detail(job.id).queryKey, (prev) => (prev ? mergeJob(prev, job) : prev));
  queryClient.setQueryData(jobsQueries.running().queryKey, (data) => upsertRunningJob(data, job));
  for (const query of cache.findAll({ queryKey: jobKeys.connectedAll() })) {
    const targetId = query.meta?.connectedTo;
    if (targetId !== undefined) {
      queryClient.setQueryData(jobsQueries.connected(targetId).queryKey, (data) => upsertConnectedJob(data, job, targetId));
    }
  }
}

/** What a follow says of the job's output: start afresh (a follow began), or lines that came. */
export interface OutputSink {
  reset(): void;
  append(log: readonly JobsLog[]): void;
}

/**
 * One `jobs.follow` event for job `id`. Every follow (also the one after a reconnect) sends the output from its
 * start, so the initial job resets the output.
 */
export function followEvent(queryClient: QueryClient, id: string, event: FollowEvent, output?: OutputSink): void {
  const detailKey = jobsQueries.detail(id).queryKey;
  if (event.kind === 'initial') {
    output?.reset();
    queryClient.setQueryData(detailKey, (prev) => mergeJob(prev, event.job));
    jobChanged(queryClient, event.job);
    return;
  }
  if (event.log.length > 0) output?.append(event.log);
  if (event.updates.length === 0 && event.newStatus === null) return;
  const prev = queryClient.getQueryData(detailKey);
  if (!prev) {
    void queryClient.invalidateQueries({ queryKey: detailKey });
    return;
  }
  const next = applyFollowUpdate(prev, event.updates, event.newStatus);
  if (next !== prev) jobChanged(queryClient, next);
}
