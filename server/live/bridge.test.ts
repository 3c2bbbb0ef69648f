import { describe, expect, it } from 'vitest';
import type { LiveEvent } from './bus';
import { MAX_PAYLOAD_BYTES, Reassembler, encodeEvents, packRecords, payloadNumbers } from './bridge';

const task = (n: number, message: string): LiveEvent => ({
  kind: 'task',
  owner: 'user',
  taskId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  update: { jobId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, messageToAppend: message, seq: n },
});

function encoder(origin: string) {
  let id = 0;
  return (events: LiveEvent[]) => encodeEvents(origin, () => ++id, events);
}

describe('NOTIFY payloads', () => {
  it('pack many small events into few payloads, each under the limit, and reassemble them in order', () => {
    const events = Array.from({ length: 300 }, (_, i) => task(i + 1, `line ${i + 1}`));
    const payloads = packRecords(encoder('a')(events));
    // About 200 bytes a record: hundreds of events, a handful of NOTIFYs.
    expect(payloads.length).toBeGreaterThan(1);
    expect(payloads.length).toBeLessThan(15);
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(MAX_PAYLOAD_BYTES + 1);
    const receiver = new Reassembler('b');
    expect(payloads.flatMap((p) => receiver.accept(p))).toEqual(events);
  });

  it('carry an event far over the limit, in multi-byte text, whole, between small ones', () => {
    const big = `${'ü€😀'.repeat(4000)}end`;
    const events = [task(1, 'before'), task(2, big), task(3, 'after')];
    const payloads = packRecords(encoder('a')(events));
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(8000);
    expect(payloads.length).toBeGreaterThanOrEqual(Math.ceil(Buffer.byteLength(big) / MAX_PAYLOAD_BYTES));
    const receiver = new Reassembler('b');
    expect(payloads.flatMap((p) => receiver.accept(p))).toEqual(events);
  });

  it('stay under the limit when a writer leaves some records out of their payloads', () => {
    // The status writer numbers records before its compare-and-set, then joins only those of the tasks written.
    const events = Array.from({ length: 120 }, (_, i) => task(i + 1, 'x'.repeat((i * 997) % 6000)));
    // As the writer does: each event's records (one, or several parts), then numbers over them all.
    const encode = encoder('a');
    const perEvent = events.map((e, i) => encode([e]).map((record) => ({ record, event: i })));
    const records = perEvent.flat();
    const numbers = payloadNumbers(records.map((r) => r.record));
    // Numbers only ever grow, so joining by number in number order keeps the encoding order.
    expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
    const dropped = (event: number) => event % 3 === 0;
    const joined = new Map<number, string[]>();
    records.forEach((r, i) => {
      if (!dropped(r.event)) joined.set(numbers[i]!, [...(joined.get(numbers[i]!) ?? []), r.record]);
    });
    for (const group of joined.values()) expect(Buffer.byteLength(group.join('\x1e'))).toBeLessThan(8000);
    const receiver = new Reassembler('b');
    expect([...joined.values()].flatMap((g) => receiver.accept(g.join('\x1e')))).toEqual(events.filter((_, i) => !dropped(i)));
  });

  it('are ignored by the process that sent them', () => {
    const payloads = packRecords(encoder('a')([task(1, 'mine'), task(2, 'mine too')]));
    const own = new Reassembler('a');
    expect(payloads.flatMap((p) => own.accept(p))).toEqual([]);
  });
});
