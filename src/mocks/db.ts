import type { AppParameterValue, Job, JobSpecification, JobState, JobUpdate } from '@/api/types';
import { applications, bulkJobs, initialJobs, MOCK_USER, products } from '@/mocks/fixtures';
import { EMPTY_JOB_UPDATE, FINAL_JOB_STATES } from '@contract/constants';

/*
 * The mock server's state. Tests call resetMockDb() between cases; the dev
 * worker turns on `simulateLifecycle` so new jobs start running by themselves.
 */

type Listener = (job: Job, update: JobUpdate) => void;

interface MockDb {
  jobs: Job[];
  nextId: number;
  simulateLifecycle: boolean;
  listeners: Set<Listener>;
}

export const mockDb: MockDb = { jobs: [], nextId: 4200, simulateLifecycle: false, listeners: new Set() };

export function resetMockDb(options: { extraJobs?: number; simulateLifecycle?: boolean } = {}): void {
  const now = Date.now();
  mockDb.jobs = [...initialJobs(now), ...bulkJobs(options.extraJobs ?? 0, now, 4101)];
  mockDb.nextId = 4200;
  mockDb.simulateLifecycle = options.simulateLifecycle ?? false;
  printed.clear();
}

/** What each mock job has printed so far, and who hears of new output (the mock jobs.follow streams). */
const printed = new Map<string, { stdout: string; stderr: string }>();
const outputListeners = new Set<(id: string, stdout: string | null, stderr: string | null) => void>();

export function printedBy(id: string): { stdout: string; stderr: string } {
  return printed.get(id) ?? { stdout: '', stderr: '' };
}

/** The mock job prints: kept for the download and for later follows, and sent to the open ones. */
export function printOutput(id: string, stdout: string | null, stderr: string | null = null): void {
  const before = printedBy(id);
  printed.set(id, { stdout: before.stdout + (stdout ?? ''), stderr: before.stderr + (stderr ?? '') });
  for (const listener of outputListeners) listener(id, stdout, stderr);
}

export function onOutput(listener: (id: string, stdout: string | null, stderr: string | null) => void): () => void {
  outputListeners.add(listener);
  return () => outputListeners.delete(listener);
}

export function onJobChange(listener: Listener): () => void {
  mockDb.listeners.add(listener);
  return () => mockDb.listeners.delete(listener);
}

export function findJob(id: string): Job | undefined {
  return mockDb.jobs.find((j) => j.id === id);
}

const FINAL: ReadonlySet<JobState> = new Set(FINAL_JOB_STATES);

/** Applies a provider update the way the core does, then tells followers. */
export function applyUpdate(id: string, partial: Partial<JobUpdate>): Job | undefined {
  const index = mockDb.jobs.findIndex((j) => j.id === id);
  const job = mockDb.jobs[index];
  if (!job) return undefined;
  if (partial.state && FINAL.has(job.status.state)) return job;
  const update: JobUpdate = {
    ...EMPTY_JOB_UPDATE,
    ...partial,
    timestamp: Math.max(Date.now(), (job.updates.at(-1)?.timestamp ?? 0) + 1),
  };
  const status = { ...job.status };
  if (update.state) {
    status.state = update.state;
    if (update.state === 'RUNNING' && status.startedAt == null) {
      status.startedAt = update.timestamp;
      const a = job.specification.timeAllocation;
      if (a) status.expiresAt = update.timestamp + (a.hours * 3600 + a.minutes * 60 + a.seconds) * 1000;
    }
  }
  // As the real core does: the specification keeps what was asked for; the allocation in force is the update's.
  if (update.newTimeAllocation != null && status.startedAt != null) status.expiresAt = status.startedAt + update.newTimeAllocation;
  const next: Job = { ...job, status, updates: [...job.updates, update] };
  mockDb.jobs[index] = next;
  for (const listener of mockDb.listeners) listener(next, update);
  if (update.state && FINAL.has(update.state)) peerEnded(next);
  return next;
}

function peersOf(job: Job): { hostname: string; jobId: string }[] {
  const values: AppParameterValue[] = [...(job.specification.resources ?? []), ...Object.values(job.specification.parameters ?? {})];
  return values.flatMap((v) => (v.type === 'peer' ? [{ hostname: v.hostname, jobId: v.jobId }] : []));
}

function peerEnded(ended: Job): void {
  for (const job of mockDb.jobs) {
    if (job.status.state !== 'RUNNING') continue;
    const link = peersOf(job).find((p) => p.jobId === ended.id);
    if (link) applyUpdate(job.id, { status: `Peer '${link.hostname}' (job ${ended.id}) is no longer running` });
  }
}

export function connectedTo(id: string): { hostname: string; job: Job }[] {
  return mockDb.jobs.flatMap((job) => peersOf(job).filter((p) => p.jobId === id).map((p) => ({ hostname: p.hostname, job })));
}

export function validPeerHostname(hostname: string): boolean {
  if (hostname.length === 0 || hostname.length > 253) return false;
  return hostname.split('.').every((label) => label.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(label));
}

export type CreateResult = { ok: true; id: string } | { ok: false; status: number; why: string; errorCode: string | null };

export function createJob(spec: JobSpecification, index: number): CreateResult {
  const at = `items[${index}]`;
  const app = applications.find((a) => a.name === spec.application.name && a.version === spec.application.version);
  if (!app) return { ok: false, status: 400, why: `${at}.application: unknown application ${spec.application.name} ${spec.application.version}`, errorCode: null };
  const product = products.find((p) => p.id === spec.product.id && p.provider === spec.product.provider);
  if (!product) return { ok: false, status: 400, why: `${at}.product: unknown product ${spec.product.id}`, errorCode: null };
  for (const param of app.parameters) {
    if (!param.optional && !spec.parameters?.[param.name]) {
      return { ok: false, status: 400, why: `${at}.parameters.${param.name}: a value is required`, errorCode: null };
    }
  }
  const hostnames = new Set<string>();
  const peers = [
    ...(spec.resources ?? []).map((r, i) => ({ value: r, path: `${at}.resources[${i}]` })),
    ...Object.entries(spec.parameters ?? {}).map(([k, v]) => ({ value: v, path: `${at}.parameters.${k}` })),
  ];
  for (const { value, path } of peers) {
    if (value.type !== 'peer') continue;
    if (!validPeerHostname(value.hostname)) return { ok: false, status: 400, why: `${path}.hostname: must be a DNS name (a-z, 0-9, '-', '.')`, errorCode: null };
    if (hostnames.has(value.hostname)) return { ok: false, status: 400, why: `${path}.hostname: '${value.hostname}' is used twice`, errorCode: null };
    hostnames.add(value.hostname);
    const peer = findJob(value.jobId);
    if (!peer) return { ok: false, status: 400, why: `${path}.jobId: job ${value.jobId} does not exist`, errorCode: null };
    if (peer.status.state !== 'RUNNING') return { ok: false, status: 400, why: `${path}.jobId: job ${value.jobId} is not running`, errorCode: null };
    if (peer.specification.product.provider !== spec.product.provider) return { ok: false, status: 400, why: `${path}.jobId: job ${value.jobId} runs on another provider`, errorCode: null };
  }
  if (!spec.allowDuplicateJob) {
    const same = mockDb.jobs.find(
      (j) =>
        !FINAL.has(j.status.state) &&
        j.specification.application.name === spec.application.name &&
        j.specification.product.id === spec.product.id &&
        JSON.stringify(j.specification.parameters ?? {}) === JSON.stringify(spec.parameters ?? {}),
    );
    if (same) return { ok: false, status: 409, why: `A job with the same parameters is already running (job ${same.id})`, errorCode: 'DUPLICATE_JOB' };
  }
  const id = String(mockDb.nextId++);
  const now = Date.now();
  const job: Job = {
    id,
    owner: { createdBy: MOCK_USER, project: null },
    updates: [],
    specification: spec,
    status: { state: 'IN_QUEUE', jobParametersJson: null, startedAt: null, expiresAt: null, resolvedApplication: null, resolvedSupport: null, resolvedProduct: null },
    createdAt: now,
    output: null,
    permissions: null,
    providerGeneratedId: null,
  };
  mockDb.jobs.unshift(job);
  applyUpdate(id, { state: 'IN_QUEUE', status: 'Your job is waiting in the queue' });
  if (mockDb.simulateLifecycle) {
    setTimeout(() => {
      const peersLines = peersOf(job).map((p) => `Connected to job ${p.jobId} as '${p.hostname}'`);
      applyUpdate(id, { state: 'RUNNING', status: 'Your job is now running' });
      for (const line of peersLines) applyUpdate(id, { status: line });
      if (job.specification.application.name === 'acme-batch') {
        setTimeout(() => applyUpdate(id, { state: 'SUCCESS', status: 'Your job has completed' }), 8_000);
      }
    }, 2_000);
  }
  return { ok: true, id };
}
