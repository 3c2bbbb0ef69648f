import { Type, type Static } from 'typebox';
import { AppParameterValue } from './app-parameter-value';
import { ResolvedApplication, ResolvedProduct, ResolvedSupport } from './resolved';
import {
  BulkRequest,
  BulkResponse,
  FindByStringId,
  ItemsPerPage,
  Maybe,
  Nullable,
  PageV2,
  SimpleDuration,
  StrictObject,
  Described,
  Timestamp,
} from './common';

export * from './app-parameter-value';

export const JOB_STATES = ['IN_QUEUE', 'RUNNING', 'SUCCESS', 'FAILURE', 'EXPIRED', 'SUSPENDED'] as const;
export const JobState = Type.Enum(JOB_STATES);
export type JobState = Static<typeof JobState>;

export const FINAL_JOB_STATES: readonly JobState[] = ['SUCCESS', 'FAILURE', 'EXPIRED'];
/** The states the verify loop sends to providers (contract §5). */
export const ACTIVE_JOB_STATES: readonly JobState[] = ['IN_QUEUE', 'RUNNING', 'SUSPENDED'];

export function isFinalState(state: JobState): boolean {
  return FINAL_JOB_STATES.includes(state);
}

export const NameAndVersion = StrictObject({
  name: Type.String({ minLength: 1 }),
  version: Type.String({ minLength: 1 }),
});
export type NameAndVersion = Static<typeof NameAndVersion>;

export const ProductReference = StrictObject({
  id: Type.String({ minLength: 1 }),
  category: Type.String({ minLength: 1 }),
  provider: Type.String({ minLength: 1 }),
});
export type ProductReference = Static<typeof ProductReference>;

/**
 * The application a spec names. UCloud's web client sends the application's whole metadata here (`application:
 * app.metadata`): those fields are accepted and dropped on create, so a stored job names only `{name, version}`.
 */
export const SpecApplication = StrictObject({
  name: Type.String({ minLength: 1 }),
  version: Type.String({ minLength: 1 }),
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  authors: Type.Optional(Type.Array(Type.String())),
  website: Maybe(Type.String()),
  public: Type.Optional(Type.Boolean()),
  flavorName: Maybe(Type.String()),
  groupId: Maybe(Type.Integer()),
  createdAt: Maybe(Type.Integer()),
});
export type SpecApplication = Static<typeof SpecApplication>;

/** UCloud's `hostname`: the DNS name a job asks to be reachable under (its web client derives one from the job name). */
export const JobHostname = Described(
  Type.String({ maxLength: 253, pattern: '^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$' }),
  'a DNS name (labels of letters, digits and inner hyphens, 63 characters at most, dot-separated)',
);

export const JobSpecification = StrictObject({
  application: SpecApplication,
  product: ProductReference,
  name: Maybe(Type.String()),
  replicas: Type.Integer({ minimum: 1 }),
  allowDuplicateJob: Type.Boolean(),
  // Without additionalProperties, a name outside the record's `^.*$` (one with a newline) would skip validation.
  parameters: Maybe(Type.Record(Type.String(), AppParameterValue, { additionalProperties: false })),
  resources: Maybe(Type.Array(AppParameterValue)),
  timeAllocation: Maybe(SimpleDuration),
  openedFile: Maybe(Type.String()),
  restartOnExit: Maybe(Type.Boolean()),
  sshEnabled: Maybe(Type.Boolean()),
  /** UCloud's; stored and echoed, not acted on: peers reach a job under the hostname the linking job gives it. */
  hostname: Maybe(JobHostname),
  /** UCloud's resource labels; stored and echoed. */
  labels: Maybe(Type.Record(Type.String({ minLength: 1, maxLength: 253 }), Type.String({ maxLength: 1024 }), { additionalProperties: false, maxProperties: 64 })),
});
export type JobSpecification = Static<typeof JobSpecification>;

export const JobUpdate = StrictObject({
  state: Maybe(JobState),
  status: Maybe(Type.String()),
  outputFolder: Maybe(Type.String()),
  expectedState: Maybe(JobState),
  expectedDifferentState: Maybe(Type.Boolean()),
  /** Milliseconds. */
  newTimeAllocation: Maybe(Type.Integer({ minimum: 0 })),
  timestamp: Timestamp,
});
export type JobUpdate = Static<typeof JobUpdate>;

// UCloud fills these for providers; Jobdeck never relies on their inner shape, so they stay open.
const OpaqueJson = Type.Record(Type.String(), Type.Unknown());

export const JobStatus = StrictObject({
  state: JobState,
  startedAt: Maybe(Timestamp),
  expiresAt: Maybe(Timestamp),
  jobParametersJson: Maybe(OpaqueJson),
  /** Filled on request (`includeApplication` etc.), in UCloud's shapes (contract/resolved.ts); otherwise null. */
  resolvedApplication: Maybe(ResolvedApplication),
  resolvedSupport: Maybe(ResolvedSupport),
  resolvedProduct: Maybe(ResolvedProduct),
  /**
   * Extension: the job's version. It grows with every change a client can see (state, an update appended, time
   * allocation and expiry, output folder, the provider's id) and is the same in REST reads and socket events, so of
   * two copies of a job the one with the higher version is the newer. A new job has 1; each applied update adds one.
   * In `status` so that `jobs.follow`'s `newStatus` carries it too. Absent from jobs a core without it sends.
   */
  version: Maybe(Type.Integer({ minimum: 0 })),
});
export type JobStatus = Static<typeof JobStatus>;

export const ResourceOwner = StrictObject({
  createdBy: Type.String({ minLength: 1 }),
  project: Maybe(Type.String()),
});
export type ResourceOwner = Static<typeof ResourceOwner>;

export const Permission = Type.Enum(['READ', 'EDIT', 'ADMIN', 'PROVIDER']);
export type Permission = Static<typeof Permission>;

export const ResourcePermissions = StrictObject({
  myself: Type.Array(Permission),
  others: Maybe(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
});
export type ResourcePermissions = Static<typeof ResourcePermissions>;

export const JobOutput = StrictObject({ outputFolder: Maybe(Type.String()) });
export type JobOutput = Static<typeof JobOutput>;

export const Job = StrictObject({
  id: Type.String({ minLength: 1 }),
  owner: ResourceOwner,
  updates: Type.Array(JobUpdate),
  specification: JobSpecification,
  status: JobStatus,
  createdAt: Timestamp,
  output: Maybe(JobOutput),
  permissions: Maybe(ResourcePermissions),
  providerGeneratedId: Maybe(Type.String()),
});
export type Job = Static<typeof Job>;

/** Extension: a job that connects to the one being viewed, and the hostname it uses for it. */
export const ConnectedJob = StrictObject({ hostname: Type.String(), job: Job });
export type ConnectedJob = Static<typeof ConnectedJob>;

// User API (contract §3).

export const JobsCreateRequest = BulkRequest(JobSpecification);
export type JobsCreateRequest = Static<typeof JobsCreateRequest>;
export const JobsCreateResponse = BulkResponse(FindByStringId);
export type JobsCreateResponse = Static<typeof JobsCreateResponse>;

export const SortDirection = Type.Enum(['ascending', 'descending']);
export type SortDirection = Static<typeof SortDirection>;

/**
 * Extension: what `jobs.browse` sorts by (UCloud's browse requests carry a free-form `sortBy`; Jobdeck names its
 * values). Every order ends with the job id, so it is total and keyset pages are exact:
 * - `createdAt` (default): creation order (the id sequence), as before the extension;
 * - `name`: `specification.name`, case-insensitive and natural (digit runs by value: `batch-12` before `batch-102`), jobs
 *   without one (null or empty) last in both directions;
 * - `application`: application name, then version (as text), then creation;
 * - `state`: the current state in lifecycle order IN_QUEUE, RUNNING, SUSPENDED, SUCCESS, FAILURE, EXPIRED;
 * - `lastUpdate`: when the job's last update was applied;
 * - `expiresAt`: `status.expiresAt`, jobs without one (not started) last in both directions;
 * - `timeLeft` (UCloud's): the same order as `expiresAt`, since time left only counts down to it;
 * - `createdBy` (UCloud's): the owner, then creation. Jobdeck lists only the caller's own jobs, so this is creation order.
 * A `next` token is only valid with the `sortBy` and `sortDirection` of the page that issued it.
 */
export const JOB_SORT_KEYS = ['createdAt', 'name', 'application', 'state', 'lastUpdate', 'expiresAt', 'timeLeft', 'createdBy'] as const;
export const JobsSortBy = Type.Enum(JOB_SORT_KEYS);
export type JobsSortBy = Static<typeof JobsSortBy>;

/**
 * UCloud's include flags. `includeApplication`, `includeProduct` and `includeSupport` fill `status.resolvedApplication`,
 * `resolvedProduct` and `resolvedSupport` in UCloud's shapes (server/jobs/resolved.ts); `includeOthers` (other
 * users' permissions) is accepted and has nothing to add, since a Jobdeck job is its owner's alone.
 */
const IncludeFlags = {
  includeApplication: Type.Optional(Type.Boolean()),
  includeProduct: Type.Optional(Type.Boolean()),
  includeSupport: Type.Optional(Type.Boolean()),
  includeOthers: Type.Optional(Type.Boolean()),
};
export type IncludeFlags = { includeApplication?: boolean; includeProduct?: boolean; includeSupport?: boolean };

/** UCloud's job type filter: Jobdeck runs no virtual machines, so `VMS_ONLY` lists nothing. */
export const JobTypeFilter = Type.Enum(['JOBS_ONLY', 'VMS_ONLY']);

export const JobsBrowseQuery = StrictObject({
  itemsPerPage: Type.Optional(ItemsPerPage),
  next: Type.Optional(Type.String()),
  includeUpdates: Type.Optional(Type.Boolean()),
  includeParameters: Type.Optional(Type.Boolean()),
  ...IncludeFlags,
  filterState: Type.Optional(JobState),
  filterApplication: Type.Optional(Type.String()),
  /** UCloud's resource filters. Jobs are listed for their owner only, so another `filterCreatedBy` lists nothing. */
  filterCreatedBy: Type.Optional(Type.String()),
  /** Milliseconds since the epoch, inclusive. */
  filterCreatedAfter: Type.Optional(Type.Integer()),
  filterCreatedBefore: Type.Optional(Type.Integer()),
  filterProvider: Type.Optional(Type.String()),
  filterType: Type.Optional(JobTypeFilter),
  /** Extension: jobs whose name contains this text (case-insensitive), or whose id it is. */
  filterQuery: Type.Optional(Type.String({ maxLength: 200 })),
  /** Extension, see JobsSortBy. */
  sortBy: Type.Optional(JobsSortBy),
  sortDirection: Type.Optional(SortDirection),
});
export type JobsBrowseQuery = Static<typeof JobsBrowseQuery>;
export const JobsBrowseResponse = PageV2(Job);
export type JobsBrowseResponse = Static<typeof JobsBrowseResponse>;

export const JobsRetrieveQuery = StrictObject({
  id: Type.String({ minLength: 1 }),
  includeUpdates: Type.Optional(Type.Boolean()),
  ...IncludeFlags,
});
export type JobsRetrieveQuery = Static<typeof JobsRetrieveQuery>;

export const JobsTerminateRequest = BulkRequest(FindByStringId);
export type JobsTerminateRequest = Static<typeof JobsTerminateRequest>;

export const JobsExtendRequestItem = StrictObject({
  jobId: Type.String({ minLength: 1 }),
  requestedTime: SimpleDuration,
});
export type JobsExtendRequestItem = Static<typeof JobsExtendRequestItem>;
export const JobsExtendRequest = BulkRequest(JobsExtendRequestItem);
export type JobsExtendRequest = Static<typeof JobsExtendRequest>;

/*
 * UCloud's `jobs.openInteractiveSession` (`POST /api/jobs/interactiveSession`), for sessions of type `WEB`: the
 * answer's `redirectClientTo` opens the job's web interface on an origin of its own. In Jobdeck the core serves it
 * (server/interfaces/), so `providerDomain` is the interface's origin and the URL carries a grant: single use, valid
 * for a minute, for this job only. Extension: `expiresAt`, when that grant runs out.
 */
export const INTERACTIVE_SESSION_TYPES = ['WEB', 'VNC', 'SHELL'] as const;
export const InteractiveSessionType = Type.Enum(INTERACTIVE_SESSION_TYPES);
export type InteractiveSessionType = Static<typeof InteractiveSessionType>;

export const JobsOpenInteractiveSessionRequestItem = StrictObject({
  id: Type.String({ minLength: 1 }),
  rank: Type.Integer({ minimum: 0 }),
  sessionType: InteractiveSessionType,
});
export type JobsOpenInteractiveSessionRequestItem = Static<typeof JobsOpenInteractiveSessionRequestItem>;
export const JobsOpenInteractiveSessionRequest = BulkRequest(JobsOpenInteractiveSessionRequestItem);
export type JobsOpenInteractiveSessionRequest = Static<typeof JobsOpenInteractiveSessionRequest>;

export const OpenWebSession = StrictObject({
  type: Type.Literal('web'),
  jobId: Type.String({ minLength: 1 }),
  rank: Type.Integer({ minimum: 0 }),
  redirectClientTo: Type.String({ minLength: 1 }),
  /** Extension: when the grant in `redirectClientTo` stops working (epoch ms). */
  expiresAt: Timestamp,
});
export type OpenWebSession = Static<typeof OpenWebSession>;

export const OpenSessionWithProvider = StrictObject({
  providerDomain: Type.String({ minLength: 1 }),
  providerId: Type.String({ minLength: 1 }),
  session: OpenWebSession,
});
export type OpenSessionWithProvider = Static<typeof OpenSessionWithProvider>;
export const JobsOpenInteractiveSessionResponse = BulkResponse(OpenSessionWithProvider);
export type JobsOpenInteractiveSessionResponse = Static<typeof JobsOpenInteractiveSessionResponse>;

/**
 * Extension (server/provider/README.md): where a provider's job serves its web interface, for the core's proxy only
 * (`GET /ucloud/<provider>/jobs/interface?id=`, SERVICE). Never sent to a browser.
 */
export const ProviderInterfaceTarget = StrictObject({
  jobId: Type.String({ minLength: 1 }),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
});
export type ProviderInterfaceTarget = Static<typeof ProviderInterfaceTarget>;

// Control API, provider → core (contract §4).

/**
 * A JobUpdate as providers send it. UCloud's Go provider writes every field, absent ones as null, plus `allowRestart`
 * (deprecated there) and `resourceList`, both accepted and ignored; its `timestamp` may be Go's zero time
 * (-62135596800000). The core stamps every update with its own clock, so any integer is accepted here.
 */
export const ControlJobUpdate = StrictObject({
  ...JobUpdate.properties,
  allowRestart: Maybe(Type.Boolean()),
  resourceList: Maybe(Type.Array(AppParameterValue)),
  timestamp: Type.Integer(),
});
export type ControlJobUpdate = Static<typeof ControlJobUpdate>;

export const ControlUpdateItem = StrictObject({
  id: Type.String({ minLength: 1 }),
  update: ControlJobUpdate,
});
export type ControlUpdateItem = Static<typeof ControlUpdateItem>;
export const JobsControlUpdateRequest = BulkRequest(ControlUpdateItem);
export type JobsControlUpdateRequest = Static<typeof JobsControlUpdateRequest>;

export const JobsControlBrowseQuery = StrictObject({
  itemsPerPage: Type.Optional(ItemsPerPage),
  next: Type.Optional(Type.String()),
  includeUpdates: Type.Optional(Type.Boolean()),
  ...IncludeFlags,
  filterState: Type.Optional(JobState),
});
export type JobsControlBrowseQuery = Static<typeof JobsControlBrowseQuery>;
/** UCloud's `jobs.control.retrieve`: one of the calling provider's jobs, or 404. */
export const JobsControlRetrieveQuery = JobsRetrieveQuery;
export type JobsControlRetrieveQuery = Static<typeof JobsControlRetrieveQuery>;
export const JobsControlBrowseResponse = PageV2(Job);
export type JobsControlBrowseResponse = Static<typeof JobsControlBrowseResponse>;

// Provider API, core → provider (contract §5).

export const ProviderJobsCreateRequest = BulkRequest(Job);
export type ProviderJobsCreateRequest = Static<typeof ProviderJobsCreateRequest>;
export const ProviderJobsCreateResponse = BulkResponse(Nullable(FindByStringId));
export type ProviderJobsCreateResponse = Static<typeof ProviderJobsCreateResponse>;

export const ProviderJobsTerminateRequest = BulkRequest(Job);
export type ProviderJobsTerminateRequest = Static<typeof ProviderJobsTerminateRequest>;

export const ProviderJobsExtendRequestItem = StrictObject({ job: Job, requestedTime: SimpleDuration });
export type ProviderJobsExtendRequestItem = Static<typeof ProviderJobsExtendRequestItem>;
export const ProviderJobsExtendRequest = BulkRequest(ProviderJobsExtendRequestItem);
export type ProviderJobsExtendRequest = Static<typeof ProviderJobsExtendRequest>;

/**
 * Extension (server/provider/README.md): each delivery of queued provider calls (create, terminate, extend) names
 * them, one id per item of the bulk request, in item order, comma-separated: `Jobdeck-Call-Id: 17,18,21`. An id is
 * the same on every retry and after a leader hand-over, so a provider can apply each call at most once. The JSON
 * body is exactly the contract's; a provider that does not know the header ignores it. (Header names arrive
 * lower-cased.)
 */
export const CALL_ID_HEADER = 'jobdeck-call-id';
/** The longest call id a provider must accept. */
export const MAX_CALL_ID_LENGTH = 100;

export const ProviderJobsVerifyRequest = BulkRequest(Job);
export type ProviderJobsVerifyRequest = Static<typeof ProviderJobsVerifyRequest>;

/** Extension: `GET /api/jobs/output?id&stream` downloads one of a job's output streams, whole, as it wrote it. */
export const JobsOutputQuery = StrictObject({
  id: Type.String({ minLength: 1 }),
  stream: Type.Union([Type.Literal('stdout'), Type.Literal('stderr')]),
});
export type JobsOutputQuery = Static<typeof JobsOutputQuery>;
