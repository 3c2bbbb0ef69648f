import type { Application, ExpectedPeer, Job, JobSpecification, Product } from '@/api/types';
import {
  fromParameterValue,
  toParameterValue,
  validateHostname,
  validateParameter,
  validatePeer,
  validateTimeAllocation,
  type RawValue,
} from '@/features/jobs/launch/validation';

export interface PeerRow {
  key: string;
  hostname: string;
  jobId: string;
  /** Once the user types a hostname, picking a job no longer overwrites it. */
  hostnameEdited: boolean;
  /** The peer the application declares for this hostname (catalog `expectedPeers`), if any. */
  expected: ExpectedPeer | null;
}

export interface LaunchFormState {
  params: Record<string, RawValue>;
  productKey: string;
  name: string;
  hours: string;
  minutes: string;
  peers: PeerRow[];
}

export function productKey(p: { provider: string; id: string }): string {
  return `${p.provider}/${p.id}`;
}

let rowCounter = 0;
export function newPeerRow(partial: Partial<PeerRow> = {}): PeerRow {
  rowCounter += 1;
  return { key: `peer-${rowCounter}`, hostname: '', jobId: '', hostnameEdited: false, expected: null, ...partial };
}

/** Starting values: the app's defaults, or everything from the job being run again. */
export function initialFormState(app: Application, products: Product[], source: Job | null): LaunchFormState {
  const params: Record<string, RawValue> = {};
  for (const param of app.parameters) {
    const fromSource = source?.specification.parameters?.[param.name];
    const raw = fromParameterValue(fromSource ?? param.defaultValue);
    if (raw !== undefined) params[param.name] = raw;
  }
  const sourceProduct = source ? products.find((p) => productKey(p) === productKey(source.specification.product)) : undefined;
  const product = sourceProduct ?? products[0];
  const alloc = source ? source.specification.timeAllocation : app.defaultTimeAllocation;
  // The application's expected peers come first, under their hostnames; Run again fills in the jobs it used.
  const expected = app.expectedPeers ?? [];
  const fromSource = (source?.specification.resources ?? []).flatMap((r) => (r.type === 'peer' ? [r] : []));
  const peers = [
    ...expected.map((e) => {
      const used = fromSource.find((r) => r.hostname === e.hostname);
      return newPeerRow({ hostname: e.hostname, jobId: used?.jobId ?? '', hostnameEdited: true, expected: e });
    }),
    ...fromSource
      .filter((r) => !expected.some((e) => e.hostname === r.hostname))
      .map((r) => newPeerRow({ hostname: r.hostname, jobId: r.jobId, hostnameEdited: true })),
  ];
  return {
    params,
    productKey: product ? productKey(product) : '',
    name: source?.specification.name ?? '',
    hours: alloc ? String(alloc.hours) : '',
    minutes: alloc ? String(alloc.minutes) : '',
    peers,
  };
}

/**
 * The connection rows that go into the spec: an expected peer left without a job is optional (the job starts
 * unconnected, and the row says what that means); every other row must be complete.
 */
export function sentPeers(state: LaunchFormState): PeerRow[] {
  return state.peers.filter((row) => !(row.expected && row.jobId === ''));
}

/** DOM id for a field key, so submit can move focus to the first invalid field. */
export function fieldId(key: string): string {
  return `launch-${key.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
}

export interface ValidationContext {
  products: Product[];
  /** RUNNING jobs by id, or null while they load. */
  running: ReadonlyMap<string, Job> | null;
}

/** All errors of the form, keyed by field; keys are in display order. */
export function validateForm(app: Application, state: LaunchFormState, ctx: ValidationContext): Map<string, string> {
  const errors = new Map<string, string>();
  const set = (key: string, message: string | null) => {
    if (message) errors.set(key, message);
  };
  const product = ctx.products.find((p) => productKey(p) === state.productKey) ?? null;
  const provider = product?.provider ?? null;

  set('product', product ? null : 'Choose a machine type.');
  if (state.name.length > 200) set('name', 'A job name has at most 200 characters.');
  const time = validateTimeAllocation(state.hours, state.minutes);
  set('hours', time.hours);
  set('minutes', time.minutes);

  const seen = new Set<string>();
  const duplicate = (hostname: string) => {
    const h = hostname.trim();
    if (!h) return null;
    if (seen.has(h)) return `The hostname “${h}” is already used by another connection. Each must be unique.`;
    seen.add(h);
    return null;
  };

  let anyPeer = false;
  for (const param of app.parameters) {
    const raw = state.params[param.name];
    if (param.type === 'peer') {
      const value = typeof raw === 'object' ? raw : { hostname: '', jobId: '' };
      if (value.jobId || value.hostname) anyPeer = true;
      const e = validatePeer(value, param.optional, { provider, running: ctx.running });
      set(`param.${param.name}.job`, e.job);
      set(`param.${param.name}.hostname`, e.hostname ?? (value.jobId || value.hostname ? duplicate(value.hostname) : null));
    } else {
      set(`param.${param.name}`, validateParameter(param, raw));
    }
  }
  for (const row of sentPeers(state)) {
    anyPeer = true;
    const e = validatePeer(row, false, { provider, running: ctx.running });
    set(`peer.${row.key}.job`, e.job);
    set(`peer.${row.key}.hostname`, validateHostname(row.hostname) ?? duplicate(row.hostname));
  }
  if (anyPeer && product && !product.supportsPeers) {
    errors.set('product', 'This machine type cannot connect to other jobs. Choose another one, or remove the connections.');
  }
  return errors;
}

export function buildSpecification(app: Application, state: LaunchFormState, products: Product[]): JobSpecification {
  const product = products.find((p) => productKey(p) === state.productKey);
  if (!product) throw new Error('No machine type chosen');
  const parameters: NonNullable<JobSpecification['parameters']> = {};
  for (const param of app.parameters) {
    const value = toParameterValue(param, state.params[param.name]);
    if (value) parameters[param.name] = value;
  }
  const h = state.hours.trim();
  const m = state.minutes.trim();
  return {
    application: { name: app.name, version: app.version },
    product: { id: product.id, category: product.category, provider: product.provider },
    name: state.name.trim() || null,
    replicas: 1,
    allowDuplicateJob: false,
    parameters: Object.keys(parameters).length > 0 ? parameters : null,
    resources:
      sentPeers(state).length > 0
        ? sentPeers(state).map((row) => ({ type: 'peer' as const, hostname: row.hostname.trim(), jobId: row.jobId }))
        : null,
    timeAllocation: h === '' && m === '' ? null : { hours: Number(h || 0), minutes: Number(m || 0), seconds: 0 },
    openedFile: null,
    restartOnExit: null,
    sshEnabled: null,
  };
}

/**
 * The server names the offending field in `why` ("items[0].resources[1].hostname: ...",
 * contract §0). Map it to the form field that holds it, so the message also
 * appears next to that field.
 */
export function fieldKeyForWhy(why: string, state: LaunchFormState): string | null {
  const match = /^items\[0\]\.([^:\s]+):/.exec(why);
  const path = match?.[1];
  if (!path) return null;
  const resource = /^resources\[(\d+)\](?:\.(hostname|jobId))?/.exec(path);
  if (resource) {
    const row = sentPeers(state)[Number(resource[1])];
    if (!row) return null;
    return `peer.${row.key}.${resource[2] === 'hostname' ? 'hostname' : 'job'}`;
  }
  const param = /^parameters\.([^.[\s]+)(?:\.(hostname|jobId))?/.exec(path);
  if (param) {
    const raw = state.params[param[1] ?? ''];
    if (typeof raw === 'object') return `param.${param[1]}.${param[2] === 'hostname' ? 'hostname' : 'job'}`;
    return `param.${param[1]}`;
  }
  if (path.startsWith('product')) return 'product';
  if (path.startsWith('name')) return 'name';
  if (path.startsWith('timeAllocation.minutes')) return 'minutes';
  if (path.startsWith('timeAllocation')) return 'hours';
  return null;
}
