/**
 * Serialises a network's operations: those on one slot run one at a time, and the exclusive ones (claiming the
 * bridge and tables, cleaning leftovers, closing) run alone. Operations on different slots may overlap.
 */
export class Serial {
  #exclusive: Promise<void> = Promise.resolve();
  #running = new Set<Promise<void>>();
  #slots = new Map<number, Promise<void>>();

  slot<T>(slot: number, fn: () => Promise<T>): Promise<T> {
    const result = Promise.all([this.#exclusive, this.#slots.get(slot)]).then(fn);
    const done = result.then(
      () => {},
      () => {},
    );
    this.#slots.set(slot, done);
    this.#running.add(done);
    void done.then(() => {
      this.#running.delete(done);
      if (this.#slots.get(slot) === done) this.#slots.delete(slot);
    });
    return result;
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = Promise.all([this.#exclusive, ...this.#running]).then(fn);
    this.#exclusive = result.then(
      () => {},
      () => {},
    );
    return result;
  }
}
