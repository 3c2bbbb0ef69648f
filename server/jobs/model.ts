import type { Job, JobSpecification, JobState, JobStatus, JobUpdate } from '../../contract/jobs';

export const ACTIVE_STATES: readonly JobState[] = ['IN_QUEUE', 'RUNNING', 'SUSPENDED'];
export const FINAL_STATES: readonly JobState[] = ['SUCCESS', 'FAILURE', 'EXPIRED'];
/** A job id as the wire carries it: the decimal of a bigint. */
export const ID_PATTERN = /^[0-9]{1,18}$/;
export const isFinal = (state: string) => (FINAL_STATES as readonly string[]).includes(state);

export interface JobRow {
  id: number;
  owner: string;
  provider: string;
  app_name: string;
  app_version: string;
  name: string | null;
  specification: JobSpecification;
  duplicate_key: string;
  state: JobState;
  status_text: string | null;
  time_allocation_ms: number | null;
  started_at: number | null;
  expires_at: number | null;
  output_folder: string | null;
  provider_generated_id: string | null;
  created_at: number;
  modified_at: number;
  /** `status.version` (migration 014): grows in the statement of every change a client can see. */
  version: number;
}

export interface JobUpdateRow {
  job_id: number;
  seq: number;
  state: JobState | null;
  status: string | null;
  output_folder: string | null;
  expected_state: JobState | null;
  expected_different_state: boolean | null;
  new_time_allocation: number | null;
  timestamp: number;
}

export const toJobUpdate = (row: JobUpdateRow): JobUpdate => ({
  state: row.state,
  status: row.status,
  outputFolder: row.output_folder,
  expectedState: row.expected_state,
  expectedDifferentState: row.expected_different_state,
  newTimeAllocation: row.new_time_allocation,
  timestamp: row.timestamp,
});

export const toJobStatus = (row: JobRow): JobStatus => ({
  state: row.state,
  jobParametersJson: null,
  startedAt: row.started_at,
  expiresAt: row.expires_at,
  resolvedApplication: null,
  resolvedSupport: null,
  resolvedProduct: null,
  version: row.version,
});

export function toJob(row: JobRow, updates: JobUpdateRow[] = [], includeParameters = true): Job {
  const specification = includeParameters ? row.specification : { ...row.specification, parameters: null, resources: null };
  return {
    id: String(row.id),
    owner: { createdBy: row.owner, project: null },
    updates: updates.map(toJobUpdate),
    specification,
    status: toJobStatus(row),
    createdAt: row.created_at,
    output: row.output_folder === null ? null : { outputFolder: row.output_folder },
    permissions: null,
    providerGeneratedId: row.provider_generated_id,
  };
}

