import fs from 'node:fs';
import type { Job } from '../../../contract/jobs';
import type { Catalog } from '../../catalog/catalog';
import { StorageError, ensureArea, resolveFileParameters, type Account } from '../local/storage';
import { ScriptError } from './script';

/*
 * File parameters on Slurm: the same per-user storage areas as on `example` (../local/storage.ts), under the work
 * folder, which the compute nodes share: `<work>/storage/u_<owner>`. A path never leaves its area (`..` refused,
 * symbolic links resolved); an `input_directory` that does not exist yet is made, as the jobs' account.
 * Slurm runs every Jobdeck user's jobs as one account (slurmrestd's), so there the areas keep jobs away from
 * Jobdeck's data and other local accounts, not from each other (server/provider/slurm/README.md, "Who runs the job").
 */

/** The host path of each file parameter of a job; a ScriptError naming the parameter when one cannot be used. */
export async function resolveFiles(job: Job, catalog: Catalog, storageRoot: string, account: Account): Promise<Map<string, string>> {
  const { application } = job.specification;
  const app = catalog.findApplication(application.name, application.version);
  const values = job.specification.parameters ?? {};
  if (!app || !Object.values(values).some((v) => v?.type === 'file')) return new Map();
  const area = await ensureArea(storageRoot, job.owner.createdBy, account);
  try {
    return await resolveFileParameters(area, app, values, account);
  } catch (error) {
    if (error instanceof StorageError) throw new ScriptError(error.message);
    throw error;
  }
}

/** The account jobs run as, when this process may hand files to it (as root, once the probe has said which uid). */
export function jobAccount(uid: number | null): Account {
  return uid !== null && process.getuid?.() === 0 ? { uid, gid: primaryGid(uid) } : null;
}

/** The primary group of a uid, from /etc/passwd (the compute nodes share the accounts); the uid itself if absent. */
export function primaryGid(uid: number): number {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [, , u, g] = line.split(':');
      if (Number(u) === uid && g !== undefined) return Number(g);
    }
  } catch {
    // no passwd file: fall through
  }
  return uid;
}
