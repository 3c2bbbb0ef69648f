import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { jobsQueries } from '@/api/jobs';
import type { Job } from '@/api/types';
import { STATE_LABEL } from '@/lib/format';
import { jobDisplayName } from '@/features/jobs/launch/validation';

interface EndedPeerProps {
  jobId: string;
  hostname: string;
  provider: string | null;
  onUse: (job: Job) => void;
}

/**
 * Run again with a connection whose job is no longer running: say which job it was (the picker cannot show it,
 * it lists running jobs only), and offer the newest running job of the same application on the same provider.
 */
export function EndedPeer({ jobId, hostname, provider, onUse }: EndedPeerProps) {
  const running = useQuery(jobsQueries.running());
  const ended = useQuery({ ...jobsQueries.detail(jobId), enabled: Boolean(jobId) });
  if (!jobId || !running.data || running.data.items.some((j) => j.id === jobId)) return null;
  const job = ended.data;
  const app = job?.specification.application.name;
  const replacement = app
    ? running.data.items
        .filter((j) => j.specification.application.name === app && (!provider || j.specification.product.provider === provider))
        .reduce<Job | null>((newest, j) => (!newest || j.createdAt > newest.createdAt ? j : newest), null)
    : null;
  return (
    <div className="callout callout--warning peer-ended" role="status">
      <p>
        The job this connected to as <code>{hostname || 'its peer'}</code>,{' '}
        <Link to={`/jobs/${encodeURIComponent(jobId)}`}>{job ? `${jobDisplayName(job)} (#${jobId})` : `job #${jobId}`}</Link>, is no longer
        running{job ? ` (${STATE_LABEL[job.status.state]})` : ''}.
      </p>
      {replacement ? (
        <button type="button" className="button button--secondary button--small" onClick={() => onUse(replacement)}>
          Connect to {jobDisplayName(replacement)} (#{replacement.id}) instead, the newest running {app} job
        </button>
      ) : app ? (
        <p>You have no running {app} job; start one, or pick another job.</p>
      ) : null}
    </div>
  );
}
