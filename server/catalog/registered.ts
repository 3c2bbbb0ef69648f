import type { Db } from '../db/index';
import type { Product } from '../../contract/catalog';
import type { Catalog } from './catalog';

/*
 * Products that providers register at run time (POST /api/products/control/register), next to the catalog file's.
 * They are kept in provider_products, so a restarted server and every replica on one PostgreSQL serve the same set:
 * a registration notifies the others, which read that provider's products again.
 */

const CHANNEL = 'provider_products';

export class RegisteredProducts {
  constructor(
    private readonly db: Db,
    private readonly catalog: Catalog,
  ) {}

  /** Reads every provider's registered products into the catalog, and follows other processes' registrations. */
  async start(): Promise<() => Promise<void>> {
    const rows = await this.db.query<{ provider: string }>(`SELECT DISTINCT provider FROM provider_products`);
    for (const { provider } of rows) await this.reload(provider);
    return this.db.listen(CHANNEL, (provider) => void this.reload(provider).catch(() => undefined));
  }

  /** Replaces `provider`'s registered products with `products`. */
  async register(provider: string, products: Product[]): Promise<void> {
    const now = Date.now();
    await this.db.tx(async (q) => {
      await q.query(`DELETE FROM provider_products WHERE provider = $1`, [provider]);
      if (products.length === 0) return;
      await q.query(
        `INSERT INTO provider_products (provider, id, category, body, registered_at)
         SELECT $1, i, c, b::jsonb, $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS t(i, c, b)
         ON CONFLICT (provider, id, category) DO UPDATE SET body = EXCLUDED.body, registered_at = EXCLUDED.registered_at`,
        [provider, products.map((p) => p.id), products.map((p) => p.category), products.map((p) => JSON.stringify(p)), now],
      );
    });
    this.catalog.setRegistered(provider, products);
    await this.db.notify(CHANNEL, provider);
  }

  private async reload(provider: string): Promise<void> {
    const rows = await this.db.query<{ body: Product }>(
      `SELECT body FROM provider_products WHERE provider = $1 ORDER BY category, id`,
      [provider],
    );
    this.catalog.setRegistered(provider, rows.map((r) => r.body));
  }
}
