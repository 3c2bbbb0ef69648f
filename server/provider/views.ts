import type { Db } from '../db/index';
import type { JobState } from '../../contract/jobs';
import type { ExecutionBackend, IsolationView } from './execution';
import { ACTIVE_STATES_SQL, type ExampleJobRow } from './job-state';
import { isActiveState } from '../../contract/constants';

/** What the built-in provider shows of a job: its firewall (contract §5) and its own view (operators, tests). */

export interface FirewallView {
  jobId: string;
  /** Jobs allowed to open connections to this one, and the hostname they reach it under. */
  allowsFrom: { jobId: string; hostname: string }[];
  /** Hostnames that resolve, inside this job, to the given job. */
  resolves: { hostname: string; jobId: string }[];
  /** Extension: whether these rules are enforced by a firewall ('network-namespace') or only recorded ('none'). */
  isolation: IsolationView;
}

export interface ProviderJobView {
  jobId: string;
  owner: string;
  state: JobState;
  status: string | null;
  timeAllocationMs: number | null;
  startedAt: number | null;
  expiresAt: number | null;
  peers: { hostname: string; jobId: string }[];
  /** The job's main process on this machine while it runs (real execution only). */
  pid: number | null;
  /** Its network address, when it runs in a namespace of its own. */
  address: string | null;
  isolation: IsolationView;
  /** The limits in force, in words. */
  limits: string | null;
}

export async function firewallView(db: Db, backend: ExecutionBackend, jobId: string): Promise<FirewallView | null> {
  const [job] = await db.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
  if (!job) return null;
  const isolation = backend.isolationOf(job);
  if (!isActiveState(job.state)) return { jobId, allowsFrom: [], resolves: [], isolation };
  // Deny by default: a rule exists only for a link whose both ends are still active.
  const allowsFrom = await db.query<{ jobId: string; hostname: string }>(
    `SELECT p.job_id AS "jobId", p.hostname FROM example_peers p JOIN example_jobs a ON a.job_id = p.job_id
     WHERE p.peer_job_id = $1 AND a.state IN ${ACTIVE_STATES_SQL} ORDER BY p.job_id, p.hostname`,
    [jobId],
  );
  const resolves = await db.query<{ hostname: string; jobId: string }>(
    `SELECT p.hostname, p.peer_job_id AS "jobId" FROM example_peers p JOIN example_jobs b ON b.job_id = p.peer_job_id
     WHERE p.job_id = $1 AND b.state IN ${ACTIVE_STATES_SQL} ORDER BY p.hostname`,
    [jobId],
  );
  return { jobId, allowsFrom, resolves, isolation };
}

export async function jobView(db: Db, backend: ExecutionBackend, jobId: string): Promise<ProviderJobView | null> {
  const [row] = await db.query<ExampleJobRow>(`SELECT * FROM example_jobs WHERE job_id = $1`, [jobId]);
  if (!row) return null;
  const peers = await db.query<{ hostname: string; jobId: string }>(
    `SELECT hostname, peer_job_id AS "jobId" FROM example_peers WHERE job_id = $1 ORDER BY hostname`,
    [jobId],
  );
  return {
    jobId,
    owner: row.owner,
    state: row.state,
    status: row.status,
    timeAllocationMs: row.time_allocation_ms,
    startedAt: row.started_at,
    expiresAt: row.started_at !== null && row.time_allocation_ms !== null ? row.started_at + row.time_allocation_ms : null,
    peers,
    pid: row.state === 'RUNNING' ? row.pid : null,
    address: row.isolation === 'network-namespace' ? row.address : null,
    isolation: backend.isolationOf(row),
    limits: row.limits,
  };
}
