import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { describeError, isApiError } from '@/api/http';
import { jobsQueries, useCreateJob } from '@/api/jobs';
import type { Application, Job, JobSpecification, Product } from '@/api/types';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { describedBy, FieldLabel, FieldMessages } from '@/features/jobs/launch/field-label';
import {
  buildSpecification,
  fieldId,
  fieldKeyForWhy,
  initialFormState,
  newPeerRow,
  productKey,
  sentPeers,
  validateForm,
  type LaunchFormState,
} from '@/features/jobs/launch/launch-form-state';
import { ParameterField } from '@/features/jobs/launch/parameter-field';
import { PeerConnections } from '@/features/jobs/launch/peer-connections';
import { jobDisplayName, suggestHostname, uniqueHostname, type RawValue } from '@/features/jobs/launch/validation';

const DUPLICATE_JOB = 'DUPLICATE_JOB';

interface LaunchFormProps {
  app: Application;
  products: Product[];
  /** The job being run again, if any. */
  source: Job | null;
}

function productLabel(p: Product): string {
  const gpu = p.gpu > 0 ? ` · ${p.gpu} GPU` : '';
  const peers = p.supportsPeers ? '' : ' · no connections';
  return `${p.id} — ${p.cpu} vCPU · ${p.memoryInGigs} GB${gpu}${peers} (${p.provider})`;
}

/** The running job a DUPLICATE_JOB answer names ("job 4101 is already running …"), to name and link it. */
function duplicateJobId(why: string): string | null {
  return /\bjob (\d+)\b/.exec(why)?.[1] ?? null;
}

export function LaunchForm({ app, products, source }: LaunchFormProps) {
  const navigate = useNavigate();
  const [state, setState] = useState<LaunchFormState>(() => initialFormState(app, products, source));
  const [touched, setTouched] = useState<ReadonlySet<string>>(() => new Set());
  const [submitted, setSubmitted] = useState(false);
  const [duplicateSpec, setDuplicateSpec] = useState<JobSpecification | null>(null);
  // The running job that made the server refuse a duplicate; kept after Cancel to say why nothing started.
  const [duplicateOf, setDuplicateOf] = useState<{ id: string | null; cancelled: boolean } | null>(null);
  const submitRef = useRef<HTMLButtonElement>(null);
  // The field the server's last `why` named, shown inline until the user edits the form.
  const [serverField, setServerField] = useState<{ key: string; why: string } | null>(null);
  const summaryRef = useRef<HTMLDivElement>(null);
  // A new connection row takes focus, so keyboard users continue in it.
  const [focusRow, setFocusRow] = useState<string | null>(null);
  useEffect(() => {
    if (!focusRow) return;
    document.getElementById(fieldId(`peer.${focusRow}.job`))?.focus();
    setFocusRow(null);
  }, [focusRow]);
  const create = useCreateJob();
  const running = useQuery(jobsQueries.running());

  const runningById = useMemo(
    () => (running.data ? new Map(running.data.items.map((j) => [j.id, j])) : null),
    [running.data],
  );
  const errors = useMemo(
    () => validateForm(app, state, { products, running: runningById }),
    [app, state, products, runningById],
  );
  const product = products.find((p) => productKey(p) === state.productKey) ?? null;
  const provider = product?.provider ?? null;
  const canConnect = product?.supportsPeers !== false;
  const peerRows = canConnect ? state.peers : sentPeers(state);
  const showPeers = app.allowPeers || peerRows.length > 0;
  // The peers the application expects (catalog expectedPeers) that no connection fills: it may start, but is told.
  const missingPeers = (app.expectedPeers ?? []).filter(
    (e) => !state.peers.some((r) => r.jobId !== '' && r.hostname.trim() === e.hostname),
  );
  const duplicateJob = useMemo(
    () => (duplicateOf?.id ? (running.data?.items.find((j) => j.id === duplicateOf.id) ?? null) : null),
    [duplicateOf, running.data],
  );

  const errorFor = (key: string): string | null => {
    const local = submitted || touched.has(key) ? (errors.get(key) ?? null) : null;
    return local ?? (serverField?.key === key ? serverField.why : null);
  };
  const touch = (key: string) => setTouched((prev) => (prev.has(key) ? prev : new Set(prev).add(key)));
  const edit = (change: (s: LaunchFormState) => LaunchFormState) => {
    setServerField(null);
    setDuplicateOf(null);
    setState(change);
  };
  const update = (patch: Partial<LaunchFormState>) => edit((s) => ({ ...s, ...patch }));
  const setParam = (name: string, value: RawValue) => edit((s) => ({ ...s, params: { ...s.params, [name]: value } }));

  const takenHostnames = (except: string) => {
    const taken = new Set<string>();
    for (const row of state.peers) if (row.key !== except && row.hostname.trim()) taken.add(row.hostname.trim());
    for (const [name, raw] of Object.entries(state.params)) {
      if (name !== except && typeof raw === 'object' && raw.hostname.trim()) taken.add(raw.hostname.trim());
    }
    return taken;
  };
  const hostnameFor = (job: Job, except: string) => uniqueHostname(suggestHostname(jobDisplayName(job)), takenHostnames(except));

  function submit(spec: JobSpecification) {
    create.mutate(spec, {
      onSuccess: (id) => navigate(`/jobs/${encodeURIComponent(id)}`),
      onError: (error) => {
        if (isApiError(error) && error.status === 409 && error.errorCode === DUPLICATE_JOB) {
          setDuplicateSpec(spec);
          setDuplicateOf({ id: duplicateJobId(error.why), cancelled: false });
          return;
        }
        const key = isApiError(error) ? fieldKeyForWhy(error.why, state) : null;
        setServerField(key && isApiError(error) ? { key, why: error.why } : null);
      },
    });
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setSubmitted(true);
    if (errors.size > 0) {
      const [firstKey] = errors.keys();
      const target = firstKey ? document.getElementById(fieldId(firstKey)) : null;
      (target ?? summaryRef.current)?.focus();
      return;
    }
    create.reset();
    setDuplicateOf(null);
    submit(buildSpecification(app, state, products));
  }

  // A refused duplicate is not an error to show as the server's text: the dialog, then a plain note, say it.
  const serverError =
    create.error && !(isApiError(create.error) && create.error.errorCode === DUPLICATE_JOB) ? describeError(create.error) : null;
  const duplicateName = duplicateJob ? `${jobDisplayName(duplicateJob)} (#${duplicateJob.id})` : duplicateOf?.id ? `job #${duplicateOf.id}` : 'a job';
  const duplicateLink = duplicateOf?.id ? (
    <Link to={`/jobs/${encodeURIComponent(duplicateOf.id)}`}>{duplicateName}</Link>
  ) : (
    duplicateName
  );

  const nameId = fieldId('name');
  const productId = fieldId('product');
  const hoursId = fieldId('hours');
  const minutesId = fieldId('minutes');
  const nameError = errorFor('name');
  const productError = errorFor('product');
  const hoursError = errorFor('hours');
  const minutesError = errorFor('minutes');

  return (
    <form className="launch-form" onSubmit={onSubmit} noValidate aria-label={`Launch ${app.title}`}>
      {source ? (
        <p className="callout callout--info">
          Pre-filled from job #{source.id}
          {source.specification.name ? ` (${source.specification.name})` : ''}. Review the values, then launch.
        </p>
      ) : null}

      <section className="panel" aria-labelledby="job-settings-title">
        <h2 id="job-settings-title" className="panel__title">
          Job settings
        </h2>
        <div className="form-grid">
          <div className="field">
            <FieldLabel htmlFor={nameId} optional>
              Job name
            </FieldLabel>
            <input
              id={nameId}
              className="input"
              value={state.name}
              onChange={(e) => update({ name: e.target.value })}
              onBlur={() => touch('name')}
              autoComplete="off"
              aria-invalid={nameError ? true : undefined}
              aria-describedby={describedBy(`${nameId}-hint`, true, `${nameId}-error`, nameError)}
            />
            <FieldMessages hintId={`${nameId}-hint`} hint="Helps you find the job later." errorId={`${nameId}-error`} error={nameError} />
          </div>
          <div className="field">
            <FieldLabel htmlFor={productId} optional={false}>
              Machine type
            </FieldLabel>
            <select
              id={productId}
              className="select"
              value={state.productKey}
              onChange={(e) => update({ productKey: e.target.value })}
              onBlur={() => touch('product')}
              aria-required
              aria-invalid={productError ? true : undefined}
              aria-describedby={describedBy(`${productId}-hint`, products.length === 0 || product !== null, `${productId}-error`, productError)}
            >
              {products.length === 0 ? <option value="">No machine types available</option> : null}
              {[...new Set(products.map((p) => p.provider))].map((providerId) => (
                <optgroup key={providerId} label={`Provider ${providerId}`}>
                  {products
                    .filter((p) => p.provider === providerId)
                    .map((p) => (
                      <option key={productKey(p)} value={productKey(p)}>
                        {productLabel(p)}
                      </option>
                    ))}
                </optgroup>
              ))}
            </select>
            <FieldMessages
              hintId={`${productId}-hint`}
              hint={
                products.length === 0
                  ? 'No machine types are available. Ask an operator to add products.'
                  : product
                    ? `Runs on provider “${product.provider}”.${product.supportsPeers ? '' : ' Jobs on it cannot be connected to other jobs.'}`
                    : undefined
              }
              errorId={`${productId}-error`}
              error={productError}
            />
          </div>
          <fieldset className="field time-allocation">
            <legend className="field__label">
              Time allocation <span className="field__optional">(starts at the application’s default; clear both fields to use it)</span>
            </legend>
            <div className="inline-fields">
              <div className="field">
                <label htmlFor={hoursId} className="field__hint">
                  Hours
                </label>
                <input
                  id={hoursId}
                  className="input"
                  inputMode="numeric"
                  value={state.hours}
                  onChange={(e) => update({ hours: e.target.value })}
                  onBlur={() => touch('hours')}
                  aria-invalid={hoursError ? true : undefined}
                  aria-describedby={hoursError ? `${hoursId}-error` : undefined}
                />
                <FieldMessages hintId={`${hoursId}-hint`} errorId={`${hoursId}-error`} error={hoursError} />
              </div>
              <div className="field">
                <label htmlFor={minutesId} className="field__hint">
                  Minutes
                </label>
                <input
                  id={minutesId}
                  className="input"
                  inputMode="numeric"
                  value={state.minutes}
                  onChange={(e) => update({ minutes: e.target.value })}
                  onBlur={() => touch('minutes')}
                  aria-invalid={minutesError ? true : undefined}
                  aria-describedby={minutesError ? `${minutesId}-error` : undefined}
                />
                <FieldMessages hintId={`${minutesId}-hint`} errorId={`${minutesId}-error`} error={minutesError} />
              </div>
            </div>
          </fieldset>
        </div>
      </section>

      {app.parameters.length > 0 ? (
        <section className="panel" aria-labelledby="parameters-title">
          <h2 id="parameters-title" className="panel__title">
            Parameters
          </h2>
          <p className="field__hint form-legend">
            Fields marked <span className="field__required" aria-hidden="true">*</span>
            <span className="visually-hidden">with an asterisk</span> are required.
          </p>
          <div className="form-grid">
            {app.parameters.map((param) => {
              const key = `param.${param.name}`;
              return (
                <ParameterField
                  key={param.name}
                  param={param}
                  id={fieldId(key)}
                  value={state.params[param.name]}
                  onChange={(value) => setParam(param.name, value)}
                  onBlur={(part) => touch(part ? `${key}.${part}` : key)}
                  error={errorFor(key)}
                  peerErrors={{ hostname: errorFor(`${key}.hostname`), job: errorFor(`${key}.job`) }}
                  provider={provider}
                  onPeerJobPicked={(job) => {
                    edit((s) => {
                      const prev = s.params[param.name];
                      const peer = typeof prev === 'object' ? prev : { hostname: '', jobId: '' };
                      const hostname = job && peer.hostname.trim() === '' ? hostnameFor(job, param.name) : peer.hostname;
                      return { ...s, params: { ...s.params, [param.name]: { hostname, jobId: job?.id ?? '' } } };
                    });
                  }}
                />
              );
            })}
          </div>
        </section>
      ) : null}

      {showPeers ? (
        <PeerConnections
          rows={peerRows}
          provider={provider}
          canConnect={canConnect}
          productLabel={product ? `${product.id} (provider ${product.provider})` : null}
          appTitle={app.title}
          errorFor={errorFor}
          onAdd={() => {
            const row = newPeerRow();
            update({ peers: [...state.peers, row] });
            setFocusRow(row.key);
          }}
          onRemove={(key) => update({ peers: state.peers.filter((r) => r.key !== key) })}
          onHostnameChange={(key, hostname) =>
            update({ peers: state.peers.map((r) => (r.key === key ? { ...r, hostname, hostnameEdited: true } : r)) })
          }
          onJobPicked={(key, job) =>
            edit((s) => ({
              ...s,
              peers: s.peers.map((r) => {
                if (r.key !== key) return r;
                const hostname = job && (!r.hostnameEdited || r.hostname.trim() === '') ? hostnameFor(job, key) : r.hostname;
                return { ...r, jobId: job?.id ?? '', hostname };
              }),
            }))
          }
          onBlur={touch}
        />
      ) : null}

      {missingPeers.length > 0 ? (
        <div id="missing-peers" className="callout callout--warning" role="note">
          <p>
          No job is connected as{' '}
          {missingPeers.map((e, i) => (
            <span key={e.hostname}>
              {i > 0 ? (i === missingPeers.length - 1 ? ' or ' : ', ') : ''}
              <code>{e.hostname}</code> ({e.title}){i === missingPeers.length - 1 ? ',' : ''}
            </span>
          ))}{' '}
          which {app.title} expects. It starts without {missingPeers.length === 1 ? 'it' : 'them'}, and what needs{' '}
          {missingPeers.length === 1 ? 'it' : 'them'} will not work. Pick a job under Connected jobs, or launch anyway.
          </p>
        </div>
      ) : null}
      <div className="launch-form__footer">
        <div ref={summaryRef} tabIndex={-1} className="launch-form__messages">
          {submitted && errors.size > 0 ? (
            <p className="field__error" role="alert">
              {errors.size === 1 ? 'One field needs your attention.' : `${errors.size} fields need your attention.`}
            </p>
          ) : null}
          {duplicateOf?.cancelled ? (
            <p className="callout callout--info" role="status">
              Not started: {duplicateLink} is already running with the same application, machine type and parameters. Change a
              value, or launch again to start another.
            </p>
          ) : null}
          {missingPeers.length > 0 ? (
            <p className="launch-form__warn">
              <span aria-hidden="true">⚠ </span>
              Starts without {missingPeers.map((e, i) => (
                <span key={e.hostname}>
                  {i > 0 ? ', ' : ''}
                  <code>{e.hostname}</code>
                </span>
              ))}
            </p>
          ) : null}
          {serverError ? (
            <div className="callout callout--danger" role="alert">
              <p className="callout__title">The job was not started</p>
              <p>{serverError}</p>
            </div>
          ) : null}
        </div>
        <button
          ref={submitRef}
          type="submit"
          className="button button--primary"
          disabled={create.isPending}
          aria-describedby={missingPeers.length > 0 ? 'missing-peers' : undefined}
        >
          {create.isPending ? 'Launching…' : 'Launch job'}
        </button>
      </div>

      <ConfirmDialog
        open={duplicateSpec !== null}
        onClose={() => {
          setDuplicateSpec(null);
          setDuplicateOf((d) => (d ? { ...d, cancelled: true } : d));
          // Launch was disabled while the request ran, so the dialog has nothing of its own to give focus back to.
          requestAnimationFrame(() => submitRef.current?.focus());
        }}
        finalFocus={submitRef}
        title="Start another job?"
        description={
          <>
            {duplicateLink} is already running with the same application, machine type and parameters. Start another one
            anyway?
          </>
        }
        confirmLabel="Start another"
        busy={create.isPending}
        onConfirm={() => {
          const spec = duplicateSpec;
          setDuplicateSpec(null);
          setDuplicateOf(null);
          if (spec) submit({ ...spec, allowDuplicateJob: true });
        }}
      />
    </form>
  );
}
