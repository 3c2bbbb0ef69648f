// @ts-check
/*
 * The embedded database's thread: PGlite runs here, in a worker thread of the server, and server/db/pglite.ts talks
 * to it in messages. PGlite executes each statement synchronously in WebAssembly; on the server's main thread every
 * statement would stop the HTTP and WebSocket work for its whole length, and the server would use one core where the
 * machine has more.
 *
 * Requests: {id, op, …}; each gets one reply {id, result} or {id, error}. Databases (`db`) are numbered: the first is
 * opened by `open`, and `clone` adds a copy in this same thread. A transaction (`txBegin`) holds its database until
 * `txEnd`; the statements inside it name it (`tx`), and any other statement on that database waits, as it does in
 * PGlite itself. Notifications arrive as {notify: listener id, payload}.
 */
import { parentPort } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

if (!parentPort) throw new Error('pglite-worker.mjs runs as a worker thread');
const port = parentPort;

const INT8 = 20;
const NUMERIC = 1700;
// Epoch-millisecond timestamps and ids are int8; they fit in a double, so hand them to JS as numbers.
const parseInt8 = (/** @type {string} */ v) => Number(v);
const parsers = { [INT8]: parseInt8, [NUMERIC]: parseInt8 };

/** @type {Map<number, PGlite>} */
const dbs = new Map();
/** @type {Map<number, {t: {query: PGlite['query']}, ops: any[], wake: (() => void) | null}>} */
const txs = new Map();
/** @type {Map<number, () => Promise<void>>} */
const unlistens = new Map();
let next = 1;

/** What a database error carries (code, detail, position…), which structured cloning of an Error would drop. */
function serialise(/** @type {unknown} */ error) {
  if (!(error instanceof Error)) return { message: String(error) };
  /** @type {Record<string, unknown>} */
  const fields = { name: error.name, message: error.message, stack: error.stack };
  for (const [key, value] of Object.entries(error)) {
    if (value === undefined || typeof value === 'function' || (typeof value === 'object' && value !== null)) continue;
    fields[key] = value;
  }
  return fields;
}

const reply = (/** @type {number} */ id, /** @type {unknown} */ result) => port.postMessage({ id, result });
const fail = (/** @type {number} */ id, /** @type {unknown} */ error) => port.postMessage({ id, error: serialise(error) });

function database(/** @type {number} */ id) {
  const db = dbs.get(id);
  if (!db) throw new Error(`the embedded database ${id} is closed`);
  return db;
}

/** A rollback asked for by the caller, not an error of the transaction. */
const ROLLBACK = Symbol('rollback');

/** Runs one transaction, serving its statements as they arrive, until txEnd. */
function begin(/** @type {number} */ id, /** @type {number} */ dbId) {
  const txId = next++;
  const tx = { t: /** @type {any} */ (null), ops: /** @type {any[]} */ ([]), wake: /** @type {(() => void) | null} */ (null) };
  const nextOp = async () => {
    while (tx.ops.length === 0) await new Promise((resolve) => (tx.wake = () => resolve(undefined)));
    return tx.ops.shift();
  };
  /** @type {number | null} */
  let endId = null;
  database(dbId)
    .transaction(async (t) => {
      tx.t = t;
      txs.set(txId, tx);
      reply(id, txId);
      for (;;) {
        const op = await nextOp();
        if (op.op === 'txEnd') {
          endId = op.id;
          if (!op.commit) throw ROLLBACK;
          return;
        }
        try {
          reply(op.id, (await t.query(op.sql, op.params)).rows);
        } catch (error) {
          fail(op.id, error);
        }
      }
    })
    .then(
      () => reply(/** @type {number} */ (endId), null),
      (error) => {
        if (endId === null) fail(id, error);
        else if (error === ROLLBACK) reply(endId, null);
        else fail(endId, error);
      },
    )
    .finally(() => txs.delete(txId));
}

async function handle(/** @type {any} */ m) {
  switch (m.op) {
    case 'open': {
      const db = await PGlite.create(m.dataDir ?? undefined, { parsers });
      const dbId = next++;
      dbs.set(dbId, db);
      return dbId;
    }
    case 'clone': {
      const copy = /** @type {PGlite} */ (await database(m.db).clone());
      const dbId = next++;
      dbs.set(dbId, copy);
      return dbId;
    }
    case 'query':
      return (await database(m.db).query(m.sql, m.params)).rows;
    case 'exec':
      await database(m.db).exec(m.script);
      return null;
    case 'listen': {
      const listener = m.listener;
      unlistens.set(listener, await database(m.db).listen(m.channel, (payload) => port.postMessage({ notify: listener, payload })));
      return listener;
    }
    case 'unlisten': {
      const unlisten = unlistens.get(m.listener);
      unlistens.delete(m.listener);
      await unlisten?.();
      return null;
    }
    case 'close': {
      const db = dbs.get(m.db);
      dbs.delete(m.db);
      await db?.close();
      return null;
    }
    default:
      throw new Error(`unknown request ${m.op}`);
  }
}

port.on('message', (/** @type {any} */ m) => {
  if (m.tx !== undefined) {
    const tx = txs.get(m.tx);
    if (!tx) return fail(m.id, new Error('the transaction has ended'));
    tx.ops.push(m);
    tx.wake?.();
    tx.wake = null;
    return;
  }
  if (m.op === 'txBegin') {
    try {
      begin(m.id, m.db);
    } catch (error) {
      fail(m.id, error);
    }
    return;
  }
  handle(m).then(
    (result) => reply(m.id, result),
    (error) => fail(m.id, error),
  );
});
