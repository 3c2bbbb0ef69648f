import { describe, expectTypeOf, it } from 'vitest';
import type { BulkRequest, BulkResponse, FindByStringId, Page, PageV2 } from './common';
import type {
  AppParameterValue,
  Job,
  JobsBrowseResponse,
  JobsCreateRequest,
  JobsCreateResponse,
  JobSpecification,
  JobState,
  PeerValue,
} from './jobs';
import type { Task, TasksListResponse } from './tasks';

// The generic envelope types are written by hand; these checks keep them equal to what the schemas infer.
// expectTypeOf does nothing at run time: these are checked by tsc, which `npm test` runs first (the typecheck leg;
// tsconfig.json includes contract/), and a wrong type fails the run there.
describe('hand-written generic envelope types match the schemas', () => {
  it('agree', () => {
    expectTypeOf<JobsCreateRequest>().toEqualTypeOf<BulkRequest<JobSpecification>>();
    expectTypeOf<JobsCreateResponse>().toEqualTypeOf<BulkResponse<FindByStringId>>();
    expectTypeOf<JobsBrowseResponse>().toEqualTypeOf<PageV2<Job>>();
    expectTypeOf<TasksListResponse>().toEqualTypeOf<Page<Task>>();
    expectTypeOf<Extract<AppParameterValue, { type: 'peer' }>>().toEqualTypeOf<PeerValue>();
    expectTypeOf<JobState>().toEqualTypeOf<
      'IN_QUEUE' | 'RUNNING' | 'SUCCESS' | 'FAILURE' | 'EXPIRED' | 'SUSPENDED'
    >();
  });
});
