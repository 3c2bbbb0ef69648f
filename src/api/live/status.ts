import { create } from 'zustand';

/*
 * The state of the tab's one socket. Kept apart from the socket class so that query factories (polling only while
 * the socket is down) can read it without importing the live layer that imports them.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting';

const useConnectionStore = create<{ status: ConnectionStatus }>(() => ({ status: 'idle' }));

export function connectionChanged(status: ConnectionStatus): void {
  if (useConnectionStore.getState().status !== status) useConnectionStore.setState({ status });
}

export const useLiveStatus = (): ConnectionStatus => useConnectionStore((s) => s.status);

export function getLiveStatus(): ConnectionStatus {
  return useConnectionStore.getState().status;
}

/** True while the socket is down and being retried. */
export const useSocketReconnecting = (): boolean => useConnectionStore((s) => s.status === 'reconnecting');
