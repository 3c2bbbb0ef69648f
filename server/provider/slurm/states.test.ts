import { describe, expect, it } from 'vitest';
import type { SlurmJob } from './client';
import { exitOf, observe, pendingStatus } from './states';

/* The state table of states.ts, row by row: what a Slurm job's state becomes in Jobdeck, and the line a person reads. */

const job = (job_state: string, extra: Partial<SlurmJob> = {}): SlurmJob => ({
  job_id: 42,
  name: 'jobdeck-abcd-7',
  job_state,
  state_reason: 'None',
  partition: 'batch',
  nodes: 'vm',
  exit_code: 0,
  time_limit: 60,
  user_id: 65534,
  user_name: 'nobody',
  start_time: 0,
  end_time: 0,
  ...extra,
});
const known = { cancelRequested: false, timeAllocationMs: 3_600_000 };
const noError = () => null;

describe('observe', () => {
  it.each([
    ['PENDING', null],
    ['RUNNING', { state: 'RUNNING', status: "Running as Slurm job 42 on partition 'batch', node vm" }],
    ['COMPLETED', { state: 'SUCCESS', status: 'The program finished (exit code 0)' }],
    ['OUT_OF_MEMORY', { state: 'FAILURE', status: 'The job ran out of memory, and Slurm stopped it (OUT_OF_MEMORY)' }],
    ['NODE_FAIL', { state: 'FAILURE', status: 'The node the job ran on failed (NODE_FAIL)' }],
    ['TIMEOUT', { state: 'EXPIRED', status: 'Time allocation of 1 h used up; Slurm stopped the job (TIMEOUT)' }],
  ])('%s → %j', (state, expected) => {
    expect(observe(job(state), known, noError)).toEqual(expected);
  });

  it('FAILED names the exit code (Slurm gives a wait status) and the last line of stderr', () => {
    expect(observe(job('FAILED', { exit_code: 3 << 8 }), known, () => 'boom')).toEqual({
      state: 'FAILURE',
      status: 'The program failed with exit code 3: boom',
    });
    expect(observe(job('FAILED', { exit_code: 9 }), known, noError)).toEqual({ state: 'FAILURE', status: 'The program was killed by SIGKILL' });
  });

  it('CANCELLED is "Terminated by user" when Jobdeck cancelled it, otherwise FAILURE naming who could have', () => {
    expect(observe(job('CANCELLED'), { ...known, cancelRequested: true }, noError)).toEqual({ state: 'SUCCESS', status: 'Terminated by user' });
    expect(observe(job('CANCELLED'), known, noError)).toEqual({
      state: 'FAILURE',
      status: "Cancelled on the Slurm cluster, not from Jobdeck: by its account 'nobody' or by an operator",
    });
  });

  it('an unknown state ends the job, naming the state', () => {
    expect(observe(job('WEIRD'), known, noError)).toEqual({ state: 'FAILURE', status: 'Slurm job 42 ended in state WEIRD' });
  });
});

describe('pendingStatus', () => {
  it('explains the reasons people ask about, and keeps Slurm’s word', () => {
    expect(pendingStatus('batch', 'Resources')).toBe("Waiting in Slurm's queue on partition 'batch': waiting for CPUs or memory to become free (Resources)");
    expect(pendingStatus('batch', 'Priority')).toBe("Waiting in Slurm's queue on partition 'batch': jobs ahead of it in the queue go first (Priority)");
    expect(pendingStatus('gpu', 'SomethingNew')).toBe("Waiting in Slurm's queue on partition 'gpu': SomethingNew");
  });
});

describe('exitOf', () => {
  it('splits a wait status', () => {
    expect(exitOf(768)).toEqual({ code: 3, signal: 0 });
    expect(exitOf(15)).toEqual({ code: 0, signal: 15 });
    expect(exitOf(null)).toEqual({ code: 0, signal: 0 });
  });
});
