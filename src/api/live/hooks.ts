import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { OutputSink } from '@/api/live/job-cache-routing';
import { live } from '@/api/live/live';

/** Runs the tab's app-wide feeds while the signed-in shell is mounted. */
export function useLiveFeeds(): void {
  const queryClient = useQueryClient();
  useEffect(() => live.start(queryClient), [queryClient]);
}

/** `jobs.follow` for the job page: the initial job, then its updates as they land, and its output into `output`. */
export function useFollowJob(id: string, output?: OutputSink): void {
  const queryClient = useQueryClient();
  useEffect(() => live.follow(queryClient, id, output), [id, queryClient, output]);
}

