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
  lines: OutputLine[] = [];
  /** Lines dropped from the front, so far: keeps line keys and numbers stable as the window moves. */
  dropped = 0;
  private partial: Record<OutputStream, string> = { stdout: '', stderr: '' };
  private listeners = new Set<() => void>();
  /** Bumped on every change, for useSyncExternalStore. */
  version = 0;

  constructor(private readonly maxLines = MAX_OUTPUT_LINES) {}

  /** A follow (re)started: the server sends the output from its start again. */
  reset(): void {
    this.lines = [];
    this.dropped = 0;
    this.partial = { stdout: '', stderr: '' };
    this.changed();
  }

  append(log: readonly JobsLog[]): void {
    let any = false;
    for (const entry of log) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const text = entry[stream];
        if (!text) continue;
        any = true;
        const parts = (this.partial[stream] + text).split('\n');
        this.partial[stream] = parts.pop()!;
        for (const line of parts) this.lines.push({ text: line.endsWith('\r') ? line.slice(0, -1) : line, stream });
      }
    }
    if (!any) return;
    // Trimmed in steps of a tenth, so a fast job's lines are not copied on every message.
    const over = this.lines.length - this.maxLines;
    if (over > this.maxLines / 10) {
      this.lines = this.lines.slice(over);
      this.dropped += over;
    }
    this.changed();
  }

  /** How many lines there are to show: the whole lines, then each stream's unfinished one. */
  get count(): number {
    return this.lines.length + (this.partial.stdout ? 1 : 0) + (this.partial.stderr ? 1 : 0);
  }

  /** The line shown at `index` (0 ≤ index < count), without copying the lines. */
  at(index: number): OutputLine {
    if (index < this.lines.length) return this.lines[index]!;
    const unfinished: OutputLine[] = [];
    if (this.partial.stdout) unfinished.push({ text: this.partial.stdout, stream: 'stdout' });
    if (this.partial.stderr) unfinished.push({ text: this.partial.stderr, stream: 'stderr' });
    return unfinished[index - this.lines.length]!;
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
