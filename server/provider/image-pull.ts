import crypto from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { TransportError, isSuccess, whyOf, type Transport } from './kit/transport';

/*
 * While a job waits in the queue, the provider "pulls its image" and reports it as a task owned by the job's
 * user (contract §5, tasks API §6): progress in MB, a download speed, a message per layer, then completion.
 * It goes through the core's tasks API over HTTP with the provider's own token, like everything else the
 * provider says. The pull is cosmetic: if the tasks API refuses or cannot be reached, the job runs anyway.
 */

export interface PullJob {
  jobId: string;
  owner: string;
  image: string;
}

export interface ImagePullOptions {
  core: Transport;
  token: string;
  log: FastifyBaseLogger;
  /** How long the whole pull takes (it fits in the queue delay). */
  durationMs: number;
  /** Progress updates per layer. */
  stepsPerLayer?: number;
}

interface Layer {
  digest: string;
  sizeMB: number;
}

/** The same image always has the same layers, so a job's pull looks the same every time. */
export function layersOf(image: string): Layer[] {
  const hash = crypto.createHash('sha256').update(image).digest();
  const count = 2 + (hash[0]! % 3);
  return Array.from({ length: count }, (_, i) => ({
    digest: crypto.createHash('sha256').update(`${image}#${i}`).digest('hex'),
    sizeMB: 5 + (hash[i + 1]! % 60),
  }));
}

export class ImagePuller {
  private stopped = false;
  private readonly wakers = new Set<() => void>();

  constructor(private readonly opts: ImagePullOptions) {}

  stop() {
    this.stopped = true;
    for (const wake of this.wakers) wake();
  }

  /** Pulls may start again (the provider's process became the leader again). */
  resume() {
    this.stopped = false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref?.();
      this.wakers.add(done);
    });
  }

  private async call(method: 'PUT' | 'POST', path: string, body: unknown): Promise<unknown> {
    const result = await this.opts.core(method, path, this.opts.token, JSON.stringify(body));
    if (!isSuccess(result.status)) throw new Error(`${method} ${path}: ${whyOf(result)}`);
    return result.body;
  }

  /** Reports the pull of one job's image; never throws. */
  async pull(job: PullJob): Promise<void> {
    try {
      await this.run(job);
    } catch (error) {
      const message = error instanceof TransportError ? `the core cannot be reached (${error.message})` : (error as Error).message;
      this.opts.log.warn({ jobId: job.jobId, error: message }, 'example provider: image pull not reported');
    }
  }

  private async run(job: PullJob) {
    const layers = layersOf(job.image);
    const totalMB = layers.reduce((sum, l) => sum + l.sizeMB, 0);
    const steps = this.opts.stepsPerLayer ?? 4;
    const pause = Math.max(0, this.opts.durationMs / (layers.length * steps + 1));
    const task = (await this.call('PUT', '/api/tasks', {
      title: `Pulling image ${job.image} for job ${job.jobId}`,
      owner: job.owner,
      initialStatus: `Resolving ${job.image}`,
    })) as { jobId: string };
    const post = (update: Record<string, unknown>) =>
      this.call('POST', '/api/tasks/postStatus', {
        update: { jobId: task.jobId, newTitle: null, speeds: [], progress: null, complete: false, messageToAppend: null, newStatus: null, ...update },
      });

    let doneMB = 0;
    for (const [i, layer] of layers.entries()) {
      for (let step = 1; step <= steps; step++) {
        await this.sleep(pause);
        if (this.stopped) return;
        const layerMB = Math.round((layer.sizeMB * step) / steps);
        const speed = Math.round((layer.sizeMB / steps / Math.max(pause, 1)) * 1000 * 10) / 10;
        await post({
          newStatus: `Downloading layer ${i + 1} of ${layers.length}`,
          progress: { title: `Layer ${i + 1} of ${layers.length}`, current: doneMB + layerMB, maximum: totalMB },
          speeds: [{ title: 'Download', speed, unit: 'MB/s', asText: `${speed} MB/s` }],
          messageToAppend: step === steps ? `Layer ${i + 1}/${layers.length} sha256:${layer.digest.slice(0, 12)} pulled (${layer.sizeMB} MB)` : null,
        });
      }
      doneMB += layer.sizeMB;
    }
    await post({
      newStatus: 'Image ready',
      progress: { title: 'Done', current: totalMB, maximum: totalMB },
      messageToAppend: `Image ${job.image} ready: ${totalMB} MB in ${layers.length} layers`,
    });
    await this.call('POST', '/api/tasks/markAsComplete', { id: task.jobId });
  }
}
