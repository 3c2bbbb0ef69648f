/**
 * Jobdeck's operator CLI (contract §8). It never opens the database: it calls the running server over
 * HTTP with the admin token from $JOBDECK_DATA_DIR/credentials.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readCredentials, type Credentials } from './auth/bootstrap';
import { runTaskDemo } from './tasks/demo';

export interface CliContext {
  baseUrl: string;
  credentials: Credentials;
  out: (line: string) => void;
}

export class CliError extends Error {}

async function call(ctx: CliContext, token: string, method: string, url: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(new URL(url, ctx.baseUrl), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new CliError(`Cannot reach the Jobdeck server at ${ctx.baseUrl}. Is it running (npm start)? Set JOBDECK_URL if it listens elsewhere.`);
  }
  const text = await response.text();
  const json = text ? (JSON.parse(text) as unknown) : {};
  if (!response.ok) {
    const why = (json as { why?: string }).why ?? response.statusText;
    throw new CliError(`${method} ${url} failed (${response.status}): ${why}`);
  }
  return json;
}

export const admin = (ctx: CliContext, method: string, url: string, body?: unknown) => call(ctx, ctx.credentials.admin, method, url, body);
export const asService = (ctx: CliContext, method: string, url: string, body?: unknown) => call(ctx, ctx.credentials.ucloud, method, url, body);

type Command = (ctx: CliContext, args: string[]) => Promise<void>;

function need(args: string[], index: number, what: string): string {
  const value = args[index];
  if (!value) throw new CliError(`Missing ${what}. Run 'npm run cli -- help' for usage.`);
  return value;
}

export const commands: Record<string, { usage: string; run: Command }> = {
  'user add': {
    usage: 'user add <name>            create a user and print its token',
    run: async (ctx, args) => {
      const result = (await admin(ctx, 'POST', '/api/admin/users', { username: need(args, 0, '<name>') })) as { token: string };
      ctx.out(result.token);
    },
  },
  'token issue': {
    usage: 'token issue <name>         issue a new token for a user and print it',
    run: async (ctx, args) => {
      const result = (await admin(ctx, 'POST', '/api/admin/tokens/issue', { username: need(args, 0, '<name>') })) as { token: string };
      ctx.out(result.token);
    },
  },
  'token revoke': {
    usage: 'token revoke <name>        revoke every token of a user',
    run: async (ctx, args) => {
      const result = (await admin(ctx, 'POST', '/api/admin/tokens/revoke', { username: need(args, 0, '<name>') })) as { revoked: number };
      ctx.out(`Revoked ${result.revoked} token(s) of '${args[0]}'.`);
    },
  },
  'provider forget': {
    usage: 'provider forget <jobId>    make the built-in provider drop a job, so verify fails it',
    run: async (ctx, args) => {
      const id = need(args, 0, '<jobId>');
      await admin(ctx, 'POST', '/ucloud/example/admin/forget', { id });
      ctx.out(`Provider 'example' forgot job ${id}; the next verify sweep marks it FAILURE ("Your job is no longer available").`);
    },
  },
  'task demo': {
    usage: 'task demo [--owner <name>] [--delay <ms>]   count to 3 as seed 002 does, as the ucloud service',
    run: async (ctx, args) => {
      let owner = 'user';
      let delayMs = 1000;
      for (let i = 0; i < args.length; i += 2) {
        if (args[i] === '--owner') owner = need(args, i + 1, '<name> after --owner');
        else if (args[i] === '--delay' && /^\d+$/.test(args[i + 1] ?? '')) delayMs = Number(args[i + 1]);
        else throw new CliError(`task demo: unknown option '${args[i]}'. Usage: task demo [--owner <name>] [--delay <ms>]`);
      }
      await runTaskDemo((method, url, body) => asService(ctx, method, url, body), { owner, delayMs, out: ctx.out });
    },
  },
};

export async function runCli(argv: string[], ctx: CliContext): Promise<void> {
  const key = Object.keys(commands).find((k) => k.split(' ').every((word, i) => argv[i] === word));
  if (!key) {
    ctx.out('Usage: npm run cli -- <command>\n\nCommands:');
    for (const c of Object.values(commands)) ctx.out(`  ${c.usage}`);
    if (argv.length > 0 && argv[0] !== 'help') throw new CliError(`Unknown command: ${argv.join(' ')}`);
    return;
  }
  await commands[key]!.run(ctx, argv.slice(key.split(' ').length));
}

/** JOBDECK_URL, else the address the server wrote into its data directory when it started, else PORT or 8080. */
function serverUrl(dataDir: string): string {
  if (process.env.JOBDECK_URL) return process.env.JOBDECK_URL;
  try {
    const written = fs.readFileSync(path.join(dataDir, 'server-url'), 'utf8').trim();
    if (/^https?:\/\/\S+$/.test(written)) return written;
  } catch {
    // Not started yet with this data directory.
  }
  return `http://127.0.0.1:${process.env.PORT || 8080}`;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]).replace(/\.ts$/, '') === path.resolve(import.meta.filename ?? '').replace(/\.ts$/, '');
if (isMain) {
  const dataDir = path.resolve(process.env.JOBDECK_DATA_DIR ?? './data');
  const argv = process.argv.slice(2);
  const wantsHelp = argv.length === 0 || argv[0] === 'help' || argv[0] === '--help';
  const credentials = readCredentials(dataDir) ?? (wantsHelp ? ({} as Credentials) : null);
  if (!credentials) {
    console.error(`No credentials in ${dataDir}/credentials.json. Start the server once (npm start), or set JOBDECK_DATA_DIR.`);
    process.exit(1);
  }
  runCli(process.argv.slice(2), { baseUrl: serverUrl(dataDir), credentials, out: (l) => console.log(l) }).catch(
    (error) => {
      console.error(error instanceof CliError ? error.message : error);
      process.exit(1);
    },
  );
}
