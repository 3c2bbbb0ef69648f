import { JobsListenRequest } from '../../contract/socket';
import type { EventBus, JobEvent } from '../live/bus';
import type { LiveCall, LiveStream } from '../live/call-registry';
import { StreamIndex } from '../live/stream-index';

/** `jobs.listen` (extension, contract §7): `{job}` on every change of any of the caller's jobs. */
export class JobsListenCall implements LiveCall<typeof JobsListenRequest> {
  readonly payload = JobsListenRequest;
  private readonly byOwner = new StreamIndex();
  private readonly entries = new Map<LiveStream, { readonly stream: LiveStream }>();
  private readonly unsubscribe: () => void;

  constructor(bus: EventBus) {
    this.unsubscribe = bus.subscribe((event) => {
      if (event.kind === 'job') this.onJob(event);
    });
  }

  stop() {
    this.unsubscribe();
  }

  open(stream: LiveStream) {
    const entry = { stream };
    this.entries.set(stream, entry);
    this.byOwner.add(stream.principal.username, entry);
  }

  close(stream: LiveStream) {
    const entry = this.entries.get(stream);
    if (!entry) return;
    this.entries.delete(stream);
    this.byOwner.remove(stream.principal.username, entry);
  }

  private onJob(event: JobEvent) {
    const listeners = this.byOwner.get(event.owner);
    if (!listeners) return;
    // The job with the updates this change brought (not its whole history): enough for a list to read why the
    // state changed (a terminated job's SUCCESS says "Terminated by user"), small whatever the history's length.
    // Serialised once, whatever the number of listeners.
    const json = JSON.stringify({ job: { ...event.job, updates: event.updates } });
    for (const { stream } of listeners) stream.sendJson(json);
  }
}
