import type { ApplicationParameter, Job } from '@/api/types';
import { describedBy, FieldLabel, FieldMessages } from '@/features/jobs/launch/field-label';
import { JobPicker } from '@/features/jobs/launch/job-picker';
import type { RawValue } from '@/features/jobs/launch/validation';

interface ParameterFieldProps {
  param: ApplicationParameter;
  id: string;
  value: RawValue | undefined;
  onChange: (value: RawValue) => void;
  onBlur: (part?: 'hostname' | 'job') => void;
  error: string | null;
  /** Peer parameters only. */
  peerErrors?: { hostname: string | null; job: string | null };
  provider: string | null;
  onPeerJobPicked?: (job: Job | null) => void;
}

function rangeHint(param: ApplicationParameter): string | null {
  const hasMin = param.min !== null && param.min !== undefined;
  const hasMax = param.max !== null && param.max !== undefined;
  if (hasMin && hasMax) return `From ${param.min} to ${param.max}.`;
  if (hasMin) return `At least ${param.min}.`;
  if (hasMax) return `At most ${param.max}.`;
  return null;
}

/** One widget per parameter type, each labelled, with its hint and inline error. */
export function ParameterField({ param, id, value, onChange, onBlur, error, peerErrors, provider, onPeerJobPicked }: ParameterFieldProps) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const text = typeof value === 'string' ? value : '';
  const title = param.title || param.name;

  if (param.type === 'peer') {
    const peer = typeof value === 'object' ? value : { hostname: '', jobId: '' };
    return (
      <fieldset className="peer-param">
        <legend className="field__label">
          {title}
          {param.optional ? <span className="field__optional">(optional)</span> : null}
        </legend>
        {param.description ? <p className="field__hint">{param.description}</p> : null}
        <div className="peer-row__fields">
          <JobPicker
            id={`${id}-job`}
            label="Job"
            value={peer.jobId}
            provider={provider}
            error={peerErrors?.job ?? null}
            onBlur={() => onBlur('job')}
            onChange={(job) => onPeerJobPicked?.(job)}
          />
          <div className="field">
            <FieldLabel htmlFor={`${id}-hostname`} optional={false}>
              Hostname
            </FieldLabel>
            <input
              id={`${id}-hostname`}
              className="input mono"
              value={peer.hostname}
              autoComplete="off"
              spellCheck={false}
              onChange={(e) => onChange({ ...peer, hostname: e.target.value })}
              onBlur={() => onBlur('hostname')}
              aria-invalid={peerErrors?.hostname ? true : undefined}
              aria-describedby={describedBy(`${id}-hostname-hint`, true, `${id}-hostname-error`, peerErrors?.hostname ?? null)}
            />
            <FieldMessages
              hintId={`${id}-hostname-hint`}
              hint="The name this job uses to reach the other one."
              errorId={`${id}-hostname-error`}
              error={peerErrors?.hostname ?? null}
            />
          </div>
        </div>
      </fieldset>
    );
  }

  let hint: string | null = param.description || null;
  const range = rangeHint(param);
  if (range) hint = hint ? `${hint} ${range}` : range;
  if (param.type === 'input_file' || param.type === 'input_directory') {
    const example = param.type === 'input_file' ? '/home/data/input.csv' : '/home/data';
    hint = `${hint ? `${hint} ` : ''}An absolute path, such as ${example}.`;
  }
  const common = {
    id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy(hintId, Boolean(hint), errorId, error),
    'aria-required': param.optional ? undefined : true,
    onBlur: () => onBlur(),
  } as const;

  let control;
  switch (param.type) {
    case 'textarea':
      control = <textarea {...common} className="textarea" value={text} onChange={(e) => onChange(e.target.value)} />;
      break;
    case 'enumeration':
      control = (
        <select {...common} className="select" value={text} onChange={(e) => onChange(e.target.value)}>
          <option value="">{param.optional ? 'None' : 'Choose…'}</option>
          {(param.options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {o.name}
            </option>
          ))}
        </select>
      );
      break;
    case 'boolean':
      control = (
        <select {...common} className="select" value={text} onChange={(e) => onChange(e.target.value)}>
          <option value="">{param.optional ? 'Default' : 'Choose…'}</option>
          <option value="true">Yes</option>
          <option value="false">No</option>
        </select>
      );
      break;
    case 'integer':
    case 'floating_point':
      control = (
        <input
          {...common}
          className="input"
          inputMode={param.type === 'integer' ? 'numeric' : 'decimal'}
          value={text}
          onChange={(e) => onChange(e.target.value)}
          autoComplete="off"
        />
      );
      break;
    case 'input_file':
    case 'input_directory':
      control = (
        <input
          {...common}
          className="input mono"
          value={text}
          onChange={(e) => onChange(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          placeholder={param.type === 'input_file' ? '/path/to/file' : '/path/to/folder'}
        />
      );
      break;
    default:
      control = <input {...common} className="input" value={text} onChange={(e) => onChange(e.target.value)} autoComplete="off" />;
  }

  return (
    <div className="field">
      <FieldLabel htmlFor={id} optional={param.optional}>
        {title}
      </FieldLabel>
      {control}
      <FieldMessages hintId={hintId} hint={hint} errorId={errorId} error={error} />
    </div>
  );
}
