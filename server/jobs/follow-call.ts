import type { FastifyBaseLogger } from 'fastify';
import { isFinalState, type Job } from '../../contract/jobs';
import { JobsFollowRequest } from '../../contract/socket';
import { HttpError } from '../http/errors';
import type { EventBus } from '../live/bus';
import type { LiveCall, LiveStream } from '../live/call-registry';
import { StreamIndex } from '../live/stream-index';
import { DEFAULT_TAIL_LIMITS, OutputTail, type OutputFiles, type TailLimits } from './output-tail';

interface Follower {
  readonly stream: LiveStream;
  readonly jobId: string;
  /** How many of the job's updates the client has; -1 before the initial job. */
  cursor: number;
  /** A read is under way; `dirty`: an event came meanwhile, so read once more. */
  busy: boolean;
  dirty: boolean;
  tail: OutputTail | null;
}

export interface JobsFollowSources {
  /** The caller's job with its updates, or an HttpError (404 for someone else's). */
  retrieveJob: (owner: string, id: string) => Promise<Job>;
  /** Where a job's output files are on this machine (its provider's), or null when it has none to follow. */
  outputOf: (job: Job) => OutputFiles | null;
  log: FastifyBaseLogger;
  tailLimits?: TailLimits;
}

/**
 * `jobs.follow` (contract §7): `{initialJob}`, then `{updates, newStatus}` as updates land, and the job's output as
 * UCloud's `{updates: [], log, newStatus: null}`. A socket's oldest follow makes room for a new call when the
 * socket is full (`displaceable`): the envelope has no cancel call, and a client that follows job after job
 * never closes the old follows.
 */
export class JobsFollowCall implements LiveCall<typeof JobsFollowRequest> {
  readonly payload = JobsFollowRequest;
  readonly displaceable = true;
  private readonly byJob = new StreamIndex<Follower>();
  private readonly byStream = new Map<LiveStream, Follower>();
  private readonly unsubscribe: () => void;
  private readonly tailLimits: TailLimits;

  constructor(bus: EventBus, private readonly sources: JobsFollowSources) {
    this.tailLimits = sources.tailLimits ?? DEFAULT_TAIL_LIMITS;
    this.unsubscribe = bus.subscribe((event) => {
      if (event.kind !== 'job') return;
      for (const follower of this.byJob.get(event.jobId) ?? []) void this.refresh(follower);
    });
  }

  stop() {
    this.unsubscribe();
  }

  async open(stream: LiveStream, { id }: JobsFollowRequest) {
    const follower: Follower = { stream, jobId: id, cursor: -1, busy: false, dirty: false, tail: null };
    this.byStream.set(stream, follower);
    // Registered before the first read: nothing that lands meanwhile is missed.
    this.byJob.add(id, follower);
    await this.refresh(follower);
  }

  close(stream: LiveStream) {
    const follower = this.byStream.get(stream);
    if (!follower) return;
    this.byStream.delete(stream);
    follower.tail?.stop();
    this.byJob.remove(follower.jobId, follower);
  }

  /**
   * No gap and no duplicate: every event only triggers a re-read from the database, sending the updates past
   * what the client already has. Job update histories are append-only, so "what the client has" is just a count.
   * Reads for one stream never overlap; events that arrive during a read cause one more read.
   */
  private async refresh(follower: Follower) {
    const stream = follower.stream;
    if (follower.busy) {
      follower.dirty = true;
      return;
    }
    follower.busy = true;
    try {
      do {
        follower.dirty = false;
        let job: Job;
        try {
          job = await this.sources.retrieveJob(stream.principal.username, follower.jobId);
        } catch (error) {
          if (error instanceof HttpError) stream.end(error.statusCode, error.why);
          else this.sources.log.error({ err: error }, 'jobs.follow: reading the job failed');
          return;
        }
        if (stream.closed) return;
        if (follower.cursor < 0) {
          stream.send({ initialJob: job });
          this.startTail(follower, job);
        } else if (job.updates.length > follower.cursor) {
          stream.send({ updates: job.updates.slice(follower.cursor), newStatus: job.status });
        }
        follower.cursor = job.updates.length;
        if (isFinalState(job.status.state)) follower.tail?.finish();
      } while (follower.dirty && !stream.closed);
    } finally {
      follower.busy = false;
    }
  }

  /** The job's output, from its start, as `log` messages after the initial job (UCloud's JobsFollowResponse). */
  private startTail(follower: Follower, job: Job) {
    const files = this.sources.outputOf(job);
    if (!files) return;
    const stream = follower.stream;
    const tail = new OutputTail(
      files,
      (log) => {
        if (!stream.closed) stream.send({ updates: [], log, newStatus: null });
      },
      // At most one chunk waits in the socket's buffer: a slow reader makes the tail skip ahead, not queue.
      () => !stream.closed && stream.bufferedBytes < this.tailLimits.chunkBytes,
      this.tailLimits,
    );
    follower.tail = tail;
    tail.start();
  }
}
