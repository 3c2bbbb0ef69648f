import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import YAML from 'yaml';
import { Type } from 'typebox';
import { Application, Product } from '../../contract/catalog';
import type { Application as ApplicationT, Product as ProductT } from '../../contract/catalog';
import { validate } from '../../contract/validate';

const CatalogFile = Type.Object(
  { applications: Type.Array(Application), products: Type.Array(Product) },
  { additionalProperties: false },
);

export interface Catalog {
  applications: ApplicationT[];
  products: ProductT[];
  findApplication(name: string, version: string): ApplicationT | undefined;
  findProduct(id: string, category: string, provider: string): ProductT | undefined;
}

/** Fills the fields an operator may leave out of the YAML, so every object has the wire shape. */
function normalise(raw: unknown): unknown {
  const doc = (raw ?? {}) as { applications?: Record<string, unknown>[]; products?: unknown[] };
  return {
    applications: (doc.applications ?? []).map((app) => ({
      allowPeers: false,
      defaultTimeAllocation: null,
      description: '',
      ...app,
      parameters: ((app.parameters as Record<string, unknown>[] | undefined) ?? []).map((p) => ({
        description: '',
        optional: false,
        defaultValue: null,
        min: null,
        max: null,
        options: null,
        ...p,
      })),
    })),
    products: doc.products ?? [],
  };
}

export function defaultCatalogPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'default-catalog.yaml'), path.join(here, 'catalog', 'default-catalog.yaml')];
  return candidates.find((p) => fs.existsSync(p)) ?? candidates[0]!;
}

export function loadCatalog(file: string = defaultCatalogPath()): Catalog {
  const parsed = normalise(YAML.parse(fs.readFileSync(file, 'utf8')));
  const result = validate(CatalogFile, parsed);
  if (!result.ok) throw new Error(`Catalog ${file} is invalid: ${result.why}`);
  const { applications, products } = result.value as { applications: ApplicationT[]; products: ProductT[] };
  return {
    applications,
    products,
    findApplication: (name, version) => applications.find((a) => a.name === name && a.version === version),
    findProduct: (id, category, provider) =>
      products.find((p) => p.id === id && p.category === category && p.provider === provider),
  };
}
