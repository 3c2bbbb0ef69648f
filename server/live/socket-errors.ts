import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';

/** At most one line per this long about sockets closed for what their client sent. */
export const SOCKET_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * @fastify/websocket's error handler. A frame over the size limit, or one that breaks the protocol, is the client's
 * doing: anyone can send them, so each one logging an error with a stack trace let anonymous clients flood the log.
 * They close the socket as before, and are logged as one warning line per interval with how many there were.
 * Anything else (a bug of ours) is still logged as an error.
 */
export function socketErrorHandler(log: FastifyBaseLogger, now: () => number = Date.now) {
  let lastLogged = -Infinity;
  let unlogged = 0;
  return (error: Error & { code?: string }, socket: WebSocket) => {
    socket.terminate();
    const fromClient = typeof error.code === 'string' && error.code.startsWith('WS_ERR_');
    if (!fromClient) {
      log.error({ err: error }, 'a WebSocket failed');
      return;
    }
    unlogged += 1;
    if (now() - lastLogged < SOCKET_ERROR_LOG_INTERVAL_MS) return;
    lastLogged = now();
    log.warn({ code: error.code, sockets: unlogged }, `closed WebSocket(s) after a bad frame (${error.message}); at most one line per ${SOCKET_ERROR_LOG_INTERVAL_MS / 1000} s`);
    unlogged = 0;
  };
}
