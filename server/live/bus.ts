import crypto from 'node:crypto';
import type { Job, JobStatus, JobUpdate } from '../../contract/jobs';
import type { TaskUpdate } from '../../contract/tasks';

/**
 * In-process publish/subscribe for live events. Writers publish after their transaction commits; the
 * socket hub subscribes and fans out. On PostgreSQL a bridge (./bridge.ts) carries events between
 * server processes over LISTEN/NOTIFY.
 */
export interface JobEvent {
  kind: 'job';
  owner: string;
  provider: string;
  jobId: string;
  /** The job after the change, without its update history. */
  job: Job;
  /** The updates this change appended (for jobs.follow, and the job of a jobs.listen message). */
  updates: JobUpdate[];
  newStatus: JobStatus;
}

export interface TaskEvent {
  kind: 'task';
  owner: string;
  taskId: string;
  /** As listeners receive it, seq included. */
  update: TaskUpdate;
}

export type LiveEvent = JobEvent | TaskEvent;

type Listener = (event: LiveEvent) => void;

/** How events leave this process; set by the bridge when the database is a shared PostgreSQL. */
export interface CrossProcess {
  /** The NOTIFY channel. */
  readonly channel: string;
  /** Records for pg_notify, each under PostgreSQL's 8000-byte limit (bridge.ts). */
  encode(events: LiveEvent[]): string[];
  /**
   * For a writer that sends records in its own transaction: which payload each record goes into (records with the
   * same number, joined by `separator`, fit one NOTIFY; leaving some out only shortens it).
   */
  payloadNumbers(records: string[]): number[];
  readonly separator: string;
  /** Sends events that were not already sent by their writer. */
  send(events: LiveEvent[]): void;
}

export interface PublishOptions {
  /** The writer already carried the event to other processes (NOTIFY inside its transaction). */
  shared?: boolean;
}

export class EventBus {
  /** Tells this process's own NOTIFYs apart from other processes', so nothing is delivered twice here. */
  readonly origin = crypto.randomBytes(8).toString('hex');
  crossProcess: CrossProcess | null = null;
  /** Replaced with the app's logger once it exists. */
  onListenerError: (error: unknown) => void = (error) => console.error('live event listener failed', error);
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An event that happened in this process: local listeners, then other processes. */
  publish(event: LiveEvent, options: PublishOptions = {}): void {
    this.deliver(event);
    if (!options.shared) this.crossProcess?.send([event]);
  }

  /** An event from another process (or already shared): local listeners only. */
  deliver(event: LiveEvent): void {
    for (const listener of this.listeners) {
      // One faulty listener must not cost the others their events, nor the writer its reply.
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
