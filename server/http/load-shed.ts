import type { FastifyInstance, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import { HttpError } from './errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A write path that answers 503 while the process is overloaded (server/http/load-shed.ts). */
    shed?: boolean;
  }
}

/*
 * Load shedding. Past its knee a process does not get faster by queueing more: every waiting request adds latency
 * for all of them, and memory. So a write path answers 503 with Retry-After while the process is overloaded, before
 * it has touched anything (nothing is half-written), and the client retries later.
 * Two signals: the event loop running late (everything on this process is slow), measured by @fastify/under-pressure
 * (perf_hooks.monitorEventLoopDelay), and, for task updates, the status writer's queue (server/tasks/status-writer.ts).
 * Both limits come from server/config.ts; 0 turns one off.
 *
 * The queue signal stays in the writer rather than becoming an under-pressure `healthCheck`: a health check is
 * polled on a timer and sheds every route, while the queue limit must hold exactly, for each update at the moment
 * it would be queued, and only for the two calls that queue (postStatus, markAsComplete). Both signals answer the
 * same way: overloaded() below, through the app's error handler.
 */

export const OVERLOADED = 'OVERLOADED';

/** A 503 the error handler sends with `Retry-After`. */
export function overloaded(why: string, retryAfterS: number): HttpError {
  return new HttpError(503, why, OVERLOADED, retryAfterS);
}

export interface ShedLimits {
  /** Shed while the event loop runs this late (ms); 0: never. */
  maxLagMs: number;
  /** Retry-After, in seconds. */
  retryAfterS: number;
}

/**
 * How often under-pressure turns its histogram into a lag: the mean delay of the event loop over this interval, minus
 * the histogram's 10 ms resolution. A request between two samples is judged by the last one.
 */
export const LAG_SAMPLE_MS = 500;

/**
 * What under-pressure does with a request while the lag is over the limit: a route marked `config.shed` gets the
 * 503 `OVERLOADED`; any other passes (reads, sign-in, health), since answering them costs little and refusing them
 * would take the dashboard down with the writes.
 */
export function shedMarkedRoutes(limits: ShedLimits) {
  return (request: FastifyRequest, _reply: unknown, _type: string, value: number | undefined): Promise<void> | undefined => {
    if (!request.routeOptions.config.shed) return undefined;
    const behind = value === undefined ? '' : `its event loop is ${roundLag(value)} ms behind, `;
    return Promise.reject(
      overloaded(
        `The server is overloaded (${behind}the limit is ${limits.maxLagMs} ms); nothing was written, try again in ${limits.retryAfterS} s`,
        limits.retryAfterS,
      ),
    );
  };
}

/**
 * Registers the event-loop signal. Its onRequest hook runs where it is registered: after authentication (a 401/403
 * first), before the body is parsed. With shedding off the lag is still measured, for /api/health.
 */
export async function registerLoadShedding(app: FastifyInstance, limits: ShedLimits): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: Math.max(0, limits.maxLagMs),
    retryAfter: limits.retryAfterS,
    sampleInterval: LAG_SAMPLE_MS,
    pressureHandler: shedMarkedRoutes(limits),
  });
}

/**
 * A lag in whole ms, rounded up: under-pressure sheds when the lag is over the limit, so a lag just over it (200.3 ms
 * against 200) must not read as the limit itself, in the 503's message or in /api/health. under-pressure reports
 * Infinity for an interval with no histogram sample at all, that is a loop blocked for the whole interval: at least
 * LAG_SAMPLE_MS.
 */
function roundLag(ms: number): number {
  return Number.isFinite(ms) ? Math.ceil(ms) : LAG_SAMPLE_MS;
}

/** How late the event loop runs (whole ms), as the last sample measured it (/api/health). */
export function eventLoopLagMs(app: FastifyInstance): number {
  return roundLag(app.memoryUsage().eventLoopDelay);
}
