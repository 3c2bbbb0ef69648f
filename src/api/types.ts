/*
 * Wire types, written from shared/design/contract.md while contract/ is being
 * written. When contract/{common,jobs,catalog,errors,socket}.ts land, this file
 * becomes `export type { ... } from '@contract/...'` so no wire type is written twice.
 */

export interface PageV2<T> {
  items: T[];
  itemsPerPage: number;
  next: string | null;
}
export interface BulkRequest<T> {
  items: T[];
}
export interface BulkResponse<T> {
  responses: T[];
}
export interface FindByStringId {
  id: string;
}
export interface CommonErrorMessage {
  why: string;
  errorCode: string | null;
}

export type Role = 'USER' | 'SERVICE' | 'PROVIDER' | 'ADMIN';
export interface WhoAmI {
  username: string;
  role: Role;
}

export interface SimpleDuration {
  hours: number;
  minutes: number;
  seconds: number;
}
export interface NameAndVersion {
  name: string;
  version: string;
}
export interface ProductReference {
  id: string;
  category: string;
  provider: string;
}

export type ApplicationParameterType =
  | 'text'
  | 'textarea'
  | 'enumeration'
  | 'integer'
  | 'floating_point'
  | 'boolean'
  | 'input_file'
  | 'input_directory'
  | 'peer';

export interface EnumOption {
  name: string;
  value: string;
}

export type AppParameterValue =
  | { type: 'text'; value: string }
  | { type: 'integer'; value: number }
  | { type: 'floating_point'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'file'; path: string; readOnly: boolean }
  | { type: 'peer'; hostname: string; jobId: string };

export type PeerValue = Extract<AppParameterValue, { type: 'peer' }>;

export interface ApplicationParameter {
  name: string;
  type: ApplicationParameterType;
  title: string;
  description: string;
  optional: boolean;
  defaultValue: AppParameterValue | null;
  min: number | null;
  max: number | null;
  options: EnumOption[] | null;
}

export interface ApplicationSummary {
  name: string;
  version: string;
  title: string;
  description: string;
}
export interface Application extends ApplicationSummary {
  parameters: ApplicationParameter[];
  allowPeers: boolean;
  defaultTimeAllocation: SimpleDuration | null;
}

export interface Product {
  id: string;
  category: string;
  provider: string;
  description: string;
  cpu: number;
  memoryInGigs: number;
  gpu: number;
  supportsPeers: boolean;
}

export type JobState = 'IN_QUEUE' | 'RUNNING' | 'SUCCESS' | 'FAILURE' | 'EXPIRED' | 'SUSPENDED';

export interface JobSpecification {
  application: NameAndVersion;
  product: ProductReference;
  name: string | null;
  replicas: number;
  allowDuplicateJob: boolean;
  parameters: Record<string, AppParameterValue> | null;
  resources: AppParameterValue[] | null;
  timeAllocation: SimpleDuration | null;
  openedFile: string | null;
  restartOnExit: boolean | null;
  sshEnabled: boolean | null;
}

export interface JobStatus {
  state: JobState;
  jobParametersJson: unknown;
  startedAt: number | null;
  expiresAt: number | null;
  resolvedApplication: unknown;
  resolvedSupport: unknown;
  resolvedProduct: unknown;
}

export interface JobUpdate {
  state: JobState | null;
  status: string | null;
  outputFolder: string | null;
  expectedState: JobState | null;
  expectedDifferentState: boolean | null;
  newTimeAllocation: number | null;
  timestamp: number;
}

export interface Job {
  id: string;
  owner: { createdBy: string; project: string | null };
  updates: JobUpdate[];
  specification: JobSpecification;
  status: JobStatus;
  createdAt: number;
  output: { outputFolder: string | null } | null;
  permissions: unknown;
  providerGeneratedId?: string | null;
}

export interface ConnectedJob {
  hostname: string;
  job: Job;
}

export interface JobsBrowseParams {
  itemsPerPage?: number;
  next?: string | null;
  includeUpdates?: boolean;
  includeParameters?: boolean;
  filterState?: JobState | null;
  filterApplication?: string | null;
  sortDirection?: 'ascending' | 'descending' | null;
}

/* WebSocket envelope (contract §7). */
export interface SocketRequest {
  call: string;
  streamId: string;
  payload: unknown;
  bearer: string;
}
export type SocketFrame =
  | { type: 'message'; streamId: string; payload: unknown }
  | { type: 'response'; streamId: string; status: number; payload: unknown };

export type JobsFollowMessage =
  | { initialJob: Job }
  | { updates: JobUpdate[]; newStatus: JobStatus | null };
export interface JobsListenMessage {
  job: Job;
}
