/* The browser's Notification API, behind a seam so tests and browsers without it behave the same. */

export type DesktopPermission = NotificationPermission | 'unsupported';

export function desktopPermission(): DesktopPermission {
  return typeof window !== 'undefined' && 'Notification' in window ? window.Notification.permission : 'unsupported';
}

export async function requestDesktopPermission(): Promise<DesktopPermission> {
  if (desktopPermission() === 'unsupported') return 'unsupported';
  try {
    return await window.Notification.requestPermission();
  } catch {
    return desktopPermission();
  }
}

/** Shows a system notification; clicking it focuses the tab and runs `onClick`. One `tag` replaces the last of it. */
export function showDesktopNotification(n: { title: string; body: string; tag: string }, onClick: () => void): boolean {
  if (desktopPermission() !== 'granted') return false;
  try {
    // `tag` lets the system replace rather than stack: the same event from two tabs, or a group that grew.
    const shown = new window.Notification(n.title, { body: n.body, tag: n.tag });
    shown.onclick = () => {
      window.focus();
      onClick();
      shown.close();
    };
    return true;
  } catch {
    // Some platforms only allow notifications from a service worker; the panel still has it.
    return false;
  }
}
