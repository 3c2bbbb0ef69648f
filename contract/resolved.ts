import { Type, type Static } from 'typebox';
import { ApplicationParameter, ApplicationType } from './catalog';
import { Maybe, StrictObject } from './common';

/*
 * What `includeApplication`, `includeProduct` and `includeSupport` put in a job's `status.resolvedApplication`,
 * `resolvedProduct` and `resolvedSupport`, in UCloud's shapes (its web client reads them), built from Jobdeck's
 * catalog by server/jobs/resolved.ts. Where UCloud has a field Jobdeck has no value for, it is the neutral one (an
 * empty list, null, false); docs/ucloud-compatibility.md lists them.
 */

/** UCloud's `ApplicationMetadata`. */
export const ResolvedApplicationMetadata = StrictObject({
  name: Type.String(),
  version: Type.String(),
  authors: Type.Array(Type.String()),
  title: Type.String(),
  description: Type.String(),
  website: Maybe(Type.String()),
  public: Type.Boolean(),
  flavorName: Maybe(Type.String()),
  groupId: Maybe(Type.Integer()),
});

/** UCloud's `ApplicationInvocationDescription`, the parts Jobdeck has. */
export const ResolvedApplicationInvocation = StrictObject({
  tool: StrictObject({ name: Type.String(), version: Type.String(), tool: Type.Null() }),
  invocation: Type.Array(Type.Unknown()),
  parameters: Type.Array(ApplicationParameter),
  outputFileGlobs: Type.Array(Type.String()),
  applicationType: ApplicationType,
  web: Maybe(StrictObject({ port: Type.Integer({ minimum: 1, maximum: 65535 }) })),
  vnc: Type.Null(),
  allowAdditionalPeers: Type.Boolean(),
  allowMultiNode: Type.Boolean(),
  allowPublicIp: Type.Boolean(),
  allowPublicLink: Type.Boolean(),
  fileExtensions: Type.Array(Type.String()),
  licenseServers: Type.Array(Type.String()),
});

export const ResolvedApplication = StrictObject({ metadata: ResolvedApplicationMetadata, invocation: ResolvedApplicationInvocation });
export type ResolvedApplication = Static<typeof ResolvedApplication>;

/** UCloud's `ProductV2.Compute`. */
export const ResolvedProduct = StrictObject({
  type: Type.Literal('compute'),
  name: Type.String(),
  description: Type.String(),
  category: StrictObject({
    name: Type.String(),
    provider: Type.String(),
    productType: Type.Literal('COMPUTE'),
    accountingFrequency: Type.String(),
    freeToUse: Type.Boolean(),
    allowSubAllocations: Type.Boolean(),
  }),
  cpu: Type.Integer(),
  memoryInGigs: Type.Integer(),
  gpu: Type.Integer(),
  cpuModel: Type.Null(),
  memoryModel: Type.Null(),
  gpuModel: Type.Null(),
  hiddenInGrantApplications: Type.Boolean(),
});
export type ResolvedProduct = Static<typeof ResolvedProduct>;

const Disabled = StrictObject({ enabled: Type.Literal(false) });

/**
 * UCloud's `ResolvedSupport<Product.Compute, ComputeSupport>`. Jobdeck's jobs are processes (or Slurm jobs), which
 * UCloud calls `native`; `native.peers` is Jobdeck's own (UCloud has it on `docker` only).
 */
export const ResolvedSupport = StrictObject({
  product: ResolvedProduct,
  support: StrictObject({
    product: StrictObject({ id: Type.String(), category: Type.String(), provider: Type.String() }),
    docker: Disabled,
    virtualMachine: Disabled,
    native: StrictObject({
      enabled: Type.Literal(true),
      web: Type.Boolean(),
      vnc: Type.Boolean(),
      logs: Type.Boolean(),
      terminal: Type.Boolean(),
      timeExtension: Type.Boolean(),
      utilization: Type.Boolean(),
      peers: Type.Boolean(),
    }),
  }),
});
export type ResolvedSupport = Static<typeof ResolvedSupport>;
