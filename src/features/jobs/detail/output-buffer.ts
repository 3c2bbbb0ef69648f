import type { JobsLog } from '@/api/types';

export type OutputStream = 'stdout' | 'stderr';

export interface OutputLine {
  text: string;
  stream: OutputStream;
}

/** The newest this many lines (up to a tenth more, between trims) are kept in the page; the download has all of them. */
export const MAX_OUTPUT_LINES = 20_000;

/**
 * A job's output as the page holds it: whole lines in arrival order (stdout and stderr interleaved as they came),
 * each stream's unfinished last line apart until its newline arrives, and how many lines fell off the front.
 * Bounded: a chatty job cannot grow the page's memory past MAX_OUTPUT_LINES lines.
 */
export class OutputBuffer {
  private kept: OutputLine[] = [];
  private droppedCount = 0;
  private partial: Record<OutputStream, string> = { stdout: '', stderr: '' };
  /** What came since the last read: split into lines only when the page next reads (once per frame at most). */
  private pending: JobsLog[] = [];
  private listeners = new Set<() => void>();
  /** Bumped on every change, for useSyncExternalStore. */
  version = 0;

  constructor(private readonly maxLines = MAX_OUTPUT_LINES) {}

  /** The whole lines kept, oldest first. */
  get lines(): readonly OutputLine[] {
    this.flush();
    return this.kept;
  }

  /** Lines dropped from the front, so far: keeps line keys and numbers stable as the window moves. */
  get dropped(): number {
    this.flush();
    return this.droppedCount;
  }

  /** A follow (re)started: the server sends the output from its start again. */
  reset(): void {
    this.kept = [];
    this.droppedCount = 0;
    this.partial = { stdout: '', stderr: '' };
    this.pending = [];
    this.changed();
  }

  /** Takes what a follow message brought; cheap, however much it is (see flush). */
  append(log: readonly JobsLog[]): void {
    if (!log.some((entry) => entry.stdout || entry.stderr)) return;
    this.pending.push(...log);
    this.changed();
  }

  /**
   * Splits what came since the last read into lines. Text that would only be trimmed again (more new lines than
   * the buffer keeps) is counted, not split: a chatty job's burst costs a scan for newlines, not a line object each.
   */
  private flush(): void {
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    let newlines = 0;
    for (const entry of pending) newlines += countNewlines(entry.stdout) + countNewlines(entry.stderr);
    let skip = newlines - this.maxLines;
    for (const entry of pending) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const text = entry[stream];
        if (!text) continue;
        const n = countNewlines(text);
        if (n > 0 && skip >= n) {
          // Every line this text completes would be trimmed: count them, keep only its unfinished end.
          skip -= n;
          this.droppedCount += n;
          this.partial[stream] = text.slice(text.lastIndexOf('\n') + 1);
          continue;
        }
        // Only a prefix of what came is skipped: everything after the first text kept is newer, and is kept.
        skip = 0;
        const parts = (this.partial[stream] + text).split('\n');
        this.partial[stream] = parts.pop()!;
        for (const line of parts) this.kept.push({ text: line.endsWith('\r') ? line.slice(0, -1) : line, stream });
      }
    }
    // Trimmed in steps of a tenth, so a fast job's lines are not copied on every read.
    const over = this.kept.length - this.maxLines;
    if (over > this.maxLines / 10) {
      this.kept = this.kept.slice(over);
      this.droppedCount += over;
    }
  }

  /** How many lines there are to show: the whole lines, then each stream's unfinished one. */
  get count(): number {
    this.flush();
    return this.kept.length + (this.partial.stdout ? 1 : 0) + (this.partial.stderr ? 1 : 0);
  }

  /** The line shown at `index` (0 ≤ index < count), without copying the lines. */
  at(index: number): OutputLine {
    this.flush();
    if (index < this.kept.length) return this.kept[index]!;
    const unfinished: OutputLine[] = [];
    if (this.partial.stdout) unfinished.push({ text: this.partial.stdout, stream: 'stdout' });
    if (this.partial.stderr) unfinished.push({ text: this.partial.stderr, stream: 'stderr' });
    return unfinished[index - this.kept.length]!;
  }

  /** Every line to show, copied (for tests and small logs). */
  view(): OutputLine[] {
    return Array.from({ length: this.count }, (_, i) => this.at(i));
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private changed() {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }
}

function countNewlines(text: string | null | undefined): number {
  if (!text) return 0;
  let n = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) n++;
  return n;
}
