import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { isApiError } from '@/api/http';
import { jobsQueries } from '@/api/jobs';
import { useFollowJob } from '@/api/live/hooks';
import { useServerUnreachableSince } from '@/api/reachability';
import type { Job } from '@/api/types';
import { ErrorMessage } from '@/components/error-message';
import { PageHeader } from '@/components/page-header';
import { Loading } from '@/components/spinner';
import { StateBadge } from '@/components/state-badge';
import { ConnectedJobs } from '@/features/jobs/detail/connected-jobs';
import { JobActions, useJobProduct } from '@/features/jobs/detail/job-actions';
import { StateCard } from '@/features/jobs/detail/state-card';
import { useStateAnnouncement } from '@/features/jobs/detail/use-state-announcement';
import { formatDateTime, formatDuration, formatParameterValue, formatTime, isoString } from '@/lib/format';
import { allocationMs, formatSpan, stateLabel, updateLabel } from '@/lib/job-facts';
import '@/features/jobs/detail/job-detail.css';
import { jobTitle, useDocumentStatus } from '@/lib/document-status';
import { JobOutput } from '@/features/jobs/detail/job-output';
import { OutputBuffer } from '@/features/jobs/detail/output-buffer';

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
            {u.state ? <StateBadge state={u.state} label={updateLabel(u)} /> : null}
            {u.status ? <bdi className="user-text">{u.status}</bdi> : null}
            {u.newTimeAllocation != null ? (
              <span className="muted">Time allocation is now {formatSpan(u.newTimeAllocation)}</span>
            ) : null}
          </div>
        </li>
      ))}
    </ol>
  );
}

/** The allocation in force, and what it was before extensions: "25 h (asked for 1 h, extended by 24 h)". */
function allocationText(job: Job): string {
  const now = allocationMs(job);
  const asked = job.specification.timeAllocation ?? null;
  if (now === null) return asked ? formatDuration(asked) : 'The application’s default';
  const askedMs = asked ? ((asked.hours * 60 + asked.minutes) * 60 + asked.seconds) * 1000 : null;
  const extendedBy = askedMs !== null ? now - askedMs : null;
  if (askedMs === null) return `${formatSpan(now)} (the application’s default)`;
  return extendedBy && extendedBy > 0 ? `${formatSpan(now)} (asked for ${formatSpan(askedMs)}, extended by ${formatSpan(extendedBy)})` : formatSpan(now);
}

function Parameters({ job }: { job: Job }) {
  const entries = Object.entries(job.specification.parameters ?? {});
  const { product } = useJobProduct(job);
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
        <dd>
          <span className="mono">{job.specification.product.id}</span>
          {product ? <span className="muted"> · {product.description}</span> : null}
        </dd>
        <dt>Provider</dt>
        <dd className="mono">{job.specification.product.provider}</dd>
        <dt>Time allocation</dt>
        <dd>{allocationText(job)}</dd>
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

/** The job as last loaded, while the server cannot be reached (or its last refresh failed): say how old it is. */
function StaleMarker({ loadedAt }: { loadedAt: number }) {
  return (
    <p className="callout callout--warning job-detail__stale" data-testid="stale">
      Showing this job as it was at <time dateTime={isoString(loadedAt)}>{formatTime(loadedAt)}</time>: it
      could not be refreshed, so it may be out of date.
    </p>
  );
}

export default function JobDetailPage() {
  const { id = '' } = useParams();
  // The output shown on this page; every follow (a new job id, a reconnect) starts it afresh at its initialJob.
  const [output] = useState(() => new OutputBuffer());
  useEffect(() => output.reset(), [id, output]);
  useFollowJob(id, output);
  const query = useQuery(jobsQueries.detail(id));
  const unreachable = useServerUnreachableSince() !== null;
  const job = query.data;
  const announcement = useStateAnnouncement(job);
  const name = job ? job.specification.name || job.specification.application.name : null;
  const notFound = isApiError(query.error) && query.error.status === 404;
  useDocumentStatus(
    job && name ? jobTitle(name, stateLabel(job)) : notFound ? 'Job not found – Jobdeck' : query.isError ? 'Job – Jobdeck' : null,
    job?.status.state ?? null,
  );

  if (query.isPending) return <Loading label="Loading the job…" />;
  // A job already on screen stays there when a refresh fails (the server is down, say); only a job never loaded,
  // or one the server says is not there, gives way to the error.
  if (!job || notFound) {
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

  const title = job.specification.name || job.specification.application.name;
  const { product } = job.specification;

  return (
    <section className="page job-detail" aria-labelledby="job-title">
      <div aria-live="polite" aria-atomic="true" className="visually-hidden" data-testid="state-announcer">
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
        subtitle={`${job.specification.application.name} ${job.specification.application.version} on ${product.id}, at provider ${product.provider}`}
      />
      {query.isError || unreachable ? <StaleMarker loadedAt={query.dataUpdatedAt} /> : null}
      <div className="job-detail__grid">
        <StateCard job={job} />
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
