import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/index';
import { createUser, issueToken, type Role } from './tokens';

export interface Credentials {
  user: string;
  ucloud: string;
  provider: string;
  admin: string;
  /** The `slurm` provider's own PROVIDER token (server/provider/slurm/). */
  slurm: string;
}

const DEFAULT_PRINCIPALS: { key: keyof Credentials; username: string; role: Role }[] = [
  { key: 'user', username: 'user', role: 'USER' },
  { key: 'ucloud', username: 'ucloud', role: 'SERVICE' },
  { key: 'provider', username: 'example', role: 'PROVIDER' },
  { key: 'admin', username: 'admin', role: 'ADMIN' },
  { key: 'slurm', username: 'slurm', role: 'PROVIDER' },
];

export const credentialsPath = (dataDir: string) => path.join(dataDir, 'credentials.json');

export function readCredentials(dataDir: string): Credentials | null {
  try {
    return JSON.parse(fs.readFileSync(credentialsPath(dataDir), 'utf8')) as Credentials;
  } catch {
    return null;
  }
}

/**
 * Creates the default principals on first start and writes their tokens to credentials.json (mode 0600).
 * Tokens are stored hashed, so when the file is missing (say, a second data dir on a shared PostgreSQL)
 * fresh tokens are issued rather than recovered.
 */
export async function bootstrapPrincipals(db: Db, dataDir: string | null): Promise<Credentials> {
  const existing = dataDir ? readCredentials(dataDir) : null;
  // A data dir from before a principal existed (the `slurm` provider's) gets just the missing ones.
  const missing = DEFAULT_PRINCIPALS.filter((p) => !existing?.[p.key]);
  if (existing && missing.length === 0) return existing;
  const credentials = { ...existing } as Credentials;
  await db.tx(async (q) => {
    for (const p of missing) {
      await createUser(q, p.username, p.role);
      credentials[p.key] = await issueToken(q, p.username);
    }
  });
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = credentialsPath(dataDir);
    fs.writeFileSync(file, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
    fs.chmodSync(file, 0o600);
  }
  return credentials;
}
