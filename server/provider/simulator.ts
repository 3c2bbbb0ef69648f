import type { FastifyBaseLogger } from 'fastify';
import type { Job } from '../../contract/jobs';
import type { ExecutionBackend } from './execution';
import { ImagePuller } from './image-pull';
import type { Transport } from './kit/transport';

/*
 * The `simulator` backend (JOBDECK_EXAMPLE_BACKEND=simulator), for tests and benchmarks of everything around the
 * provider: nothing runs. The clock starts a queued job after its queue delay, a batch application finishes after
 * JOBDECK_EXAMPLE_BATCH_MS, and while a job waits its invented image pull is reported as a task of its user.
 */

export interface SimulatorOptions {
  /** Applications that finish on their own with SUCCESS; everything else is a service. */
  batchApplications?: string[];
  /** Report each new job's image pull as a task of its user, during its queue delay. */
  imagePull?: boolean;
  queueDelayMs: number;
  core: Transport;
  token: string;
  log: FastifyBaseLogger;
  /** Runs work in the background, waited for when the provider stops. */
  track: (work: Promise<unknown>) => void;
}

export class SimulatorBackend implements ExecutionBackend {
  readonly kind = 'simulator';
  readonly startsOnTimer = true;
  readonly local = null;
  private readonly batchApps: Set<string>;
  private readonly puller: ImagePuller | null;
  private running = false;

  constructor(private readonly opts: SimulatorOptions) {
    this.batchApps = new Set(opts.batchApplications ?? ['acme-batch']);
    this.puller = opts.imagePull
      ? new ImagePuller({ core: opts.core, token: opts.token, log: opts.log, durationMs: opts.queueDelayMs * 0.8 })
      : null;
  }

  finishesOnTimer(application: string): boolean {
    return this.batchApps.has(application);
  }

  accepted(jobs: Job[]): void {
    if (!this.puller || !this.running) return;
    for (const job of jobs) {
      const { name, version } = job.specification.application;
      this.opts.track(this.puller.pull({ jobId: job.id, owner: job.owner.createdBy, image: `${name}:${version}` }));
    }
  }

  async start(): Promise<void> {
    this.running = true;
    this.puller?.resume();
  }

  beginStop(): void {
    this.running = false;
    this.puller?.stop();
  }

  async close(): Promise<void> {}

  async turn(): Promise<void> {}

  /** A simulated job has no process: it is ended at once (see ExampleProvider.terminate). */
  stopJob(): void {}

  async forget(): Promise<void> {}

  isolationOf(): 'simulated' {
    return 'simulated';
  }
}
