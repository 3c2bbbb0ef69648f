import {
  infiniteQueryOptions,
  queryOptions,
  useMutation,
  useQueryClient,
  replaceEqualDeep,
  type InfiniteData,
} from '@tanstack/react-query';
import { http } from '@/api/http';
import { foldListRead, foldPageRead, mergeJob } from '@/api/job-cache';
import { getSocketStatus } from '@/api/socket';
import type {
  BulkRequest,
  BulkResponse,
  ConnectedJob,
  FindByStringId,
  Job,
  JobSpecification,
  JobsBrowseParams,
  JobsOpenInteractiveSessionRequest,
  JobsOpenInteractiveSessionResponse,
  PageV2,
} from '@/api/types';

export type JobListFilters = Pick<JobsBrowseParams, 'filterState' | 'filterApplication' | 'filterQuery' | 'sortBy' | 'sortDirection'>;

export const JOB_PAGE_SIZE = 250;
/** The picker needs every RUNNING job; 1000 is the server's page maximum. */
const RUNNING_PAGE_SIZE = 1000;

export const jobKeys = {
  all: ['jobs'] as const,
  lists: () => [...jobKeys.all, 'list'] as const,
  list: (filters: JobListFilters) => [...jobKeys.lists(), filters] as const,
  details: () => [...jobKeys.all, 'detail'] as const,
  detail: (id: string) => [...jobKeys.details(), id] as const,
  running: () => [...jobKeys.all, 'running'] as const,
  connectedAll: () => [...jobKeys.all, 'connected'] as const,
  connected: (id: string) => [...jobKeys.connectedAll(), id] as const,
};

/** While the socket is up it keeps the cache fresh; poll only while it is down. */
function pollWhileSocketDown(ms: number): () => number | false {
  return () => (getSocketStatus('/api/jobs') === 'open' ? false : ms);
}

export function browseJobs(params: JobsBrowseParams, signal?: AbortSignal): Promise<PageV2<Job>> {
  return http.get<PageV2<Job>>('/api/jobs/browse', {
    query: {
      itemsPerPage: params.itemsPerPage,
      next: params.next,
      includeUpdates: params.includeUpdates,
      includeParameters: params.includeParameters,
      filterState: params.filterState,
      filterApplication: params.filterApplication,
      filterQuery: params.filterQuery,
      sortBy: params.sortBy,
      sortDirection: params.sortDirection,
    },
    signal,
  });
}

export const jobsQueries = {
  list: (filters: JobListFilters) =>
    infiniteQueryOptions({
      queryKey: jobKeys.list(filters),
      queryFn: ({ pageParam, signal }) =>
        // With updates: a queued row shows the provider's latest reason (its last status line).
        browseJobs({ ...filters, itemsPerPage: JOB_PAGE_SIZE, next: pageParam, includeParameters: true, includeUpdates: true }, signal),
      initialPageParam: null as string | null,
      getNextPageParam: (last) => last.next,
      // Every write of the list (a read's answer, a socket event) is folded into what the cache holds at that moment,
      // so a read that was on its way while an event landed does not undo it.
      structuralSharing: (cached, fetched) =>
        replaceEqualDeep(cached, foldListRead(cached as JobListData | undefined, fetched as JobListData, filters)),
      refetchInterval: pollWhileSocketDown(15_000),
    }),
  detail: (id: string) =>
    queryOptions({
      queryKey: jobKeys.detail(id),
      // Folded into the cache rather than replacing it: a socket event may have landed while this was on its way.
      queryFn: async ({ signal, client, queryKey }) => {
        const fetched = await http.get<Job>('/api/jobs/retrieve', { query: { id, includeUpdates: true }, signal });
        // Read the cache after the answer, not before: what matters is what landed while it was on its way.
        return mergeJob(client.getQueryData<Job>(queryKey), fetched);
      },
      refetchInterval: pollWhileSocketDown(10_000),
    }),
  running: () =>
    queryOptions({
      queryKey: jobKeys.running(),
      queryFn: ({ signal }) =>
        browseJobs({ filterState: 'RUNNING', itemsPerPage: RUNNING_PAGE_SIZE, includeParameters: true }, signal),
      structuralSharing: (cached, fetched) =>
        replaceEqualDeep(cached, foldPageRead(cached as PageV2<Job> | undefined, fetched as PageV2<Job>, { filterState: 'RUNNING' })),
      refetchInterval: pollWhileSocketDown(15_000),
    }),
  connected: (id: string) =>
    queryOptions({
      queryKey: jobKeys.connected(id),
      queryFn: ({ signal }) => http.get<{ items: ConnectedJob[] }>('/api/jobs/browseConnected', { query: { id }, signal }),
      refetchInterval: pollWhileSocketDown(15_000),
    }),
};

export function createJob(spec: JobSpecification): Promise<BulkResponse<FindByStringId>> {
  const body: BulkRequest<JobSpecification> = { items: [spec] };
  return http.post<BulkResponse<FindByStringId>>('/api/jobs', body);
}

export function useCreateJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (spec: JobSpecification) => {
      const response = await createJob(spec);
      const id = response.responses[0]?.id;
      if (!id) throw new Error('The server accepted the job but did not return its id.');
      return id;
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: jobKeys.lists() }),
  });
}

export function useTerminateJob(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => http.post<unknown>('/api/jobs/terminate', { items: [{ id }] } satisfies BulkRequest<FindByStringId>),
    onSettled: () => queryClient.invalidateQueries({ queryKey: jobKeys.detail(id) }),
  });
}

/** Terminates several jobs in one request; their new states arrive over the socket like any other change. */
export function useTerminateJobs() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (ids: string[]) =>
      http.post<unknown>('/api/jobs/terminate', { items: ids.map((id) => ({ id })) } satisfies BulkRequest<FindByStringId>),
    onSettled: () => {
      if (getSocketStatus('/api/jobs') !== 'open') return queryClient.invalidateQueries({ queryKey: jobKeys.lists() });
      return undefined;
    },
  });
}

export function useExtendJob(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (hours: number) =>
      http.post<unknown>('/api/jobs/extend', {
        items: [{ jobId: id, requestedTime: { hours, minutes: 0, seconds: 0 } }],
      }),
    // No optimistic change: the provider applies the extension asynchronously and its update (the new allocation and
    // expiry) reaches us over jobs.follow; until then the page shows the extension as pending. Refetch only when the
    // socket is not there to deliver it.
    onSuccess: () => {
      if (getSocketStatus('/api/jobs') !== 'open') {
        return queryClient.invalidateQueries({ queryKey: jobKeys.detail(id) });
      }
      return undefined;
    },
  });
}

export type JobListData = InfiniteData<PageV2<Job>>;

/**
 * UCloud's jobs.openInteractiveSession: the URL that opens a running web job's interface on its own origin. It carries
 * a grant that works once, within a minute, so it is fetched on each click and never kept.
 */
export function openInterface(id: string): Promise<string> {
  const body: JobsOpenInteractiveSessionRequest = { items: [{ id, rank: 0, sessionType: 'WEB' }] };
  return http.post<JobsOpenInteractiveSessionResponse>('/api/jobs/interactiveSession', body).then((response) => {
    const url = response.responses[0]?.session.redirectClientTo;
    if (!url) throw new Error('The server did not say where the interface is.');
    return url;
  });
}

export function useOpenInterface(id: string) {
  return useMutation({ mutationFn: () => openInterface(id) });
}
