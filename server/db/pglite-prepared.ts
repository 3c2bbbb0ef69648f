import type { PGlite } from '@electric-sql/pglite';
import { serialize } from 'pg-protocol';

/**
 * Named statements on PGlite, which its query() does not offer: query() parses and plans every statement again,
 * in six protocol round trips into the WASM module. Here a statement is parsed once, then each execution is one
 * Bind/Describe/Execute/Sync exchange.
 *
 * PGlite never runs ANALYZE on its own, so a plan cached while the tables were small would go on treating them as
 * small; after REPLAN_EVERY executions or REPLAN_AFTER_MS, whichever comes first, the statement is closed and parsed
 * again, and the planner, which sizes a table it has no statistics for by its current number of pages, plans it for
 * the tables as they are then.
 */
export const REPLAN_EVERY = 1000;
export const REPLAN_AFTER_MS = 60_000;

interface Statement {
  text: string;
  uses: number;
  parsedAt: number;
}

interface Field {
  name: string;
  dataTypeID: number;
}

/** A parameter as PostgreSQL's text format has it (what PGlite's and pg's own serialisers produce). */
function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return `{${value.map((v) => (v === null || v === undefined ? 'NULL' : `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)).join(',')}}`;
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return String(value);
}

export class PreparedStatements {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly pgl: PGlite) {}

  query<T>(name: string, text: string, params: unknown[]): Promise<T[]> {
    // Exclusive as query() is: after any open transaction (its mutex), then alone on the connection (the query
    // mutex, which is all runExclusive takes); otherwise this write could run between another transaction's
    // statements and share its fate.
    return this.pgl._runExclusiveTransaction(() => this.pgl.runExclusive(async () => {
      const known = this.statements.get(name);
      if (known && known.text !== text) throw new Error(`statement '${name}' is already prepared with another text`);
      const parts: Uint8Array[] = [];
      const now = Date.now();
      const replan = !known || known.uses >= REPLAN_EVERY || now - known.parsedAt >= REPLAN_AFTER_MS;
      // Closing a statement that does not exist is no error: after a failed exchange it is unknown whether the Parse
      // took effect, so a replan always closes first.
      if (replan) parts.push(serialize.close({ type: 'S', name }), serialize.parse({ name, text }));
      parts.push(
        serialize.bind({ statement: name, values: params.map(toText) }),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.sync(),
      );
      if (replan) this.statements.delete(name);
      // Written to the data directory before it resolves (syncToFs), as query() does outside a transaction.
      const { messages } = await this.pgl.execProtocol(Buffer.concat(parts), { syncToFs: true });
      this.statements.set(name, replan ? { text, uses: 1, parsedAt: now } : { ...known!, uses: known!.uses + 1 });
      let fields: Field[] = [];
      const rows: T[] = [];
      for (const message of messages as unknown as { name: string; fields?: unknown[] }[]) {
        if (message.name === 'rowDescription') fields = message.fields as Field[];
        else if (message.name === 'dataRow') {
          const values = message.fields as (string | null)[];
          const row: Record<string, unknown> = {};
          fields.forEach((field, i) => {
            const value = values[i] ?? null;
            const parse = this.pgl.parsers[field.dataTypeID];
            row[field.name] = value === null || !parse ? value : parse(value, field.dataTypeID);
          });
          rows.push(row as T);
        }
      }
      return rows;
    }));
  }
}
