import { create } from 'zustand';

/*
 * Whether Jobdeck's server answers at all: client state, set by every call that fails to reach it (a network error,
 * or a gateway's 502/503/504) and cleared by any answer. The shell shows an outage notice from it and probes for the
 * server's return; pages keep showing what they last loaded, marked as possibly out of date.
 */

interface ReachabilityState {
  /** When the first failing call of this outage happened; null while the server answers. */
  unreachableSince: number | null;
}

const useReachabilityStore = create<ReachabilityState>(() => ({ unreachableSince: null }));

export const useServerUnreachableSince = (): number | null => useReachabilityStore((s) => s.unreachableSince);

export function isServerUnreachable(): boolean {
  return useReachabilityStore.getState().unreachableSince !== null;
}

export function serverUnreachable(now: number = Date.now()): void {
  if (useReachabilityStore.getState().unreachableSince === null) useReachabilityStore.setState({ unreachableSince: now });
}

export function serverAnswered(): void {
  if (useReachabilityStore.getState().unreachableSince !== null) useReachabilityStore.setState({ unreachableSince: null });
}

// Offline, the server cannot be reached, and the browser says so before any call fails: a page showing fresh cached
// data would otherwise ask nothing, and say nothing. Back online, the outage notice's probe or any call's answer ends it.
if (typeof window !== 'undefined') window.addEventListener('offline', () => serverUnreachable());

/** A gateway in front of Jobdeck answers these while Jobdeck itself is down. */
export function isGatewayDown(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}
