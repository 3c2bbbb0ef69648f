import type { Db } from '../db/index';
import type { CrossProcess, EventBus, LiveEvent } from './bus';

export const LIVE_CHANNEL = 'jobdeck_live';

/*
 * Wire format. One record is `<origin>|<message id>|<part>|<parts>|<JSON text part>`: PostgreSQL refuses payloads of
 * 8000 bytes or more, and a job event (a whole Job) or a task update with a long message can be larger, so an event
 * is cut into parts. A UTF-16 unit is at most 3 UTF-8 bytes (a surrogate pair is 4 bytes for 2 units), so 2500
 * units stay under 7500 bytes plus a short header. One payload carries as many whole records as fit, separated by
 * U+001E, which JSON.stringify never writes unescaped: each NOTIFY costs the sender's transaction and every
 * listener's connection about the same whatever its size, so a batch of small task updates goes out as one or a
 * few. All payloads of one batch are sent by one statement in one transaction, so they arrive together and in
 * order; the receiver still reassembles parts by id.
 */
const PART_UNITS = 2500;
const MAX_PENDING = 256;
const RECORD_SEPARATOR = '\x1e';
/** Under PostgreSQL's 8000-byte limit; the largest record (2500 units of 3 bytes, and its header) fits alone. */
export const MAX_PAYLOAD_BYTES = 7990;

export function encodeEvents(origin: string, nextId: () => number, events: LiveEvent[]): string[] {
  const out: string[] = [];
  for (const event of events) {
    const text = JSON.stringify(event);
    const id = nextId();
    const parts: string[] = [];
    for (let at = 0; at < text.length; ) {
      let end = Math.min(at + PART_UNITS, text.length);
      // Never split a surrogate pair across two payloads.
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
      parts.push(text.slice(at, end));
      at = end;
    }
    parts.forEach((part, i) => out.push(`${origin}|${id}|${i}|${parts.length}|${part}`));
  }
  return out;
}

/**
 * Which payload each record goes into, greedily in order: records with the same number, joined by U+001E, stay
 * under MAX_PAYLOAD_BYTES. Leaving records out of a payload (a writer whose compare-and-set failed for some tasks)
 * only makes it shorter.
 */
export function payloadNumbers(records: string[]): number[] {
  const numbers: number[] = [];
  let current = 0;
  let bytes = -1;
  for (const record of records) {
    const size = Buffer.byteLength(record) + 1;
    if (bytes >= 0 && bytes + size > MAX_PAYLOAD_BYTES) {
      current += 1;
      bytes = -1;
    }
    bytes += size;
    numbers.push(current);
  }
  return numbers;
}

/** Records joined into payloads as payloadNumbers groups them. */
export function packRecords(records: string[]): string[] {
  const numbers = payloadNumbers(records);
  const payloads: string[] = [];
  records.forEach((record, i) => {
    const n = numbers[i]!;
    payloads[n] = payloads[n] === undefined ? record : payloads[n] + RECORD_SEPARATOR + record;
  });
  return payloads;
}

/** Reassembles payloads into events; ignores this process's own (they were delivered locally already). */
export class Reassembler {
  private readonly pending = new Map<string, { parts: string[]; got: number }>();

  constructor(private readonly ownOrigin: string) {}

  /** The events whose last part a payload completes, in the order sent. */
  accept(payload: string): LiveEvent[] {
    const events: LiveEvent[] = [];
    for (const record of payload.split(RECORD_SEPARATOR)) {
      const event = this.acceptRecord(record);
      if (event) events.push(event);
    }
    return events;
  }

  private acceptRecord(record: string): LiveEvent | null {
    const fields: string[] = [];
    let at = 0;
    for (let i = 0; i < 4; i++) {
      const bar = record.indexOf('|', at);
      if (bar < 0) return null;
      fields.push(record.slice(at, bar));
      at = bar + 1;
    }
    const [origin, id, partText, countText] = fields as [string, string, string, string];
    if (origin === this.ownOrigin) return null;
    const part = Number(partText);
    const count = Number(countText);
    const body = record.slice(at);
    if (count === 1) return parse(body);

    const key = `${origin}|${id}`;
    let entry = this.pending.get(key);
    if (!entry) {
      // Parts lost to a dropped LISTEN connection would otherwise stay here forever.
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
      entry = { parts: new Array<string>(count), got: 0 };
      this.pending.set(key, entry);
    }
    if (entry.parts[part] === undefined) {
      entry.parts[part] = body;
      entry.got += 1;
    }
    if (entry.got < count) return null;
    this.pending.delete(key);
    return parse(entry.parts.join(''));
  }
}

function parse(text: string): LiveEvent | null {
  try {
    return JSON.parse(text) as LiveEvent;
  } catch {
    return null;
  }
}

/**
 * Connects the bus to other server processes sharing one PostgreSQL. Events published here are sent with
 * pg_notify (batched per tick, one statement at a time so their order is kept); events from other
 * processes are delivered to this process's listeners. On PGlite there is only ever one process: no-op.
 */
export async function startBridge(db: Db, bus: EventBus, onError: (error: unknown) => void): Promise<() => Promise<void>> {
  if (db.kind !== 'postgres') return async () => {};
  let counter = 0;
  const nextId = () => ++counter;
  const reassembler = new Reassembler(bus.origin);
  let outbox: LiveEvent[] = [];
  let sending: Promise<void> | null = null;
  let stopped = false;

  const flush = async () => {
    while (outbox.length > 0 && !stopped) {
      const events = outbox;
      outbox = [];
      try {
        await db.query(`SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i`, [
          LIVE_CHANNEL,
          packRecords(encodeEvents(bus.origin, nextId, events)),
        ]);
      } catch (error) {
        // Other processes miss these events; their clients recover them by refetching over REST.
        onError(error);
      }
    }
    sending = null;
  };

  const crossProcess: CrossProcess = {
    channel: LIVE_CHANNEL,
    encode: (events) => encodeEvents(bus.origin, nextId, events),
    payloadNumbers,
    separator: RECORD_SEPARATOR,
    send: (events) => {
      if (stopped) return;
      outbox.push(...events);
      if (!sending) sending = new Promise<void>((resolve) => setImmediate(resolve)).then(flush);
    },
  };

  const unlisten = await db.listen(LIVE_CHANNEL, (payload) => {
    for (const event of reassembler.accept(payload)) bus.deliver(event);
  });
  bus.crossProcess = crossProcess;

  return async () => {
    bus.crossProcess = null;
    await sending;
    stopped = true;
    await unlisten();
  };
}
