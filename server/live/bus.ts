import type { Job, JobStatus, JobUpdate } from '../../contract/jobs';

/**
 * In-process publish/subscribe for live events. Writers publish after their transaction commits;
 * the socket hub subscribes and fans out. Cross-process delivery (LISTEN/NOTIFY) plugs in here.
 */
export type LiveEvent =
  | {
      kind: 'job';
      owner: string;
      provider: string;
      jobId: string;
      /** The job after the change, without its update history. */
      job: Job;
      /** The updates this change appended (for jobs.follow). */
      updates: JobUpdate[];
      newStatus: JobStatus;
    }
  | { kind: 'task'; owner: string; taskId: string; update: unknown };

type Listener = (event: LiveEvent) => void;

export class EventBus {
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
