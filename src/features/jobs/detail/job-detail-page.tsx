import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { describeError, isApiError } from '@/api/http';
import { catalogQueries } from '@/api/catalog';
import { jobsQueries, useExtendJob, useOpenInterface, useTerminateJob } from '@/api/jobs';
import { useFollowJob } from '@/api/jobs-live';
import type { Job, JobState } from '@/api/types';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { ErrorMessage } from '@/components/error-message';
import { PageHeader } from '@/components/page-header';
import { Loading } from '@/components/spinner';
import { StateBadge } from '@/components/state-badge';
import { ConnectedJobs } from '@/features/jobs/detail/connected-jobs';
import { Countdown } from '@/features/jobs/detail/countdown';
import {
  FINAL_STATES,
  formatDateTime,
  formatDuration,
  formatParameterValue,
  isoString,
  STATE_EXPLANATION,
  STATE_LABEL,
} from '@/lib/format';
import '@/features/jobs/detail/job-detail.css';
import { jobTitle, useDocumentStatus } from '@/lib/document-status';
import { JobOutput } from '@/features/jobs/detail/job-output';
import { OutputBuffer } from '@/features/jobs/detail/output-buffer';

const EXTEND_HOURS = [1, 8, 24] as const;

/** Announces state changes to screen readers; the first render is not a change. */
function useStateAnnouncement(job: Job | undefined): string {
  const [message, setMessage] = useState('');
  const previous = useRef<JobState | null>(null);
  const state = job?.status.state ?? null;
  useEffect(() => {
    if (state === null) return;
    if (previous.current !== null && previous.current !== state) {
      const latest = job?.updates.at(-1)?.status;
      setMessage(`Job state changed to ${STATE_LABEL[state]}.${latest ? ` ${latest}` : ''}`);
    }
    previous.current = state;
  }, [state, job]);
  return message;
}

function Timeline({ job }: { job: Job }) {
  const updates = [...job.updates].reverse();
  if (updates.length === 0) return <p className="muted">No updates yet.</p>;
  return (
    <ol className="timeline" aria-label="Job updates, newest first">
      {updates.map((u, i) => (
        <li key={`${u.timestamp}-${i}`} className="timeline__item">
          <time className="timeline__time" dateTime={isoString(u.timestamp)}>
            {formatDateTime(u.timestamp)}
          </time>
          <div className="timeline__body">
            {u.state ? <StateBadge state={u.state} /> : null}
            {u.status ? <bdi className="user-text">{u.status}</bdi> : null}
            {u.newTimeAllocation != null ? (
              <span className="muted">Time allocation is now {formatDuration(msToDuration(u.newTimeAllocation))}</span>
            ) : null}
          </div>
        </li>
      ))}
    </ol>
  );
}

function msToDuration(ms: number) {
  const s = Math.round(ms / 1000);
  return { hours: Math.floor(s / 3600), minutes: Math.floor((s % 3600) / 60), seconds: s % 60 };
}

/**
 * Opens a running web application's interface in a new tab, on the job's own origin (never the dashboard's, whose
 * storage holds the token). `noopener`: the interface gets no handle on this window.
 */
function OpenInterface({ job }: { job: Job }) {
  const { name, version } = job.specification.application;
  const app = useQuery(catalogQueries.app(name, version));
  const open = useOpenInterface(job.id);
  const [opened, setOpened] = useState(false);
  if (job.status.state !== 'RUNNING' || app.data?.applicationType !== 'WEB') return null;
  return (
    <div className="open-interface">
      <button
        type="button"
        className="button button--primary"
        disabled={open.isPending}
        onClick={() =>
          open.mutate(undefined, {
            onSuccess: (url) => {
              window.open(url, '_blank', 'noopener,noreferrer');
              setOpened(true);
            },
          })
        }
      >
        {open.isPending ? 'Opening…' : 'Open interface'}
      </button>
      {opened && !open.isError ? (
        <p className="muted open-interface__note" role="status">
          The interface opened in a new tab, on an address of its own.
        </p>
      ) : null}
      {open.isError ? (
        <p className="field__error" role="alert">
          The interface could not be opened: {describeError(open.error)}
        </p>
      ) : null}
    </div>
  );
}

function JobActions({ job }: { job: Job }) {
  const extend = useExtendJob(job.id);
  const terminate = useTerminateJob(job.id);
  const [confirming, setConfirming] = useState(false);
  const final = FINAL_STATES.has(job.status.state);
  const running = job.status.state === 'RUNNING';
  const app = job.specification.application;

  return (
    <div className="job-actions">
      <OpenInterface job={job} />
      {running ? (
        <div className="extend" role="group" aria-label="Extend time allocation">
          <span className="extend__label">Extend</span>
          {EXTEND_HOURS.map((h) => (
            <button
              key={h}
              type="button"
              className="button button--secondary button--small"
              onClick={() => extend.mutate(h)}
              disabled={extend.isPending}
              aria-label={`Extend by ${h} ${h === 1 ? 'hour' : 'hours'}`}
            >
              +{h} h
            </button>
          ))}
        </div>
      ) : null}
      <div className="button-row">
        <Link
          className="button button--secondary"
          to={`/applications/${encodeURIComponent(app.name)}/${encodeURIComponent(app.version)}?from=${encodeURIComponent(job.id)}`}
        >
          Run again
        </Link>
        {!final ? (
          <button type="button" className="button button--danger-outline" onClick={() => setConfirming(true)} disabled={terminate.isPending}>
            {terminate.isPending ? 'Terminating…' : 'Terminate'}
          </button>
        ) : null}
      </div>
      {extend.isError ? (
        <p className="field__error" role="alert">
          The time allocation was not extended: {describeError(extend.error)}
        </p>
      ) : null}
      {terminate.isError ? (
        <p className="field__error" role="alert">
          The job was not terminated: {describeError(terminate.error)}
        </p>
      ) : null}
      <ConfirmDialog
        open={confirming}
        onClose={() => setConfirming(false)}
        title="Terminate this job?"
        description={`${job.specification.name || app.name} (#${job.id}) stops now, and jobs connected to it lose their connection. This cannot be undone.`}
        confirmLabel="Terminate job"
        tone="danger"
        busy={terminate.isPending}
        onConfirm={() => {
          setConfirming(false);
          terminate.mutate();
        }}
      />
    </div>
  );
}

function Parameters({ job }: { job: Job }) {
  const entries = Object.entries(job.specification.parameters ?? {});
  return (
    <section className="panel" aria-labelledby="params-title">
      <h2 id="params-title" className="panel__title">
        Parameters
      </h2>
      <dl className="kv">
        <dt>Application</dt>
        <dd className="mono">
          {job.specification.application.name} {job.specification.application.version}
        </dd>
        <dt>Machine type</dt>
        <dd className="mono">
          {job.specification.product.id} ({job.specification.product.provider})
        </dd>
        <dt>Time allocation</dt>
        <dd>{formatDuration(job.specification.timeAllocation ?? null)}</dd>
        <dt>Created</dt>
        <dd>{formatDateTime(job.createdAt)}</dd>
        {job.status.startedAt != null ? (
          <>
            <dt>Started</dt>
            <dd>{formatDateTime(job.status.startedAt)}</dd>
          </>
        ) : null}
        {entries.map(([name, value]) => (
          <div key={name} className="kv__row">
            <dt className="mono">{name}</dt>
            <dd className={value.type === 'file' || value.type === 'peer' ? 'mono' : undefined}>{formatParameterValue(value)}</dd>
          </div>
        ))}
      </dl>
      {entries.length === 0 ? <p className="muted">This job has no parameters.</p> : null}
    </section>
  );
}

export default function JobDetailPage() {
  const { id = '' } = useParams();
  // The output shown on this page; every follow (a new job id, a reconnect) starts it afresh at its initialJob.
  const [output] = useState(() => new OutputBuffer());
  useEffect(() => output.reset(), [id, output]);
  useFollowJob(id, output);
  const query = useQuery(jobsQueries.detail(id));
  const job = query.data;
  const announcement = useStateAnnouncement(job);
  const name = job ? job.specification.name || job.specification.application.name : null;
  useDocumentStatus(job && name ? jobTitle(name, job.status.state) : query.isError ? 'Job not found – Jobdeck' : null, job?.status.state ?? null);

  if (query.isPending) return <Loading label="Loading the job…" />;
  if (query.isError || !job) {
    const notFound = isApiError(query.error) && query.error.status === 404;
    return (
      <section className="page">
        <PageHeader title={notFound ? 'Job not found' : 'Could not load the job'} />
        <ErrorMessage error={query.error} title={notFound ? `There is no job #${id} among your jobs.` : 'Something went wrong'} onRetry={notFound ? undefined : () => void query.refetch()} />
        <p>
          <Link to="/jobs">Back to your jobs</Link>
        </p>
      </section>
    );
  }

  const state = job.status.state;
  const latestStatus = [...job.updates].reverse().find((u) => u.status)?.status ?? null;
  const title = job.specification.name || job.specification.application.name;

  return (
    <section className="page job-detail" aria-labelledby="job-title">
      <div aria-live="polite" aria-atomic="true" className="visually-hidden">
        {announcement}
      </div>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/jobs">Jobs</Link> <span aria-hidden="true">/</span> #{job.id}
      </nav>
      <PageHeader
        title={
          <span id="job-title">
            <bdi className="user-text">{title}</bdi> <span className="muted mono job-detail__id">#{job.id}</span>
          </span>
        }
        subtitle={`${job.specification.application.name} ${job.specification.application.version} on ${job.specification.product.id}`}
      />
      <div className="job-detail__grid">
        <section className="panel state-panel" aria-labelledby="state-title">
          <h2 id="state-title" className="visually-hidden">
            State
          </h2>
          <div className="state-panel__main">
            <StateBadge state={state} />
            <p className="state-panel__explanation">{STATE_EXPLANATION[state]}</p>
            {latestStatus ? (
              <p className="state-panel__status">
                <span className="muted">Latest from the provider:</span> {latestStatus}
              </p>
            ) : null}
          </div>
          <Countdown expiresAt={job.status.expiresAt ?? null} running={state === 'RUNNING'} />
        </section>
        <section className="panel actions-panel" aria-label="Actions">
          <JobActions job={job} />
        </section>
      </div>
      <ConnectedJobs job={job} />
      <JobOutput job={job} buffer={output} />
      <div className="job-detail__grid job-detail__grid--bottom">
        <section className="panel" aria-labelledby="timeline-title">
          <h2 id="timeline-title" className="panel__title">
            Timeline
          </h2>
          <Timeline job={job} />
        </section>
        <Parameters job={job} />
      </div>
    </section>
  );
}
