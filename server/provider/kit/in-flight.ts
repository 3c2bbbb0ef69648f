/**
 * Background work of a component (deliveries, timers' turns), so that stop() can wait for it: a component that
 * returns from stop() while a delivery still runs would write to a database that is closing.
 */
export class InFlight {
  private readonly work = new Set<Promise<unknown>>();

  /** `onError` hears of a failure of tracked work; tracking never throws. */
  constructor(private readonly onError: (error: unknown) => void) {}

  track(work: Promise<unknown>): void {
    const tracked = work.catch(this.onError);
    this.work.add(tracked);
    void tracked.finally(() => this.work.delete(tracked));
  }

  get size(): number {
    return this.work.size;
  }

  /** Resolves when the work in flight now has ended; work started meanwhile is not waited for. */
  async current(): Promise<void> {
    await Promise.all([...this.work]);
  }

  /** Resolves when nothing is in flight, including work started while waiting. */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work]);
  }
}
