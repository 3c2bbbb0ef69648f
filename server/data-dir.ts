import fs from 'node:fs';
import path from 'node:path';

/*
 * The data directory holds the database and every token: only the server's account may read it. As root, jobs run
 * under accounts of their own that must enter it to reach their work folders and their users' files (which have
 * modes of their own), so it is 0711 there: it can be entered but not listed, and what it holds is 0700 or 0600.
 */
export function prepareDataDir(dataDir: string, opts: { database: boolean; warn: (message: string) => void }): void {
  const mode = process.getuid?.() === 0 ? 0o711 : 0o700;
  fs.mkdirSync(dataDir, { recursive: true, mode });
  repair(dataDir, mode, opts.warn);
  if (opts.database) {
    const db = path.join(dataDir, 'db');
    fs.mkdirSync(db, { recursive: true, mode: 0o700 });
    repair(db, 0o700, opts.warn);
  }
}

/** Takes away any permission beyond `mode` (an existing directory made by an older version, or by hand). */
function repair(dir: string, mode: number, warn: (message: string) => void) {
  const current = fs.statSync(dir).mode & 0o777;
  if ((current & ~mode) === 0) return;
  fs.chmodSync(dir, current & mode);
  warn(`${dir} was mode ${current.toString(8)}; now ${(current & mode).toString(8)}, so other accounts cannot read it`);
}

/**
 * PGlite's file system layer gives every file it writes mode 0666 whatever the umask. Its folder (db/) is 0700, so
 * no other account reaches them; this takes the bits away as well, at start (after the database is open and
 * migrated) and at shutdown, so a copy or a later chmod of the folder exposes nothing.
 */
export function tightenFiles(dir: string): number {
  let changed = 0;
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) {
        walk(full);
        continue;
      }
      if (!entry.isFile()) continue;
      const mode = fs.statSync(full).mode & 0o777;
      if ((mode & 0o077) === 0) continue;
      fs.chmodSync(full, mode & 0o700);
      changed += 1;
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return changed;
}
