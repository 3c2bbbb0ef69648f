import fs from 'node:fs';
import { formatDuration } from '../messages';
import { minutesOf } from './script';

/** The status lines the slurm provider writes (besides states.ts's), each read by a person on the job's timeline. */
export const text = {
  submitted: (slurmId: number, partition: string, ms: number | null) =>
    `Submitted to Slurm as job ${slurmId} on partition '${partition}'${ms !== null ? ` with a time limit of ${formatDuration(minutesOf(ms) * 60_000)}` : ''}`,
  notSubmitted: (why: string) => `The job could not be submitted to Slurm: ${why}`,
  unreachable: (where: string, why: string) =>
    `The Slurm cluster cannot be reached (${where}: ${why}). The job's state is not known until it can; Jobdeck keeps trying and fails no job meanwhile`,
  reachable: () => 'The Slurm cluster can be reached again',
  extended: (byMs: number, totalMs: number) => `Time limit raised by ${formatDuration(byMs)}, to ${formatDuration(totalMs)} in total`,
  notExtended: (why: string) => `Slurm did not raise the time limit: ${why}`,
};

/** The last line a job wrote to its stderr, for a failure's status line (the last 4 KiB are enough). */
export function lastLine(file: string): string | null {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.min(size, 4096));
      fs.readSync(fd, buffer, 0, buffer.length, size - buffer.length);
      const lines = buffer.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
      return lines.at(-1)?.slice(0, 300) ?? null;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

