import { useQueries } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { peersOf } from '@/api/job-cache';
import { jobsQueries } from '@/api/jobs';
import type { Job } from '@/api/types';
import { StateBadge } from '@/components/state-badge';
import { Countdown } from '@/features/jobs/detail/countdown';
import { FINAL_STATES, formatDateTime, isoString, STATE_EXPLANATION } from '@/lib/format';
import { endedAt, isTerminated, stateLabel, formatSpan } from '@/lib/job-facts';

const TERMINATED_EXPLANATION = 'The job was terminated: it was stopped on request before it finished on its own.';

/** A finished job: how long it ran and when it ended (its expiry is of no interest any more). */
function Finished({ job }: { job: Job }) {
  const end = endedAt(job);
  const start = job.status.startedAt ?? null;
  return (
    <div className="countdown">
      <p className="countdown__value">{start !== null && end !== null ? formatSpan(end - start) : start === null ? 'Never started' : '—'}</p>
      <p className="countdown__label">
        {start !== null && end !== null ? 'ran · ' : ''}
        {end !== null ? (
          <>
            ended <time dateTime={isoString(end)}>{formatDateTime(end)}</time>
          </>
        ) : (
          'ended'
        )}
      </p>
    </div>
  );
}

/** A running job that connects to a job that has ended can no longer reach it: say so where its state is. */
function EndedPeers({ job }: { job: Job }) {
  const peers = peersOf(job);
  const results = useQueries({ queries: peers.map((p) => ({ ...jobsQueries.detail(p.jobId), retry: false })) });
  if (job.status.state !== 'RUNNING') return null;
  const ended = peers.flatMap((p, i) => {
    const peer = results[i]?.data;
    return peer && FINAL_STATES.has(peer.status.state) ? [{ ...p, peer }] : [];
  });
  if (ended.length === 0) return null;
  return (
    <div className="callout callout--warning state-panel__peers">
      {ended.map(({ hostname, jobId, peer }) => (
        <p key={`${hostname}-${jobId}`}>
          It can no longer reach <span className="mono">{hostname}</span>:{' '}
          <Link to={`/jobs/${encodeURIComponent(jobId)}`}>
            {peer.specification.name || peer.specification.application.name} #{jobId}
          </Link>{' '}
          has ended.
        </p>
      ))}
    </div>
  );
}

export function StateCard({ job }: { job: Job }) {
  const state = job.status.state;
  const latestStatus = [...job.updates].reverse().find((u) => u.status)?.status ?? null;
  const terminated = isTerminated(job);
  return (
    <section className="panel state-panel" aria-labelledby="state-title">
      <h2 id="state-title" className="visually-hidden">
        State
      </h2>
      <div className="state-panel__main">
        <StateBadge state={state} label={stateLabel(job)} />
        <p className="state-panel__explanation">{terminated ? TERMINATED_EXPLANATION : STATE_EXPLANATION[state]}</p>
        {latestStatus ? (
          <p className="state-panel__status">
            <span className="muted">Latest from the provider:</span> {latestStatus}
          </p>
        ) : null}
        <EndedPeers job={job} />
      </div>
      {FINAL_STATES.has(state) ? <Finished job={job} /> : <Countdown expiresAt={job.status.expiresAt ?? null} running={state === 'RUNNING'} />}
    </section>
  );
}
