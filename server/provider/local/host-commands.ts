import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';

/* Running `ip`, `nft` and `nsenter` for the job network: argv arrays (never a shell), absolute paths, a time limit. */

/** A command that exited non-zero (or could not start, or ran too long). The message names it and its stderr. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
    detail?: string,
  ) {
    const how = code === null ? 'could not run' : `failed (exit ${code})`;
    const said = stderr.trim() || '(no output on stderr)';
    super(`\`${argv.join(' ')}\` ${how}: ${said}${detail ? ` [${detail}]` : ''}`);
    this.name = 'CommandError';
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const COMMAND_TIMEOUT_MS = 30_000;

/**
 * Runs `argv` (no shell) and resolves with its output whatever the exit code; rejects only when it cannot start or
 * runs longer than 30 s. `input` is written to its stdin.
 */
export function runRaw(argv: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) throw new Error('runRaw: empty argv');
    const child = spawn(file, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new CommandError(argv, null, stderr, `killed after ${COMMAND_TIMEOUT_MS} ms`));
    }, COMMAND_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new CommandError(argv, null, error.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // the command may exit before reading it all; its exit code says why
      child.stdin.end(input);
    }
  });
}

/** Runs `argv` and rejects with a CommandError naming it and its stderr unless it exits 0. */
export async function run(argv: readonly string[], input?: string): Promise<string> {
  const result = await runRaw(argv, input);
  if (result.code !== 0) throw new CommandError(argv, result.code, result.stderr, input === undefined ? undefined : `stdin: ${oneLine(input)}`);
  return result.stdout;
}

function oneLine(text: string, max = 600): string {
  const flat = text.trim().replace(/\s*\n\s*/g, ' ⏎ ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Absolute path of a program, from PATH and the usual system folders (a server's PATH may lack /usr/sbin). */
export function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface Programs {
  ip: string;
  nft: string;
  nsenter: string;
}

/** The programs the job network runs, or the name of the first one missing. */
export function findPrograms(): Programs | { missing: string } {
  const ip = findProgram('ip');
  if (!ip) return { missing: 'ip' };
  const nft = findProgram('nft');
  if (!nft) return { missing: 'nft' };
  const nsenter = findProgram('nsenter');
  if (!nsenter) return { missing: 'nsenter' };
  return { ip, nft, nsenter };
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** Entries of a folder; none when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return [];
  }
}
