import fs from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isAbsoluteNormalisedPath } from '../../../contract/validators';
import type { Application } from '../../../contract/catalog';
import type { AppParameterValue } from '../../../contract/app-parameter-value';

const run = promisify(execFile);

/*
 * Each user's files live in a storage area of their own, under the provider's data directory:
 * `<dataDir>/storage/u_<owner>`. A job's file parameter names a path inside it, as UCloud paths do (`/123/acme-database`).
 * The area belongs to the user's job account (mode 0700), so another user's jobs cannot read it.
 */

export class StorageError extends Error {}

/** Who the files belong to: the job account's uid and gid, or null when the provider cannot switch users. */
export type Account = { uid: number; gid: number } | null;

export function areaOf(storageRoot: string, owner: string): string {
  // The prefix keeps usernames such as '.' or '..' (A-Z a-z 0-9 _ . - # are allowed) from naming the root or its parent.
  return path.join(storageRoot, `u_${owner}`);
}

/** Creates the user's area if it is missing, owned by their account, 0700. */
export async function ensureArea(storageRoot: string, owner: string, account: Account): Promise<string> {
  await fs.mkdir(storageRoot, { recursive: true });
  await fs.chmod(storageRoot, 0o711);
  const area = areaOf(storageRoot, owner);
  await fs.mkdir(area, { recursive: true, mode: 0o700 });
  if (account) await fs.lchown(area, account.uid, account.gid);
  await fs.chmod(area, 0o700);
  return area;
}

/**
 * The host path of a user's path, which must stay inside their area: `..` is refused, and so is a path that leaves the
 * area through a symbolic link. With `create`, a missing folder is made, as the job's own account: the area is the
 * user's, so the provider never walks it with root's rights (a link planted there cannot make it write elsewhere).
 */
export async function resolveInArea(
  area: string,
  userPath: string,
  opts: { create: boolean; account: Account; field: string },
): Promise<string> {
  if (!isAbsoluteNormalisedPath(userPath)) {
    throw new StorageError(`${opts.field}: '${userPath}' must be an absolute path with no '..'`);
  }
  const target = path.join(area, userPath);
  if (opts.create) {
    const asUser = opts.account
      ? ['setpriv', `--reuid=${opts.account.uid}`, `--regid=${opts.account.gid}`, '--clear-groups', '--']
      : [];
    const argv = [...asUser, 'mkdir', '-p', '--', target];
    try {
      await run(argv[0]!, argv.slice(1));
    } catch (error) {
      throw new StorageError(`${opts.field}: could not create '${userPath}' (${firstLine(error)})`);
    }
  }
  let real: string;
  try {
    real = await fs.realpath(target);
  } catch {
    throw new StorageError(`${opts.field}: '${userPath}' does not exist in your files`);
  }
  const realArea = await fs.realpath(area);
  if (real !== realArea && !real.startsWith(realArea + path.sep)) {
    throw new StorageError(`${opts.field}: '${userPath}' leads outside your files (through a symbolic link)`);
  }
  return real;
}

/**
 * The host path of each file parameter of a job, resolved in its owner's area (a missing `input_directory` is made).
 * Used by both providers that run jobs (`example`, and `slurm` on its shared work folder); a StorageError names the field.
 */
export async function resolveFileParameters(
  area: string,
  application: Application,
  values: Record<string, AppParameterValue | null | undefined>,
  account: Account,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const param of application.parameters) {
    const value = values[param.name];
    if (value?.type !== 'file') continue;
    files.set(param.name, await resolveInArea(area, value.path, {
      create: param.type === 'input_directory',
      account,
      field: `parameters.${param.name}`,
    }));
  }
  return files;
}

function firstLine(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(error)).trim().split('\n')[0]!;
}
