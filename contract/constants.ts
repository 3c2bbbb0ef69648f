/*
 * The contract's plain values: what both the server and the SPA use at run time. No TypeBox import here, nor any
 * other, so the SPA can import this module as values without pulling TypeBox into its bundle; the schemas in
 * jobs.ts and tasks.ts are built from these.
 */

/** Every job state, in the order the contract's enum lists them (a 400 for a bad state names them so). */
export const JOB_STATES = ['IN_QUEUE', 'RUNNING', 'SUCCESS', 'FAILURE', 'EXPIRED', 'SUSPENDED'] as const;
export type JobStateName = (typeof JOB_STATES)[number];

/** States a job can still leave: the verify loop sends these jobs to providers (contract §5). */
export const ACTIVE_JOB_STATES = ['IN_QUEUE', 'RUNNING', 'SUSPENDED'] as const satisfies readonly JobStateName[];
/** States a job never leaves. */
export const FINAL_JOB_STATES = ['SUCCESS', 'FAILURE', 'EXPIRED'] as const satisfies readonly JobStateName[];

/** Takes any string (a database row, a query parameter), as the lists above hold only states. */
export function isActiveState(state: string): boolean {
  return (ACTIVE_JOB_STATES as readonly string[]).includes(state);
}

export function isFinalState(state: string): boolean {
  return (FINAL_JOB_STATES as readonly string[]).includes(state);
}

/** How many appended messages a Task carries, so a reload can rebuild the log (contract §6). */
export const TASK_MESSAGE_LIMIT = 1000;

/** Who a bearer token speaks for. */
export const ROLES = ['USER', 'SERVICE', 'PROVIDER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/**
 * A JobUpdate that changes nothing: every field null, timestamp 0 (the core stamps it). Spread it under the fields
 * an update sets. contract/jobs.ts checks it against the JobUpdate schema's type.
 */
export const EMPTY_JOB_UPDATE = Object.freeze({
  state: null,
  status: null,
  outputFolder: null,
  expectedState: null,
  expectedDifferentState: null,
  newTimeAllocation: null,
  timestamp: 0,
});
