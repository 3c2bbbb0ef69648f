import crypto from 'node:crypto';
import type { AppParameterValue, JobSpecification } from '../../contract/jobs';
import { VALUE_TYPE_FOR_PARAMETER, type Application, type ApplicationParameter, type Product } from '../../contract/catalog';
import { isAbsoluteNormalisedPath, isDnsName } from '../../contract/validators';
import type { Catalog } from '../catalog/catalog';
import { badRequest } from '../http/errors';
import { durationToMillis, MAX_TIME_ALLOCATION_MS } from '../../contract/common';
import { optionLikeValue } from '../catalog/run';

/** A peer link as requested, with the path of the field that named it (for error messages). */
export interface PeerRef {
  hostname: string;
  jobId: string;
  field: string;
}

export interface CheckedSpec {
  specification: JobSpecification;
  application: Application;
  product: Product;
  peers: PeerRef[];
  timeAllocationMs: number | null;
  duplicateKey: string;
}


function describeValue(v: AppParameterValue): string {
  return `a '${v.type}' value`;
}

function checkParameter(param: ApplicationParameter, value: AppParameterValue, field: string, peers: PeerRef[]) {
  const expected = VALUE_TYPE_FOR_PARAMETER[param.type];
  if (value.type !== expected) {
    throw badRequest(`${field}: '${param.name}' takes a '${expected}' value, not ${describeValue(value)}`);
  }
  switch (value.type) {
    case 'integer': {
      if (!Number.isInteger(value.value)) throw badRequest(`${field}.value: must be a whole number`);
      if (param.min !== null && param.min !== undefined && value.value < param.min)
        throw badRequest(`${field}.value: must be at least ${param.min}`);
      if (param.max !== null && param.max !== undefined && value.value > param.max)
        throw badRequest(`${field}.value: must be at most ${param.max}`);
      break;
    }
    case 'floating_point': {
      if (!Number.isFinite(value.value)) throw badRequest(`${field}.value: must be a finite number`);
      if (param.min !== null && param.min !== undefined && value.value < param.min)
        throw badRequest(`${field}.value: must be at least ${param.min}`);
      if (param.max !== null && param.max !== undefined && value.value > param.max)
        throw badRequest(`${field}.value: must be at most ${param.max}`);
      break;
    }
    case 'text': {
      if (param.type === 'enumeration') {
        const options = param.options ?? [];
        if (!options.some((o) => o.value === value.value)) {
          throw badRequest(`${field}.value: must be one of ${options.map((o) => `'${o.value}'`).join(', ')}`);
        }
      }
      if (param.type === 'text' && value.value.includes('\n')) throw badRequest(`${field}.value: must be a single line`);
      break;
    }
    case 'file':
      if (!isAbsoluteNormalisedPath(value.path)) {
        throw badRequest(`${field}.path: must be an absolute, normalised path with no '..' (e.g. /123/acme-database)`);
      }
      break;
    case 'peer':
      peers.push({ hostname: value.hostname, jobId: value.jobId, field });
      break;
    case 'boolean':
      break;
  }
}

/** Canonical JSON (sorted keys) so that equal parameters give equal keys whatever their order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * Checks one job specification against the catalog: everything that can be known without the database.
 * Peer jobs (existence, owner, state, provider) are checked by the caller, which has the database.
 */
export function checkSpecification(catalog: Catalog, raw: JobSpecification, at: string): CheckedSpec {
  const spec: JobSpecification = {
    ...raw,
    // UCloud's web client sends the application's metadata here; a job names only its name and version.
    application: { name: raw.application.name, version: raw.application.version },
    name: raw.name ?? null,
    replicas: raw.replicas ?? 1,
    allowDuplicateJob: raw.allowDuplicateJob ?? false,
    parameters: raw.parameters ?? null,
    resources: raw.resources ?? null,
    timeAllocation: raw.timeAllocation ?? null,
    openedFile: raw.openedFile ?? null,
    restartOnExit: raw.restartOnExit ?? null,
    sshEnabled: raw.sshEnabled ?? null,
  };

  const application = catalog.findApplication(spec.application.name, spec.application.version);
  if (!application) {
    throw badRequest(`${at}.application: no application '${spec.application.name}' version '${spec.application.version}'`);
  }
  const { id, category, provider } = spec.product;
  const product = catalog.findProduct(id, category, provider);
  if (!product) throw badRequest(`${at}.product: no product '${id}' in category '${category}' from provider '${provider}'`);

  if (spec.name && spec.name.length > 200) throw badRequest(`${at}.name: must be at most 200 characters`);
  if (spec.replicas < 1) throw badRequest(`${at}.replicas: must be at least 1`);
  if (spec.replicas > 1000) throw badRequest(`${at}.replicas: must be at most 1000`);

  let timeAllocationMs: number | null = null;
  if (spec.timeAllocation) {
    const { minutes, seconds } = spec.timeAllocation;
    if (minutes > 59 || seconds > 59) throw badRequest(`${at}.timeAllocation: minutes and seconds must be below 60`);
    timeAllocationMs = durationToMillis(spec.timeAllocation);
    if (timeAllocationMs <= 0) throw badRequest(`${at}.timeAllocation: must be longer than zero`);
    if (timeAllocationMs > MAX_TIME_ALLOCATION_MS) throw badRequest(`${at}.timeAllocation: must be at most 720 hours`);
  } else if (application.defaultTimeAllocation) {
    timeAllocationMs = durationToMillis(application.defaultTimeAllocation);
  }

  const peers: PeerRef[] = [];
  const values = spec.parameters ?? {};
  for (const name of Object.keys(values)) {
    if (!application.parameters.some((p) => p.name === name)) {
      const known = application.parameters.map((p) => p.name);
      throw badRequest(
        `${at}.parameters.${name}: unknown parameter; ${application.name} takes ${known.length ? known.join(', ') : 'no parameters'}`,
      );
    }
  }
  for (const param of application.parameters) {
    const value = values[param.name];
    if (value === undefined || value === null) {
      if (!param.optional) throw badRequest(`${at}.parameters.${param.name}: required by ${application.name}`);
      continue;
    }
    checkParameter(param, value, `${at}.parameters.${param.name}`, peers);
  }
  const run = catalog.findRun(application.name, application.version);
  const optionLike = run ? optionLikeValue(application, run, values) : null;
  if (optionLike !== null) {
    throw badRequest(
      `${at}.parameters.${optionLike}.value: must not start with '-': ${application.name} passes it to its program as an argument of its own, where it would be read as an option`,
    );
  }

  (spec.resources ?? []).forEach((resource, i) => {
    const field = `${at}.resources[${i}]`;
    if (resource.type === 'peer') peers.push({ hostname: resource.hostname, jobId: resource.jobId, field });
    else if (resource.type === 'file') {
      if (!isAbsoluteNormalisedPath(resource.path)) throw badRequest(`${field}.path: must be an absolute, normalised path with no '..'`);
    } else throw badRequest(`${field}.type: resources may be 'peer' or 'file', not '${resource.type}'`);
  });

  const seen = new Set<string>();
  for (const peer of peers) {
    if (!isDnsName(peer.hostname)) {
      throw badRequest(`${peer.field}.hostname: must be a DNS name (a-z, 0-9, '-', '.'; labels of at most 63 characters)`);
    }
    if (seen.has(peer.hostname)) throw badRequest(`${peer.field}.hostname: '${peer.hostname}' is used by another peer of this job`);
    seen.add(peer.hostname);
    if (!/^[0-9]{1,18}$/.test(peer.jobId)) throw badRequest(`${peer.field}.jobId: no job '${peer.jobId}' of yours is running`);
  }
  if (peers.length > 0 && !application.allowPeers) {
    throw badRequest(`${peers[0]!.field}: ${application.name} cannot be connected to other jobs`);
  }
  if (peers.length > 0 && !product.supportsPeers) {
    throw badRequest(`${peers[0]!.field}: machine type '${product.id}' does not support connected jobs`);
  }

  // Hashed: the canonical text of a long text value is longer than an index row may be (migration 011).
  const duplicateKey = crypto
    .createHash('sha256')
    .update(canonical({ application: spec.application, product: spec.product, parameters: spec.parameters, resources: spec.resources }))
    .digest('hex');
  return { specification: spec, application, product, peers, timeAllocationMs, duplicateKey };
}
