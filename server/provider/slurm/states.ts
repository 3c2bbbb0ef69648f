import type { JobState } from '../../../contract/jobs';
import { formatDuration } from '../messages';
import type { SlurmJob } from './client';

/*
 * What each Slurm job state means for its Jobdeck job, as a table, and the status lines a person reads on the
 * job's timeline. Pure, so every row of the table has a test (states.test.ts).
 */

/** What the provider knows of its job that the cluster does not say: whether Jobdeck cancelled it, its allocation. */
export interface Known {
  cancelRequested: boolean;
  timeAllocationMs: number | null;
}

export interface Observed {
  state: JobState;
  /** A line for the job's timeline. */
  status: string;
}

/** Slurm's pending reasons (squeue's REASON) in words; the raw reason follows in parentheses. */
const REASONS: Record<string, string> = {
  Priority: 'jobs ahead of it in the queue go first',
  Resources: 'waiting for CPUs or memory to become free',
  BeginTime: 'its start time has not come yet',
  Dependency: 'waiting for the jobs it depends on',
  JobHeldUser: 'held by its account',
  JobHeldAdmin: 'held by an operator',
  PartitionDown: 'its partition is down',
  PartitionInactive: 'its partition is inactive',
  PartitionNodeLimit: 'it asks for more nodes than its partition allows',
  PartitionTimeLimit: 'its time allocation is longer than its partition allows',
  ReqNodeNotAvail: 'a node it needs is not available',
  NodeDown: 'a node it needs is down',
  QOSMaxJobsPerUserLimit: 'its account has as many jobs running as it may',
  AssocMaxJobsLimit: 'its account has as many jobs running as it may',
  launch_failed_requeued_held: 'its launch failed and it is held',
};

/** The pending reason as a status line: the queue hint users ask for. */
export function pendingStatus(partition: string, reason: string): string {
  const words = REASONS[reason];
  return `Waiting in Slurm's queue on partition '${partition}': ${words ? `${words} (${reason})` : reason}`;
}

/** A wait status as Slurm reports it (exit code in the high byte, signal in the low bits). */
export function exitOf(status: number | null): { code: number; signal: number } {
  const s = status ?? 0;
  return { code: (s >> 8) & 0xff, signal: s & 0x7f };
}

const signalName = (n: number) =>
  ({ 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' })[n] ?? `signal ${n}`;

/**
 * The Jobdeck state and status line for a Slurm job, or null while it waits (pending reasons are reported on their
 * own, pendingStatus) or is in a state that changes nothing.
 */
export function observe(job: SlurmJob, known: Known, lastError: () => string | null): Observed | null {
  const where = `Slurm job ${job.job_id}`;
  switch (job.job_state) {
    case 'PENDING':
    case 'REQUEUED':
    case 'REQUEUE_HOLD':
    case 'REQUEUE_FED':
    case 'CONFIGURING':
    case 'RESIZING':
      return null;
    case 'RUNNING':
    case 'COMPLETING':
    case 'SIGNALING':
    case 'STAGE_OUT':
      return { state: 'RUNNING', status: `Running as ${where} on partition '${job.partition}'${job.nodes ? `, node ${job.nodes}` : ''}` };
    case 'SUSPENDED':
    case 'STOPPED':
      return { state: 'SUSPENDED', status: `${where} was suspended by the cluster (${job.job_state})` };
    case 'COMPLETED':
      return { state: 'SUCCESS', status: 'The program finished (exit code 0)' };
    case 'FAILED': {
      const { code, signal } = exitOf(job.exit_code);
      const error = lastError();
      const detail = error ? `: ${error}` : '';
      if (code === 0 && signal !== 0) return { state: 'FAILURE', status: `The program was killed by ${signalName(signal)}${detail}` };
      return { state: 'FAILURE', status: `The program failed with exit code ${code}${detail}` };
    }
    case 'OUT_OF_MEMORY':
      return { state: 'FAILURE', status: `The job ran out of memory, and Slurm stopped it (OUT_OF_MEMORY)` };
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return { state: 'FAILURE', status: `The node the job ran on failed (${job.job_state})` };
    case 'TIMEOUT': {
      const limit = known.timeAllocationMs ?? (job.time_limit !== null ? job.time_limit * 60_000 : null);
      return {
        state: 'EXPIRED',
        status: limit !== null ? `Time allocation of ${formatDuration(limit)} used up; Slurm stopped the job (TIMEOUT)` : 'Slurm stopped the job at its time limit (TIMEOUT)',
      };
    }
    case 'CANCELLED':
      if (known.cancelRequested) return { state: 'SUCCESS', status: 'Terminated by user' };
      return {
        state: 'FAILURE',
        status: `Cancelled on the Slurm cluster, not from Jobdeck: by its account '${job.user_name}' or by an operator`,
      };
    case 'PREEMPTED':
      return { state: 'FAILURE', status: `${where} was preempted by a job of higher priority (PREEMPTED)` };
    case 'DEADLINE':
      return { state: 'FAILURE', status: `${where} missed its deadline (DEADLINE)` };
    default:
      return { state: 'FAILURE', status: `${where} ended in state ${job.job_state}` };
  }
}

/** Whether Slurm considers the job waiting, so its pending reason is worth showing. */
export const isPending = (job: SlurmJob) => job.job_state === 'PENDING' || job.job_state === 'REQUEUE_HOLD';
