import { HttpError } from './errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A write path that answers 503 while the process is overloaded (server/http/load-shed.ts). */
    shed?: boolean;
  }
}

/*
 * Load shedding (issue 7). Past its knee a process does not get faster by queueing more: every waiting request
 * adds latency for all of them, and memory. So a write path answers 503 with Retry-After while the process is
 * overloaded, before it has touched anything (nothing is half-written), and the client retries later.
 * Two signals: the event loop running late (everything on this process is slow), and, for task updates, the
 * status writer's queue (server/tasks/status-writer.ts). Both limits come from server/config.ts; 0 turns one off.
 */

export const OVERLOADED = 'OVERLOADED';

/** A 503 the error handler sends with `Retry-After`. */
export function overloaded(why: string, retryAfterS: number): HttpError {
  return new HttpError(503, why, OVERLOADED, retryAfterS);
}

/** Where the shedder reads how late the event loop runs (ms); tests give it a lag of their choosing. */
export interface LagSource {
  lagMs(): number;
  stop(): void;
}

/**
 * How late the event loop runs: a timer every SAMPLE_MS measures how much later than asked it fired. lagMs()
 * is the worst delay seen over the last WINDOW samples, so one long block (a big batch written on PGlite's
 * thread) is still visible to the requests parsed right after it. The clock is injectable, and sample() is what
 * the timer calls, so the arithmetic can be tested without timers.
 */
const SAMPLE_MS = 50;
const WINDOW = 10;

export class EventLoopLag implements LagSource {
  private readonly samples: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private last = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Starts sampling; `timer: false` leaves the sampling to the caller (tests call sample()). */
  start(options: { timer?: boolean } = {}): void {
    if (this.running) return;
    this.running = true;
    this.last = this.now();
    if (options.timer === false) return;
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** One tick of the sampling timer, due SAMPLE_MS after the previous one. */
  sample(): void {
    const now = this.now();
    this.samples.push(Math.max(0, now - this.last - SAMPLE_MS));
    if (this.samples.length > WINDOW) this.samples.shift();
    this.last = now;
  }

  /** The lag of a block still under way shows too: the time since the last sample beyond its interval. */
  lagMs(): number {
    if (!this.running) return 0;
    const current = Math.max(0, this.now() - this.last - SAMPLE_MS);
    return Math.max(current, ...this.samples);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.running = false;
    this.samples.length = 0;
  }
}

/** The event-loop lag of this process, sampled by a timer. */
export function eventLoopLag(): EventLoopLag {
  const lag = new EventLoopLag();
  lag.start();
  return lag;
}

export interface ShedLimits {
  /** Shed while the event loop runs this late (ms); 0: never. */
  maxLagMs: number;
  /** Retry-After, in seconds. */
  retryAfterS: number;
}

export class LoadShedder {
  /** Requests answered 503 since start (health, tests, benchmarks). */
  shed = 0;

  /** `lag`: this process's event loop by default (sampled even with shedding off, for /api/health). */
  constructor(
    readonly limits: ShedLimits,
    readonly lag: LagSource = eventLoopLag(),
  ) {}

  /** Throws the 503 if the process is too busy to take a write now. */
  check(): void {
    if (this.limits.maxLagMs <= 0) return;
    const lag = this.lag.lagMs();
    if (lag > this.limits.maxLagMs) {
      this.shed += 1;
      throw overloaded(
        `The server is overloaded (its event loop is ${Math.round(lag)} ms behind, the limit is ${this.limits.maxLagMs} ms); nothing was written, try again in ${this.limits.retryAfterS} s`,
        this.limits.retryAfterS,
      );
    }
  }

  stop(): void {
    this.lag.stop();
  }
}
