/** The status lines the built-in provider reports; each is read by a person on the job's timeline. */

export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts = [h ? `${h} h` : '', m ? `${m} min` : '', s || total === 0 ? `${s} s` : ''].filter(Boolean);
  return parts.join(' ');
}

const allocation = (ms: number | null) => (ms === null ? 'no time limit' : `a time allocation of ${formatDuration(ms)}`);

export const text = {
  started: (productId: string, allocationMs: number | null) =>
    `Started on machine type '${productId}' with ${allocation(allocationMs)}`,
  connected: (peerJobId: string, hostname: string) => `Connected to job ${peerJobId} as '${hostname}'`,
  peerNotRunning: (peerJobId: string, hostname: string) =>
    `Could not connect to job ${peerJobId} as '${hostname}': that job is no longer running`,
  peerGone: (peerJobId: string, hostname: string, state: string) =>
    `Peer '${hostname}' is gone: job ${peerJobId} has ended (${state}), so '${hostname}' no longer resolves`,
  finished: () => 'The batch job finished successfully',
  expired: (allocationMs: number) => `Time allocation of ${formatDuration(allocationMs)} used up; the job has expired`,
  expiredWhileDown: (allocationMs: number, at: number) =>
    `Time allocation of ${formatDuration(allocationMs)} ran out at ${new Date(at).toISOString()} while the provider was offline; the job has expired`,
  terminated: () => 'Terminated by user',
  extended: (byMs: number, totalMs: number) =>
    `Time allocation extended by ${formatDuration(byMs)}, to ${formatDuration(totalMs)} in total`,
  unknown: () => 'Your job is no longer available',
  resynced: (state: string) => `Provider state re-synchronised after a restart: the job is ${state}`,
};
