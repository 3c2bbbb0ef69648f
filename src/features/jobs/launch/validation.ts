import type { AppParameterValue, ApplicationParameter, Job } from '@/api/types';

/*
 * Pure validation for the launch form. Every message names what is wrong and
 * how to fix it; the server checks the same rules (contract §3) and its `why`
 * is shown if anything slips through.
 */

export type FieldError = string | null;

/** Raw form state for one parameter; peers keep their two parts apart. */
export type RawValue = string | { hostname: string; jobId: string };

const INTEGER = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function validateRequiredText(raw: string, optional: boolean): FieldError {
  if (!optional && raw.trim() === '') return 'This field is required.';
  return null;
}

export function validateInteger(raw: string, param: Pick<ApplicationParameter, 'optional' | 'min' | 'max'>): FieldError {
  const text = raw.trim();
  if (text === '') return param.optional ? null : 'This field is required.';
  if (!INTEGER.test(text)) return 'Enter a whole number, such as 4.';
  const n = Number(text);
  if (!Number.isSafeInteger(n)) return 'This number is too large.';
  return checkRange(n, param.min, param.max);
}

export function validateFloat(raw: string, param: Pick<ApplicationParameter, 'optional' | 'min' | 'max'>): FieldError {
  const text = raw.trim();
  if (text === '') return param.optional ? null : 'This field is required.';
  if (!FLOAT.test(text)) return 'Enter a number, such as 0.5.';
  const n = Number(text);
  if (!Number.isFinite(n)) return 'This number is too large.';
  return checkRange(n, param.min, param.max);
}

function checkRange(n: number, min: number | null | undefined, max: number | null | undefined): FieldError {
  const hasMin = min !== null && min !== undefined;
  const hasMax = max !== null && max !== undefined;
  if (hasMin && hasMax && (n < min || n > max)) return `Enter a value from ${min} to ${max}.`;
  if (hasMin && n < min) return `Enter a value of at least ${min}.`;
  if (hasMax && n > max) return `Enter a value of at most ${max}.`;
  return null;
}

export function validateEnumeration(raw: string, param: Pick<ApplicationParameter, 'optional' | 'options'>): FieldError {
  if (raw === '') return param.optional ? null : 'Choose an option.';
  if (!(param.options ?? []).some((o) => o.value === raw)) return 'Choose one of the listed options.';
  return null;
}

export function validateBoolean(raw: string, optional: boolean): FieldError {
  if (raw === '') return optional ? null : 'Choose Yes or No.';
  if (raw !== 'true' && raw !== 'false') return 'Choose Yes or No.';
  return null;
}

/** Absolute, normalised, no `.`/`..` segments, no empty segments, no trailing slash. */
export function validatePath(raw: string, optional: boolean, kind: 'file' | 'folder'): FieldError {
  const path = raw.trim();
  if (path === '') return optional ? null : 'This field is required.';
  if (!path.startsWith('/')) return `Enter an absolute path that starts with “/”, such as /home/${kind === 'file' ? 'data.csv' : 'data'}.`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(path)) return 'The path contains a control character.';
  if (path === '/') return kind === 'file' ? 'Enter the path of a file, not the root folder.' : null;
  if (path.endsWith('/')) return 'Remove the trailing “/”.';
  const segments = path.slice(1).split('/');
  if (segments.some((s) => s === '')) return 'The path contains “//”; use a single “/” between folders.';
  if (segments.some((s) => s === '..')) return 'The path must not contain “..”.';
  if (segments.some((s) => s === '.')) return 'The path must not contain “.” segments.';
  return null;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Every problem with a hostname at once, one sentence each (`Data_Base!` has three), so one edit can fix them all. */
export function validateHostname(raw: string): FieldError {
  const host = raw.trim();
  if (host === '') return 'Enter a hostname.';
  const problems: string[] = [];
  if (host.length > 253) problems.push('A hostname has at most 253 characters.');
  if (/[A-Z]/.test(host)) problems.push('Use lowercase letters only.');
  const foreign = [...new Set(host.replace(/[A-Za-z0-9.-]/g, ''))];
  if (foreign.length > 0) problems.push(`Use only a–z, 0–9, “-” and “.”: remove ${foreign.map((c) => `“${c}”`).join(', ')}.`);
  const labels = host.split('.');
  if (labels.some((l) => l === '')) problems.push('A hostname cannot start or end with “.”, or contain “..”.');
  if (labels.some((l) => l.length > 63)) problems.push('Each part between dots has at most 63 characters.');
  if (labels.some((l) => l.startsWith('-') || l.endsWith('-'))) problems.push('A part of a hostname cannot start or end with “-”.');
  if (problems.length === 0 && labels.some((l) => !DNS_LABEL.test(l))) problems.push('Use only a–z, 0–9, “-” and “.”.');
  return problems.length > 0 ? problems.join(' ') : null;
}

/** A hostname from a job's name: "My Database #2" → "my-database-2". */
export function suggestHostname(source: string): string {
  const slug = source
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
  return slug || 'peer';
}

export function uniqueHostname(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const suffix = `-${i}`;
    const candidate = `${base.slice(0, 63 - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

export function jobDisplayName(job: Job): string {
  return job.specification.name || `${job.specification.application.name} #${job.id}`;
}

export function validatePeer(
  value: { hostname: string; jobId: string },
  optional: boolean,
  check: { provider: string | null; running: ReadonlyMap<string, Job> | null },
): { hostname: FieldError; job: FieldError } {
  const empty = value.hostname.trim() === '' && value.jobId === '';
  if (empty && optional) return { hostname: null, job: null };
  let job: FieldError = null;
  if (value.jobId === '') job = 'Choose a running job to connect to.';
  else if (check.running) {
    const peer = check.running.get(value.jobId);
    if (!peer) job = 'This job is no longer running. Choose another one.';
    else if (check.provider && peer.specification.product.provider !== check.provider) {
      job = `This job runs on provider “${peer.specification.product.provider}”; choose a job on “${check.provider}”, or change the machine type.`;
    }
  }
  return { hostname: validateHostname(value.hostname), job };
}

export function validateParameter(param: ApplicationParameter, raw: RawValue | undefined): FieldError {
  if (param.type === 'peer') return null; // validated with the connections, which need the job list
  const text = typeof raw === 'string' ? raw : '';
  switch (param.type) {
    case 'text':
    case 'textarea':
      return validateRequiredText(text, param.optional);
    case 'enumeration':
      return validateEnumeration(text, param);
    case 'integer':
      return validateInteger(text, param);
    case 'floating_point':
      return validateFloat(text, param);
    case 'boolean':
      return validateBoolean(text, param.optional);
    case 'input_file':
      return validatePath(text, param.optional, 'file');
    case 'input_directory':
      return validatePath(text, param.optional, 'folder');
  }
}

/** The wire value for a valid raw value, or null when an optional field is left empty. */
export function toParameterValue(param: ApplicationParameter, raw: RawValue | undefined): AppParameterValue | null {
  if (param.type === 'peer') {
    if (typeof raw !== 'object' || raw.jobId === '') return null;
    return { type: 'peer', hostname: raw.hostname.trim(), jobId: raw.jobId };
  }
  const text = typeof raw === 'string' ? raw : '';
  if (text.trim() === '') return null;
  switch (param.type) {
    case 'text':
    case 'textarea':
    case 'enumeration':
      return { type: 'text', value: text };
    case 'integer':
      return { type: 'integer', value: Number(text.trim()) };
    case 'floating_point':
      return { type: 'floating_point', value: Number(text.trim()) };
    case 'boolean':
      return { type: 'boolean', value: text === 'true' };
    case 'input_file':
    case 'input_directory':
      return { type: 'file', path: text.trim(), readOnly: false };
  }
}

/** The raw form value for a wire value (defaults, and Run again). */
export function fromParameterValue(value: AppParameterValue | null | undefined): RawValue | undefined {
  if (!value) return undefined;
  switch (value.type) {
    case 'text':
      return value.value;
    case 'integer':
    case 'floating_point':
      return String(value.value);
    case 'boolean':
      return value.value ? 'true' : 'false';
    case 'file':
      return value.path;
    case 'peer':
      return { hostname: value.hostname, jobId: value.jobId };
  }
}

export interface TimeAllocationErrors {
  hours: FieldError;
  minutes: FieldError;
}

export function validateTimeAllocation(hours: string, minutes: string): TimeAllocationErrors {
  const h = hours.trim();
  const m = minutes.trim();
  if (h === '' && m === '') return { hours: null, minutes: null };
  const errors: TimeAllocationErrors = { hours: null, minutes: null };
  if (h !== '' && (!/^\d+$/.test(h) || Number(h) > 10_000)) errors.hours = 'Enter whole hours from 0 to 10000.';
  if (m !== '' && (!/^\d+$/.test(m) || Number(m) > 59)) errors.minutes = 'Enter whole minutes from 0 to 59.';
  if (!errors.hours && !errors.minutes && Number(h || 0) === 0 && Number(m || 0) === 0) {
    errors.minutes = 'A job needs at least 1 minute.';
  }
  return errors;
}
