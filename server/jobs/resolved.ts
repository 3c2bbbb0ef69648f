import type { Application, Product } from '../../contract/catalog';
import type { IncludeFlags, Job } from '../../contract/jobs';
import type { ResolvedApplication, ResolvedProduct, ResolvedSupport } from '../../contract/resolved';
import type { Catalog } from '../catalog/catalog';

/** UCloud's application shape for one of Jobdeck's catalog applications (contract/resolved.ts). */
export function resolveApplication(app: Application, webPort: number | null): ResolvedApplication {
  return {
    metadata: { name: app.name, version: app.version, authors: [], title: app.title, description: app.description, website: null, public: true, flavorName: null, groupId: null },
    invocation: {
      tool: { name: app.name, version: app.version, tool: null },
      invocation: [],
      parameters: app.parameters,
      outputFileGlobs: [],
      applicationType: app.applicationType ?? 'BATCH',
      web: webPort === null ? null : { port: webPort },
      vnc: null,
      allowAdditionalPeers: app.allowPeers,
      allowMultiNode: false,
      allowPublicIp: false,
      allowPublicLink: false,
      fileExtensions: [],
      licenseServers: [],
    },
  };
}

export function resolveProduct(product: Product): ResolvedProduct {
  return {
    type: 'compute',
    name: product.id,
    description: product.description,
    category: { name: product.category, provider: product.provider, productType: 'COMPUTE', accountingFrequency: 'PERIODIC_MINUTE', freeToUse: true, allowSubAllocations: false },
    cpu: product.cpu,
    memoryInGigs: product.memoryInGigs,
    gpu: product.gpu,
    cpuModel: null,
    memoryModel: null,
    gpuModel: null,
    hiddenInGrantApplications: false,
  };
}

export function resolveSupport(product: Product, app: Application | undefined): ResolvedSupport {
  return {
    product: resolveProduct(product),
    support: {
      product: { id: product.id, category: product.category, provider: product.provider },
      docker: { enabled: false },
      virtualMachine: { enabled: false },
      native: {
        enabled: true,
        web: (app?.applicationType ?? 'BATCH') === 'WEB',
        vnc: false,
        logs: true,
        terminal: false,
        timeExtension: product.supportsTimeExtension,
        utilization: false,
        peers: product.supportsPeers,
      },
    },
  };
}

/**
 * Fills what the include flags ask for, from the catalog as it is now. A job whose application or product has left
 * the catalog keeps null there: the job is still listed, and null is what a client sees without the flag.
 */
export function withResolved(catalog: Catalog, job: Job, flags: IncludeFlags): Job {
  if (!flags.includeApplication && !flags.includeProduct && !flags.includeSupport) return job;
  const { application: ref, product: productRef } = job.specification;
  const app = catalog.findApplication(ref.name, ref.version);
  const product = catalog.findProduct(productRef.id, productRef.category, productRef.provider);
  const status = { ...job.status };
  if (flags.includeApplication && app) status.resolvedApplication = resolveApplication(app, catalog.findRun(ref.name, ref.version)?.webPort ?? null);
  if (flags.includeProduct && product) status.resolvedProduct = resolveProduct(product);
  if (flags.includeSupport && product) status.resolvedSupport = resolveSupport(product, app);
  return { ...job, status };
}
