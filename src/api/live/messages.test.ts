import { describe, expect, it } from 'vitest';
import { parseJobsFollow, parseJobsListen, parseTasksListen } from '@/api/live/messages';
import { initialJobs } from '@/mocks/fixtures';

const job = initialJobs(Date.now())[0]!;

describe('the live layer boundary', () => {
  it('takes a jobs.listen message with a whole job, and drops one without', () => {
    expect(parseJobsListen({ job })).toBe(job);
    expect(parseJobsListen({ job: { id: job.id } })).toBeNull();
    expect(parseJobsListen({ job: { ...job, status: { ...job.status, state: 'DONE' } } })).toBeNull();
    expect(parseJobsListen({ job: { ...job, updates: [{ state: 'RUNNING' }] } })).toBeNull();
    expect(parseJobsListen(null)).toBeNull();
  });

  it('tells the first jobs.follow message from a change, and drops a malformed change', () => {
    expect(parseJobsFollow({ initialJob: job })).toEqual({ kind: 'initial', job });
    expect(parseJobsFollow({ updates: [], log: [{ rank: 0, stdout: 'hi', stderr: null }], newStatus: null })).toEqual({
      kind: 'change',
      updates: [],
      newStatus: null,
      log: [{ rank: 0, stdout: 'hi', stderr: null }],
    });
    expect(parseJobsFollow({ updates: 'none', newStatus: null })).toBeNull();
    expect(parseJobsFollow({ initialJob: 5 })).toBeNull();
    expect(parseJobsFollow({ updates: [], newStatus: { state: 7 } })).toBeNull();
  });

  it('reads tasks.listen as one update or a batch, dropping the updates that are not', () => {
    const update = { jobId: 't1', newTitle: null, speeds: [], progress: null, complete: false, messageToAppend: 'a', newStatus: null, seq: 1 };
    expect(parseTasksListen(update)).toEqual([update]);
    expect(parseTasksListen({ updates: [update, { jobId: 5 }, { ...update, seq: 2 }] })).toEqual([update, { ...update, seq: 2 }]);
    expect(parseTasksListen({ nothing: true })).toBeNull();
  });
});
