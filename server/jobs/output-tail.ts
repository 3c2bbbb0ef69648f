import fsp from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** Where a job's output is on this machine: the files its provider writes its stdout and stderr to. */
export interface OutputFiles {
  stdout: string;
  stderr: string;
}

/** UCloud's `JobsLog`: what a follow message's `log` carries, per rank (node). Jobdeck's jobs have rank 0 only. */
export interface LogChunk {
  rank: number;
  stdout: string | null;
  stderr: string | null;
}

export interface TailLimits {
  /** How often the files are looked at while the job runs. */
  intervalMs: number;
  /** At most this much of one file is read and sent per look: what a follower holds in memory at once. */
  chunkBytes: number;
  /**
   * A follower further behind than this (a chatty job, or a slow socket) skips ahead to the last `chunkBytes` of the
   * file, starting on a line, and is told how much it skipped; the download has everything.
   */
  maxLagBytes: number;
}

export const DEFAULT_TAIL_LIMITS: TailLimits = { intervalMs: 200, chunkBytes: 256 * 1024, maxLagBytes: 1024 * 1024 };

type StreamName = 'stdout' | 'stderr';

/** One file being followed: how far it has been sent, and the bytes of a character cut in two by a read. */
class FileCursor {
  offset = 0;
  private decoder = new StringDecoder('utf8');

  constructor(readonly file: string) {}

  /** The text since the last read (at most `limits.chunkBytes` of it), or null when nothing is new. */
  async read(limits: TailLimits): Promise<string | null> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(this.file, 'r');
    } catch {
      return null; // not written yet, or gone
    }
    try {
      const { size } = await handle.stat();
      if (size < this.offset) {
        // Truncated under us (a program that rewrites its log): start again from its start.
        this.offset = 0;
        this.decoder = new StringDecoder('utf8');
      }
      if (size === this.offset) return null;
      let notice = '';
      if (size - this.offset > limits.maxLagBytes) {
        const from = await startOfLine(handle, size - limits.chunkBytes, size);
        notice = `[Jobdeck: ${formatBytes(from - this.offset)} of output skipped to keep up; download the output for all of it]\n`;
        this.offset = from;
        this.decoder = new StringDecoder('utf8');
      }
      const length = Math.min(size - this.offset, limits.chunkBytes);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, this.offset);
      this.offset += bytesRead;
      return notice + this.decoder.write(buffer.subarray(0, bytesRead));
    } finally {
      await handle.close();
    }
  }

  /** Whether everything the file holds now has been sent. */
  async atEnd(): Promise<boolean> {
    try {
      return (await fsp.stat(this.file)).size <= this.offset;
    } catch {
      return true;
    }
  }
}

/** The first byte after a newline at or after `from` (so a skip starts on a whole line), or `from` if none. */
async function startOfLine(handle: fsp.FileHandle, from: number, size: number): Promise<number> {
  const probe = Buffer.allocUnsafe(Math.min(64 * 1024, size - from));
  const { bytesRead } = await handle.read(probe, 0, probe.length, from);
  const newline = probe.subarray(0, bytesRead).indexOf(0x0a);
  return newline < 0 ? from : from + newline + 1;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${n} bytes`;
}

/**
 * Follows a job's stdout and stderr files for one jobs.follow stream and hands what is new to `send`, as UCloud's
 * `log` entries. It reads only while `canSend()` (the socket keeps up); a follower that falls behind skips ahead
 * instead of queueing, so neither a chatty job nor a slow socket grows the server's memory. After `finish()` (the
 * job ended) it sends what is left and stops.
 */
export class OutputTail {
  private readonly cursors: Record<StreamName, FileCursor>;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> | null = null;
  private finished = false;
  private stopped = false;

  constructor(
    files: OutputFiles,
    private readonly send: (log: LogChunk[]) => void,
    private readonly canSend: () => boolean,
    private readonly limits: TailLimits = DEFAULT_TAIL_LIMITS,
  ) {
    this.cursors = { stdout: new FileCursor(files.stdout), stderr: new FileCursor(files.stderr) };
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.look(), this.limits.intervalMs);
    this.timer.unref();
    void this.look();
  }

  /** The job has ended: send the rest of its output, then stop. */
  finish(): void {
    this.finished = true;
    void this.look();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at both files; looks never overlap. Resolves when this one (or the one under way) is done. */
  look(): Promise<void> {
    if (this.busy) return this.busy;
    this.busy = this.readBoth().finally(() => {
      this.busy = null;
    });
    return this.busy;
  }

  private async readBoth(): Promise<void> {
    if (this.stopped || !this.canSend()) return;
    const [stdout, stderr] = await Promise.all([this.cursors.stdout.read(this.limits), this.cursors.stderr.read(this.limits)]);
    if (this.stopped) return;
    if (stdout !== null || stderr !== null) this.send([{ rank: 0, stdout: stdout || null, stderr: stderr || null }]);
    if (this.finished && (await this.cursors.stdout.atEnd()) && (await this.cursors.stderr.atEnd())) this.stop();
  }
}
