import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import YAML from 'yaml';
import { Type } from 'typebox';
import { Application, Product } from '../../contract/catalog';
import type { Application as ApplicationT, Product as ProductT } from '../../contract/catalog';
import { check } from '../http/parse';
import { RunDefinition, checkRunDefinition } from './run';

const CatalogFile = Type.Object(
  { applications: Type.Array(Application), products: Type.Array(Product) },
  { additionalProperties: false },
);

export interface Catalog {
  applications: ApplicationT[];
  /** The file's products, then every product providers have registered (registered.ts). */
  readonly products: ProductT[];
  findApplication(name: string, version: string): ApplicationT | undefined;
  findProduct(id: string, category: string, provider: string): ProductT | undefined;
  /** How the application runs on a provider that executes jobs (the YAML's `run:`); not part of the wire format. */
  findRun(name: string, version: string): RunDefinition | undefined;
  /** Replaces the products a provider registered (POST /api/products/control/register); the file's stay. */
  setRegistered(provider: string, products: ProductT[]): void;
}

/** Fills the fields an operator may leave out of the YAML, so every object has the wire shape. */
function normalise(raw: unknown): unknown {
  const doc = (raw ?? {}) as { applications?: Record<string, unknown>[]; products?: unknown[] };
  return {
    applications: (doc.applications ?? []).map((app) => ({
      allowPeers: false,
      defaultTimeAllocation: null,
      description: '',
      expectedPeers: null,
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

/** Takes each application's `run:` block out of the document, so what remains is the wire's Application. */
function takeRuns(raw: unknown, file: string): Map<number, RunDefinition> {
  const runs = new Map<number, RunDefinition>();
  const apps = (raw as { applications?: unknown } | null)?.applications;
  if (!Array.isArray(apps)) return runs;
  apps.forEach((app: unknown, i) => {
    if (!app || typeof app !== 'object' || !('run' in app)) return;
    const { run, ...rest } = app as Record<string, unknown>;
    const result = check(RunDefinition, run, `applications[${i}].run`);
    if (!result.ok) throw new Error(`Catalog ${file} is invalid: ${result.path ? `applications[${i}].run.${result.path}: ${result.message}` : result.why}`);
    runs.set(i, result.value);
    apps[i] = rest;
  });
  return runs;
}

export function loadCatalog(file: string = defaultCatalogPath()): Catalog {
  const document: unknown = YAML.parse(fs.readFileSync(file, 'utf8'));
  const runsByIndex = takeRuns(document, file);
  const parsed = normalise(document);
  const result = check(CatalogFile, parsed);
  if (!result.ok) throw new Error(`Catalog ${file} is invalid: ${result.why}`);
  const { applications, products } = result.value as { applications: ApplicationT[]; products: ProductT[] };
  const runs = new Map<string, RunDefinition>();
  for (const [i, run] of runsByIndex) {
    const app = applications[i]!;
    const problems = checkRunDefinition(app, run, `applications[${i}].run`);
    if (problems.length > 0) throw new Error(`Catalog ${file} is invalid: ${problems.join('; ')}`);
    runs.set(`${app.name}@${app.version}`, run);
  }
  // What the wire says about an application's interface comes from its run block: a web port makes it WEB.
  applications.forEach((app, i) => {
    const webPort = runs.get(`${app.name}@${app.version}`)?.webPort;
    if (app.applicationType === 'WEB' && webPort === undefined) {
      throw new Error(`Catalog ${file} is invalid: applications[${i}].applicationType: WEB needs run.webPort, the port of its web interface`);
    }
    if (app.applicationType === 'VNC') throw new Error(`Catalog ${file} is invalid: applications[${i}].applicationType: VNC is not supported; use WEB or BATCH`);
    app.applicationType = webPort !== undefined ? 'WEB' : 'BATCH';
    const expected = app.expectedPeers ?? [];
    if (expected.length > 0 && !app.allowPeers) {
      throw new Error(`Catalog ${file} is invalid: applications[${i}].expectedPeers: the application does not allow peers (allowPeers: false)`);
    }
    expected.forEach((peer, j) => {
      if (peer.suggestedApplication && !applications.some((a) => a.name === peer.suggestedApplication)) {
        throw new Error(`Catalog ${file} is invalid: applications[${i}].expectedPeers[${j}].suggestedApplication: no application '${peer.suggestedApplication}' in the catalog`);
      }
      if (expected.findIndex((other) => other.hostname === peer.hostname) !== j) {
        throw new Error(`Catalog ${file} is invalid: applications[${i}].expectedPeers[${j}].hostname: '${peer.hostname}' is listed twice`);
      }
    });
  });
  const registered = new Map<string, ProductT[]>();
  const all = () => [...products, ...[...registered.values()].flat()];
  return {
    findRun: (name, version) => runs.get(`${name}@${version}`),
    applications,
    get products() {
      return all();
    },
    findApplication: (name, version) => applications.find((a) => a.name === name && a.version === version),
    findProduct: (id, category, provider) =>
      products.find((p) => p.id === id && p.category === category && p.provider === provider) ??
      registered.get(provider)?.find((p) => p.id === id && p.category === category),
    setRegistered: (provider, list) => {
      if (list.length === 0) registered.delete(provider);
      else registered.set(provider, list);
    },
  };
}
