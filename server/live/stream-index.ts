import type { LiveStream } from './call-registry';

/** A call's open streams by key (a username, a job id), so an event reaches only the streams it is for. */
export class StreamIndex<T extends { readonly stream: LiveStream } = { readonly stream: LiveStream }> {
  private readonly byKey = new Map<string, Set<T>>();

  add(key: string, entry: T) {
    const set = this.byKey.get(key);
    if (set) set.add(entry);
    else this.byKey.set(key, new Set([entry]));
  }

  remove(key: string, entry: T) {
    const set = this.byKey.get(key);
    if (!set) return;
    set.delete(entry);
    if (set.size === 0) this.byKey.delete(key);
  }

  get(key: string): ReadonlySet<T> | undefined {
    return this.byKey.get(key);
  }
}
