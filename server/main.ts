import fs from 'node:fs';
import path from 'node:path';
import { configFromEnv } from './config';
import { openDb } from './db/index';
import { buildApp } from './app';
import { prepareDataDir, tightenFiles } from './data-dir';
import { serverLogger } from './http/log-redact';

/** Entry point: config from the environment, database, listen, graceful shutdown. */
async function main() {
  // Everything this process creates later (PGlite's files, logs, a job's supervisor files) is the server account's
  // alone; folders other accounts must enter (job and storage areas, as root) are chmod-ed explicitly.
  process.umask(0o077);
  const config = configFromEnv();
  prepareDataDir(config.dataDir, { database: !config.databaseUrl, warn: (message) => process.stderr.write(`Warning: ${message}\n`) });
  const dbDir = config.databaseUrl ? null : `${config.dataDir}/db`;
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: dbDir });
  if (dbDir) tightenFiles(dbDir);
  const app = await buildApp({
    db,
    config,
    // The core and the built-in provider talk over real loopback HTTP, as a separate provider would.
    loopback: 'http',
    logger: serverLogger(config.logLevel),
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    // Bounded: requests in flight and open sockets get config.shutdownMs to finish, then the process exits anyway.
    const force = setTimeout(() => {
      process.stderr.write(`Shutdown did not finish within ${config.shutdownMs} ms; exiting\n`);
      process.exit(1);
    }, config.shutdownMs);
    force.unref();
    try {
      await app.close();
      await db.close();
      if (dbDir) tightenFiles(dbDir);
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const address = await app.listen({ port: config.port, host: config.host });
  const base = address.replace('[::1]', 'localhost');
  // Where this server listens, for the CLI (`npm run cli` finds a server started with PORT=… without JOBDECK_URL).
  try {
    fs.writeFileSync(path.join(config.dataDir, 'server-url'), `${base}\n`);
  } catch {
    // A read-only data directory: the CLI then needs JOBDECK_URL.
  }
  // In `npm run dev` the dashboard is served by Vite, so the link must point there (scripts/dev.mjs sets it).
  const dashboard = process.env.JOBDECK_PUBLIC_URL?.replace(/\/$/, '') || base;
  const storage = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.dataDir}/db`;
  // The sign-in link carries the token in the fragment, which browsers never send to a server.
  process.stdout.write(
    `\nJobdeck is running at ${base}  (storage: ${storage})\n` +
      `Sign in as 'user': ${dashboard}/#token=${app.services.credentials.user}\n` +
      `Credentials for the seeds' curl examples: ${config.dataDir}/credentials.json\n\n`,
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
