import { Type, type Static } from 'typebox';
import { AppParameterValue } from './app-parameter-value';
import { ItemsPerPage, Maybe, PageV2, SimpleDuration, StrictObject } from './common';

export const APPLICATION_PARAMETER_TYPES = [
  'text',
  'textarea',
  'enumeration',
  'integer',
  'floating_point',
  'boolean',
  'input_file',
  'input_directory',
  'peer',
] as const;
export const ApplicationParameterType = Type.Enum(APPLICATION_PARAMETER_TYPES);
export type ApplicationParameterType = Static<typeof ApplicationParameterType>;

/** The value `type` a parameter of each kind takes (contract §2). */
export const VALUE_TYPE_FOR_PARAMETER = {
  text: 'text',
  textarea: 'text',
  enumeration: 'text',
  integer: 'integer',
  floating_point: 'floating_point',
  boolean: 'boolean',
  input_file: 'file',
  input_directory: 'file',
  peer: 'peer',
} as const satisfies Record<ApplicationParameterType, AppParameterValue['type']>;

export const EnumOption = StrictObject({ name: Type.String(), value: Type.String() });
export type EnumOption = Static<typeof EnumOption>;

export const ApplicationParameter = StrictObject({
  name: Type.String({ minLength: 1 }),
  type: ApplicationParameterType,
  title: Type.String(),
  description: Type.String(),
  optional: Type.Boolean(),
  defaultValue: Maybe(AppParameterValue),
  min: Maybe(Type.Number()),
  max: Maybe(Type.Number()),
  options: Maybe(Type.Array(EnumOption)),
});
export type ApplicationParameter = Static<typeof ApplicationParameter>;

const summaryFields = {
  name: Type.String({ minLength: 1 }),
  version: Type.String({ minLength: 1 }),
  title: Type.String(),
  description: Type.String(),
};

export const ApplicationSummary = StrictObject(summaryFields);
export type ApplicationSummary = Static<typeof ApplicationSummary>;

/**
 * UCloud's `invocation.applicationType`: `WEB` for an application with a web interface (a job of it can be opened
 * with `jobs.openInteractiveSession`), `BATCH` for the rest. UCloud also has `VNC`, which Jobdeck does not serve.
 */
export const APPLICATION_TYPES = ['BATCH', 'VNC', 'WEB'] as const;
export const ApplicationType = Type.Enum(APPLICATION_TYPES);
export type ApplicationType = Static<typeof ApplicationType>;

/**
 * Extension: a peer the application expects, under the hostname it will use for it (acme-web-app reaches its
 * database as `database`). UCloud's precedent is `suggestedApplication` on peer parameters. The launch form prefills a
 * connection with this hostname and offers jobs of `suggestedApplication` first.
 */
export const ExpectedPeer = StrictObject({
  hostname: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$' }),
  title: Type.String({ minLength: 1 }),
  description: Type.String(),
  /** The name of the application whose jobs fit, or null for any. */
  suggestedApplication: Maybe(Type.String({ minLength: 1 })),
});
export type ExpectedPeer = Static<typeof ExpectedPeer>;

export const Application = StrictObject({
  ...summaryFields,
  parameters: Type.Array(ApplicationParameter),
  allowPeers: Type.Boolean(),
  defaultTimeAllocation: Maybe(SimpleDuration),
  /** Extension on the flat Application: UCloud's `invocation.applicationType`. Absent or null means `BATCH`. */
  applicationType: Maybe(ApplicationType),
  /** Extension, see ExpectedPeer. Absent or null means none. */
  expectedPeers: Maybe(Type.Array(ExpectedPeer)),
});
export type Application = Static<typeof Application>;

export const Product = StrictObject({
  id: Type.String({ minLength: 1 }),
  category: Type.String({ minLength: 1 }),
  provider: Type.String({ minLength: 1 }),
  description: Type.String(),
  cpu: Type.Integer({ minimum: 0 }),
  memoryInGigs: Type.Integer({ minimum: 0 }),
  gpu: Type.Integer({ minimum: 0 }),
  supportsPeers: Type.Boolean(),
  /**
   * Extension: whether jobs on this product can be extended (jobs.extend). A provider whose scheduler only lets an
   * operator raise a time limit (Slurm, for a plain account) says false; the core then refuses extend with a 400 and
   * the job page offers no extend buttons. UCloud: "time extension is not supported by this provider".
   */
  supportsTimeExtension: Type.Boolean(),
});
export type Product = Static<typeof Product>;

export const AppsBrowseQuery = StrictObject({
  itemsPerPage: Type.Optional(ItemsPerPage),
  next: Type.Optional(Type.String()),
});
export type AppsBrowseQuery = Static<typeof AppsBrowseQuery>;

export const AppsBrowseResponse = PageV2(ApplicationSummary);
export type AppsBrowseResponse = Static<typeof AppsBrowseResponse>;

export const AppsRetrieveQuery = StrictObject({
  name: Type.String({ minLength: 1 }),
  version: Type.String({ minLength: 1 }),
});
export type AppsRetrieveQuery = Static<typeof AppsRetrieveQuery>;

export const ProductsBrowseQuery = StrictObject({
  itemsPerPage: Type.Optional(ItemsPerPage),
  next: Type.Optional(Type.String()),
  filterProvider: Type.Optional(Type.String()),
});
export type ProductsBrowseQuery = Static<typeof ProductsBrowseQuery>;

export const ProductsBrowseResponse = PageV2(Product);
export type ProductsBrowseResponse = Static<typeof ProductsBrowseResponse>;

/**
 * Extension, provider → core: the products a provider offers, replacing what it registered before (its own only:
 * each item's `provider` is the caller's provider id). The `slurm` provider registers its cluster's partitions.
 */
export const ProductsControlRegisterRequest = StrictObject({
  items: Type.Array(Product, { maxItems: 1000 }),
});
export type ProductsControlRegisterRequest = Static<typeof ProductsControlRegisterRequest>;
