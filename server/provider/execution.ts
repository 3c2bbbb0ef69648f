import type { Job } from '../../contract/jobs';
import type { ExampleJobRow } from './job-state';
import type { LocalBackend } from './local/backend';

/** How a job's firewall is enforced: by its own namespace, not at all (no privileges), or only simulated. */
export type IsolationView = 'network-namespace' | 'none' | 'simulated';

/**
 * What runs the built-in provider's jobs. The provider's API and its clock (clock.ts) move jobs through their
 * states; a backend is what a state means on the machine: `local` (local/execution.ts, the default) runs each job
 * as a real process, `simulator` (simulator.ts, for tests and benchmarks) runs nothing and lets timers decide.
 */
export interface ExecutionBackend {
  readonly kind: 'local' | 'simulator';
  /** Whether the clock starts a queued job when its queue delay is over (simulator), or the backend does (local). */
  readonly startsOnTimer: boolean;
  /** Whether a job of this application ends by itself on a timer (the simulator's batch applications). */
  finishesOnTimer(application: string): boolean;
  /** The local backend while it runs jobs (operators, the interface proxy, tests); null otherwise. */
  readonly local: LocalBackend | null;
  /** New jobs were accepted into the queue. */
  accepted(jobs: Job[]): void;
  start(): Promise<void>;
  /** First half of stop: starts no new work. The provider then waits for its own work in flight, then close(). */
  beginStop(): void;
  close(): Promise<void>;
  /** One turn of the provider's loop, after the clock's transitions. */
  turn(): Promise<void>;
  /** Stops a job's process (terminate, expiry); its end is recorded once it has exited. */
  stopJob(jobId: string): void;
  /** Kills the process of a job the provider has forgotten. */
  forget(jobId: string, slot: number | null): Promise<void>;
  isolationOf(row: ExampleJobRow): IsolationView;
}
