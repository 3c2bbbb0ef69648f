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
  couldNotStart: (reason: string) => `The job could not be started: ${reason}`,
  exited: (code: number, lastError: string | null) =>
    code === 0 ? 'The program finished (exit code 0)' : `The program failed with exit code ${code}${lastError ? `: ${lastError}` : ''}`,
  killedBySignal: (signal: string, lastError: string | null) =>
    `The program was killed by signal ${signal}${lastError ? ` (its last error line: ${lastError})` : ''}`,
  processLost: () =>
    "The job's process is gone and no exit status was recorded (the machine may have restarted); the job has failed",
  isolation: (isolation: string, limits: string | null, reason: string | null) =>
    isolation === 'network-namespace'
      ? `Running in its own network namespace: incoming connections only from connected jobs. Limits: ${limits ?? 'none'}`
      : `Network isolation is OFF${reason ? ` (${reason})` : ''}: the job shares this machine's network, and any local process can connect to it. Limits: ${limits ?? 'none'}`,
  resynced: (state: string) => `Provider state re-synchronised after a restart: the job is ${state}`,
};
