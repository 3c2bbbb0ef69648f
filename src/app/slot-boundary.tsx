import { Component, type ReactNode } from 'react';

/**
 * Around a lazily loaded part of the shell (tray, notifications, the narrow screen's menu): if its code cannot be
 * fetched (an outage when the screen turns narrow, say), the shell keeps standing with `fallback` in its place,
 * instead of the whole app giving way to an error page.
 */
export class SlotBoundary extends Component<{ fallback: ReactNode; children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override render() {
    return this.state.failed ? this.props.fallback : this.props.children;
  }
}
