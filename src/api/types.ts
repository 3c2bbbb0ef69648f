/*
 * Wire types come from contract/ (`import type` only, so TypeBox never lands
 * in the bundle). The few shapes the contract does not name are defined here.
 */
export type {
  AppParameterValue,
  Application,
  ExpectedPeer,
  ApplicationParameter,
  ApplicationParameterType,
  ApplicationSummary,
  BulkRequest,
  BulkResponse,
  ClientFrame as SocketRequest,
  CommonErrorMessage,
  ConnectedJob,
  EnumOption,
  FindByStringId,
  Job,
  JobSpecification,
  JobState,
  JobStatus,
  JobUpdate,
  JobsBrowseQuery,
  JobsSortBy,
  JobsExtendRequestItem,
  JobsFollowMessage,
  JobsOpenInteractiveSessionRequest,
  JobsOpenInteractiveSessionResponse,
  JobsListenMessage,
  JobsLog,
  NameAndVersion,
  PageV2,
  PeerValue,
  Product,
  ProductReference,
  ServerFrame as SocketFrame,
  SimpleDuration,
} from '@contract/index';

import type { JobState, JobsSortBy } from '@contract/index';

export type { Role } from '@contract/constants';
import type { Role } from '@contract/constants';

/** Extension `GET /api/auth/whoami`. */
export interface WhoAmI {
  username: string;
  role: Role;
  /** When the dashboard's session ends (absent for an access token, which has no end). */
  sessionExpiresAt?: number;
}

/** `GET /api/jobs/browse` query, as the client builds it (null means "leave out"). */
export interface JobsBrowseParams {
  itemsPerPage?: number;
  next?: string | null;
  includeUpdates?: boolean;
  includeParameters?: boolean;
  filterState?: JobState | null;
  filterApplication?: string | null;
  /** Extension: name contains (case-insensitive), or the id is exactly this. */
  filterQuery?: string | null;
  /** Extension: see JobsSortBy in contract/jobs.ts. */
  sortBy?: JobsSortBy | null;
  sortDirection?: 'ascending' | 'descending' | null;
}
