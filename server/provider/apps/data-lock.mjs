// @ts-check
/**
 * An exclusive lock on a data folder, so that two database processes never open the same files at once.
 *
 * The lock is the file `<dir>/acme-database.lock`, made with link(2), which fails if the file exists: exactly one
 * process can create it. It holds its owner's pid, the pid's start time, the boot and the pid namespace, and the
 * owner touches it every few seconds (the heartbeat).
 *
 * A lock that exists is stale, and is taken over, when
 * - its owner ran on this boot and in this pid namespace, and that pid is gone or is now another process; or
 * - its owner ran elsewhere (another boot, machine or pid namespace, where its pid means nothing here) and its
 *   heartbeat is older than STALE_AFTER_MS.
 * Otherwise it is held, and the caller must refuse to start.
 *
 * Taking over moves the stale file aside with rename(2) and checks that what it moved is still the stale lock it
 * judged; if another process replaced it in between, it puts it back and starts over.
 */

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const LOCK_FILE = 'acme-database.lock';
export const HEARTBEAT_MS = 5_000;
export const STALE_AFTER_MS = 30_000;

/**
 * @typedef {{pid: number, startTime: string | null, bootId: string | null, pidNamespace: string | null,
 *   hostname: string, startedAt: string, token: string}} LockOwner
 * @typedef {{ok: true, lock: DataLock} | {ok: false, owner: LockOwner | null, why: string}} LockResult
 */

/**
 * @param {string} file
 * @returns {string | null}
 */
function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * The start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null if unknown.
 * @param {number | 'self'} pid
 * @returns {string | null}
 */
function startTimeOf(pid) {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

/** @returns {string | null} */
function pidNamespace() {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

/**
 * Whether a pid exists (in this pid namespace).
 * @param {number} pid
 */
function pidExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM';
  }
}

/** @returns {LockOwner} */
function me() {
  return {
    pid: process.pid,
    startTime: startTimeOf('self'),
    bootId: readText('/proc/sys/kernel/random/boot_id'),
    pidNamespace: pidNamespace(),
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
    token: randomUUID(),
  };
}

/**
 * @param {string} text
 * @returns {LockOwner | null}
 */
function parseOwner(text) {
  try {
    const owner = JSON.parse(text);
    return owner !== null && typeof owner === 'object' && Number.isInteger(owner.pid) && typeof owner.token === 'string' ? owner : null;
  } catch {
    return null;
  }
}

/**
 * Whether an existing lock is stale, and why.
 * @param {LockOwner | null} owner null if the file could not be understood
 * @param {number} ageMs time since its last heartbeat
 * @param {LockOwner} self
 * @returns {{stale: boolean, why: string}}
 */
export function judge(owner, ageMs, self) {
  const age = `${Math.round(ageMs / 1000)} s`;
  if (owner === null) {
    return ageMs > STALE_AFTER_MS
      ? { stale: true, why: `the lock file is unreadable and ${age} old` }
      : { stale: false, why: 'the lock file is unreadable but recent' };
  }
  const here = owner.bootId !== null && owner.bootId === self.bootId && owner.pidNamespace === self.pidNamespace;
  if (here) {
    if (owner.pid === self.pid) return { stale: true, why: `it names this process (${owner.pid}), which cannot have made it` };
    if (!pidExists(owner.pid)) return { stale: true, why: `process ${owner.pid} is gone` };
    const startTime = startTimeOf(owner.pid);
    if (owner.startTime !== null && startTime !== null && startTime !== owner.startTime) {
      return { stale: true, why: `process ${owner.pid} has ended and its pid now belongs to another process` };
    }
    return { stale: false, why: `process ${owner.pid} holds it (since ${owner.startedAt})` };
  }
  if (ageMs > STALE_AFTER_MS) return { stale: true, why: `its owner (pid ${owner.pid} on ${owner.hostname}, in another boot or pid namespace) has not renewed it for ${age}` };
  return { stale: false, why: `process ${owner.pid} on ${owner.hostname} holds it (since ${owner.startedAt}; renewed ${age} ago)` };
}

export class DataLock {
  /**
   * @param {string} file
   * @param {LockOwner} owner
   */
  constructor(file, owner) {
    this.file = file;
    this.owner = owner;
    /** @type {NodeJS.Timeout | null} */
    this.timer = null;
    this.released = false;
  }

  /** Whether the lock file is still this process's. */
  stillMine() {
    const text = readText(this.file);
    return text !== null && parseOwner(text)?.token === this.owner.token;
  }

  /**
   * Renews the lock every HEARTBEAT_MS; calls `lost` if the file was removed or replaced.
   * @param {(why: string) => void} lost
   */
  startHeartbeat(lost) {
    this.timer = setInterval(() => {
      if (!this.stillMine()) {
        lost(`the lock file ${this.file} was removed or replaced by another process`);
        return;
      }
      const now = new Date();
      try {
        fs.utimesSync(this.file, now, now);
      } catch (error) {
        lost(`cannot renew the lock file ${this.file}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Removes the lock file if it is still this process's. Synchronous, so it can run in an 'exit' handler. */
  release() {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    if (this.stillMine()) fs.rmSync(this.file, { force: true });
  }
}

/**
 * Takes the lock on a folder, which must exist.
 * @param {string} dir
 * @param {(line: string) => void} [log] told when a stale lock is taken over
 * @returns {LockResult}
 */
export function acquireLock(dir, log = () => {}) {
  const file = path.join(dir, LOCK_FILE);
  const self = me();
  const content = `${JSON.stringify(self, null, 2)}\n`;
  for (let attempt = 0; attempt < 10; attempt++) {
    // Write the whole file under a private name, then link it into place: the lock never exists half written.
    const draft = `${file}.${process.pid}.${self.token}.tmp`;
    fs.writeFileSync(draft, content, { mode: 0o644 });
    try {
      try {
        fs.linkSync(draft, file);
      } catch (error) {
        const code = /** @type {NodeJS.ErrnoException} */ (error).code;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
        // A file system without hard links: create it exclusively instead (briefly empty, then judged "recent").
        fs.writeFileSync(file, content, { flag: 'wx', mode: 0o644 });
      }
      return { ok: true, lock: new DataLock(file, self) };
    } catch (error) {
      if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error;
    } finally {
      fs.rmSync(draft, { force: true });
    }

    const text = readText(file);
    /** @type {fs.Stats} */
    let stat;
    try {
      stat = fs.statSync(file);
    } catch {
      continue; // released meanwhile: try again
    }
    if (text === null) continue;
    const owner = parseOwner(text);
    const verdict = judge(owner, Date.now() - stat.mtimeMs, self);
    if (!verdict.stale) return { ok: false, owner, why: verdict.why };

    const aside = `${file}.stale.${process.pid}.${randomUUID()}`;
    try {
      fs.renameSync(file, aside);
    } catch {
      continue; // someone else moved or released it: look again
    }
    if (readText(aside) !== text) {
      // Between reading and moving it, another process replaced the stale lock with its own: put that one back.
      try {
        fs.linkSync(aside, file);
      } catch {
        // a third process holds the lock now; the loop will find it
      }
      fs.rmSync(aside, { force: true });
      continue;
    }
    fs.rmSync(aside, { force: true });
    log(`Took over a stale lock on ${dir}: ${verdict.why}.`);
  }
  return { ok: false, owner: null, why: 'the lock kept changing hands; try again' };
}
