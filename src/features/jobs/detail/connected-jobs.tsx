import { useQueries, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { isApiError } from '@/api/http';
import { peersOf } from '@/api/job-cache';
import { jobsQueries } from '@/api/jobs';
import type { Job } from '@/api/types';
import { ErrorMessage } from '@/components/error-message';
import { StateBadge } from '@/components/state-badge';
import { FINAL_STATES } from '@/lib/format';
import { stateLabel } from '@/lib/job-facts';
import { ConnectionGraph, type GraphNode } from '@/features/jobs/detail/connection-graph';

function PeerState({ peer, selfRunning }: { peer: Job | undefined; selfRunning: boolean }) {
  if (!peer) return null;
  const gone = FINAL_STATES.has(peer.status.state);
  return (
    <span className="peer-state">
      <StateBadge state={peer.status.state} label={stateLabel(peer)} />
      {gone && selfRunning ? <span className="peer-state__gone">No longer running</span> : null}
    </span>
  );
}

/** Both directions of "Connect to job": the jobs this one reaches, and the jobs that reach it. */
export function ConnectedJobs({ job }: { job: Job }) {
  const forward = peersOf(job);
  const peers = useQueries({ queries: forward.map((p) => ({ ...jobsQueries.detail(p.jobId), retry: false })) });
  const reverse = useQuery(jobsQueries.connected(job.id));
  const selfRunning = job.status.state === 'RUNNING';
  const nameOf = (j: Job) => j.specification.name || j.specification.application.name;
  const reaches: GraphNode[] = forward.map((p, i) => {
    const peer = peers[i]?.data;
    return { id: p.jobId, hostname: p.hostname, name: peer ? nameOf(peer) : `Job ${p.jobId}`, ended: peer ? FINAL_STATES.has(peer.status.state) : false };
  });
  const reachedBy: GraphNode[] = (reverse.data?.items ?? []).map(({ hostname, job: other }) => ({
    id: other.id,
    hostname,
    name: nameOf(other),
    ended: FINAL_STATES.has(other.status.state),
  }));

  return (
    <section className="panel" aria-labelledby="connected-title">
      <h2 id="connected-title" className="panel__title">
        Connected jobs
      </h2>
      <ConnectionGraph self={{ id: job.id, name: nameOf(job), ended: FINAL_STATES.has(job.status.state) }} reaches={reaches} reachedBy={reachedBy} />
      <div className="connected-grid">
        <div>
          <h3 className="connected-grid__title">This job connects to</h3>
          {forward.length === 0 ? (
            <p className="muted">No connections. Use “Connect to job” when launching to reach another job.</p>
          ) : (
            <ul className="peer-list">
              {forward.map((p, i) => {
                const q = peers[i];
                const peer = q?.data;
                const name = peer ? peer.specification.name || peer.specification.application.name : `Job ${p.jobId}`;
                return (
                  <li key={`${p.hostname}-${p.jobId}`} className="peer-list__item">
                    <span className="peer-list__host mono" title="Hostname inside this job">
                      {p.hostname}
                    </span>
                    <span aria-hidden="true" className="peer-list__arrow">
                      →
                    </span>
                    <Link to={`/jobs/${encodeURIComponent(p.jobId)}`}>
                      {name} <span className="mono muted">#{p.jobId}</span>
                    </Link>
                    {q?.isError ? (
                      <span className="muted">{isApiError(q.error) && q.error.status === 404 ? 'No longer available' : 'State unknown'}</span>
                    ) : (
                      <PeerState peer={peer} selfRunning={selfRunning} />
                    )}
                  </li>
                );
              })}
            </ul>
          )}
        </div>
        <div>
          <h3 className="connected-grid__title">Connected to this job</h3>
          {reverse.isPending ? <p className="muted">Loading…</p> : null}
          {reverse.isError ? <ErrorMessage error={reverse.error} title="Could not load the jobs connected to this one" /> : null}
          {reverse.isSuccess && reverse.data.items.length === 0 ? <p className="muted">No job connects to this one.</p> : null}
          {reverse.isSuccess && reverse.data.items.length > 0 ? (
            <ul className="peer-list">
              {reverse.data.items.map(({ hostname, job: other }) => (
                <li key={`${other.id}-${hostname}`} className="peer-list__item">
                  <Link to={`/jobs/${encodeURIComponent(other.id)}`}>
                    {other.specification.name || other.specification.application.name}{' '}
                    <span className="mono muted">#{other.id}</span>
                  </Link>
                  <span className="muted">
                    as <span className="mono">{hostname}</span>
                  </span>
                  <PeerState peer={other} selfRunning={selfRunning} />
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      </div>
    </section>
  );
}
