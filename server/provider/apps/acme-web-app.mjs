// @ts-check
/**
 * acme-web-app: a web page that counts its visits in a PostgreSQL database (README.md in this folder).
 *
 *   node acme-web-app.mjs [--port=8080] [--database=database:5432]
 *
 * Routes: GET / (the page; counts a visit), GET /health, GET /api/visits, WebSocket /ws (echo).
 * The database is optional: without one the page says why it is not connected, and every page view tries again.
 *
 * Exit codes: 0 stopped by SIGTERM, 1 could not start, 64 bad command line, 78 bad JOBDECK_BIND_ADDRESS or
 * JOBDECK_PEERS.
 */

import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import { WebSocketServer } from 'ws';
import { EXIT, bindAddress, hostPort, onTerminate, parseOptions, parsePort, usageError } from './common.mjs';
import { PeersConfigError, resolvePeer } from './peers.mjs';

const USAGE = 'acme-web-app.mjs [--port=8080] [--database=database:5432]';

const options = parseOptions(USAGE, {
  port: { type: 'string', default: '8080' },
  database: { type: 'string', default: 'database:5432' },
});
const port = parsePort(options.port ?? '8080', '--port', USAGE);
const target = parseTarget(options.database ?? '');
const host = bindAddress();
try {
  resolvePeer(target.host);
} catch (error) {
  if (!(error instanceof PeersConfigError)) throw error;
  process.stderr.write(`acme-web-app: ${error.message}\n`);
  process.exit(EXIT.config);
}

/**
 * `--database=host[:port]`, where host is a name, an IPv4 address or an IPv6 address in brackets.
 * @param {string} text
 * @returns {{host: string, port: number, label: string}}
 */
function parseTarget(text) {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(text);
  const name = match?.[1] ?? match?.[2];
  if (!match || name === undefined || (match[1] !== undefined && !net.isIPv6(match[1]))) {
    usageError(`acme-web-app.mjs: --database must be <host>:<port>, such as database:5432, not "${text}"`, USAGE);
  }
  const dbPort = parsePort(match[3] ?? '5432', '--database port', USAGE);
  if (dbPort === 0) usageError('acme-web-app.mjs: the --database port cannot be 0', USAGE);
  return { host: name, port: dbPort, label: hostPort(name, dbPort) };
}

/**
 * A readable reason for an error (Node's multi-address connect errors are AggregateErrors with an empty message).
 * @param {unknown} error
 * @returns {string}
 */
function reasonOf(error) {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(reasonOf))].join('; ');
  }
  if (error instanceof Error) {
    const code = /** @type {NodeJS.ErrnoException} */ (error).code;
    return error.message || code || error.name;
  }
  return String(error);
}

/**
 * Whether a query error is the database's own answer (SQLSTATE) rather than a broken or stuck connection.
 * @param {unknown} error
 */
function isDatabaseError(error) {
  return error instanceof pg.DatabaseError;
}

const CREATE_TABLE = 'CREATE TABLE IF NOT EXISTS visits (id integer PRIMARY KEY, count bigint NOT NULL)';
const COUNT_VISIT =
  'INSERT INTO visits (id, count) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET count = visits.count + 1 RETURNING count';
const READ_VISITS = 'SELECT count FROM visits WHERE id = 1';

/**
 * What a page shows: connected with a count; connected but the statement failed; or not connected, and why.
 * @typedef {{connected: boolean, visits: number | null, error: string | null}} State
 */

/** One connection to the database, made again whenever it is needed and missing. */
class Database {
  constructor() {
    /** @type {pg.Client | null} */
    this.client = null;
    /** @type {Promise<void> | null} */
    this.connecting = null;
    /** @type {string} */
    this.lastError = 'not connected yet';
    /** @type {string | null} the last failure written to the log, so that a retry loop does not repeat it */
    this.loggedError = null;
    /** @type {NodeJS.Timeout | null} */
    this.retryTimer = null;
    this.retryMs = 1000;
    this.stopped = false;
    /** @type {Promise<unknown>} the last queued statement: one runs at a time (pg 8 deprecates overlapping queries) */
    this.tail = Promise.resolve();
  }

  /** Connected, or why not (waits for a connection attempt, at most the connect timeout). */
  async ensure() {
    if (this.client) return this.client;
    if (this.stopped) throw new Error('the web app is stopping');
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    await this.connecting;
    if (!this.client) throw new Error(this.lastError);
    return this.client;
  }

  async connect() {
    const address = resolvePeer(target.host);
    const via = address === target.host ? '' : ` (address ${address}, from JOBDECK_PEERS)`;
    const client = new pg.Client({
      host: address,
      port: target.port,
      user: 'postgres',
      database: 'postgres',
      ssl: false,
      application_name: 'acme-web-app',
      connectionTimeoutMillis: 2000,
      query_timeout: 5000,
      keepAlive: true,
    });
    client.on('error', (error) => this.lost(client, reasonOf(error)));
    client.on('end', () => this.lost(client, 'the database closed the connection'));
    try {
      await client.connect();
      await client.query(CREATE_TABLE);
    } catch (error) {
      this.discard(client);
      this.lastError = reasonOf(error);
      if (this.loggedError !== this.lastError) {
        console.log(`Cannot connect to the database at ${target.label}${via}: ${this.lastError}; will keep trying`);
        this.loggedError = this.lastError;
      }
      this.scheduleRetry();
      return;
    }
    if (this.stopped) {
      this.discard(client);
      return;
    }
    this.client = client;
    this.loggedError = null;
    this.retryMs = 1000;
    console.log(`Connected to the database at ${target.label}${via}`);
  }

  /**
   * Drops a connection that failed (its socket is destroyed, so no half-open connection lingers).
   * @param {pg.Client} client
   */
  discard(client) {
    client.removeAllListeners('end');
    client.on('error', () => {});
    client.end().catch(() => {});
    /** @type {{connection?: {stream?: {destroy?: () => void}}}} */ (/** @type {unknown} */ (client)).connection?.stream?.destroy?.();
  }

  /**
   * @param {pg.Client} client
   * @param {string} reason
   */
  lost(client, reason) {
    if (this.client !== client) return;
    this.client = null;
    this.discard(client);
    this.lastError = reason;
    this.loggedError = reason;
    console.log(`Disconnected from the database at ${target.label}: ${reason}`);
    this.scheduleRetry();
  }

  scheduleRetry() {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.client) this.ensure().catch(() => {});
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
  }

  /**
   * Runs one statement, after those queued before it; a failure that is not the database's own answer drops the
   * connection.
   * @param {string} sql
   * @returns {Promise<number | null>} the `count` column of the first row, if any
   */
  scalar(sql) {
    const run = this.tail.then(() => this.runScalar(sql));
    this.tail = run.catch(() => {});
    return run;
  }

  /**
   * @param {string} sql
   * @returns {Promise<number | null>}
   */
  async runScalar(sql) {
    const client = await this.ensure();
    try {
      const result = await client.query(sql);
      const value = result.rows[0]?.count;
      return value === undefined ? null : Number(value);
    } catch (error) {
      if (!isDatabaseError(error)) this.lost(client, reasonOf(error));
      throw error;
    }
  }

  /**
   * Counts a visit (`COUNT_VISIT`) or reads the count (`READ_VISITS`).
   * @param {string} sql
   * @returns {Promise<State>}
   */
  async visits(sql) {
    try {
      return { connected: true, visits: (await this.scalar(sql)) ?? 0, error: null };
    } catch (error) {
      // The database's own answer (a failed statement) means the connection is fine; anything else, not connected.
      return { connected: isDatabaseError(error) && this.client !== null, visits: null, error: reasonOf(error) };
    }
  }

  async stop() {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      await Promise.race([client.end().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 500))]);
      this.discard(client);
    }
  }
}

/**
 * @param {unknown} value
 * @returns {string}
 */
function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * @param {State} state
 * @returns {string}
 */
function page(state) {
  const database = escapeHtml(target.label);
  const status = !state.connected
    ? `<p class="error">Not connected to the database: ${escapeHtml(state.error)}</p>\n    <p>The page still works; it tries to connect to ${database} again on every view.</p>`
    : state.visits === null
      ? `<p class="ok">Connected to the database at ${database}</p>\n    <p class="error">Could not count this visit: ${escapeHtml(state.error)}</p>`
      : `<p class="ok">Connected to the database at ${database}</p>\n    <p class="visits">Visits: ${escapeHtml(state.visits)}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Acme web app</title>
  <style>
    body { font-family: system-ui, sans-serif; margin: 2rem; line-height: 1.5; color: #1a1a1a; }
    .ok { color: #176e2c; }
    .error { color: #a4161a; }
    .visits { font-size: 2rem; font-weight: bold; }
  </style>
</head>
<body>
  <main>
    <h1>Acme web app</h1>
    ${status}
    <p><small>Served at ${escapeHtml(new Date().toISOString())} by process ${escapeHtml(process.pid)}.</small></p>
  </main>
</body>
</html>
`;
}

const db = new Database();

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {string} type
 * @param {string} body
 * @param {boolean} [head] headers only
 */
function send(res, status, type, body, head = false) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const known = url.pathname === '/' || url.pathname === '/health' || url.pathname === '/api/visits';
  if (!known) {
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    return;
  }
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  const head = method === 'HEAD';
  if (url.pathname === '/health') {
    send(res, 200, 'text/plain; charset=utf-8', 'ok\n', head);
    return;
  }
  if (url.pathname === '/api/visits') {
    db.visits(READ_VISITS).then((state) => {
      const body = { connected: state.connected, visits: state.visits, database: target.label, ...(state.error === null ? {} : { error: state.error }) };
      send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`, head);
    });
    return;
  }
  // GET / counts a visit; HEAD / does not.
  db.visits(head ? READ_VISITS : COUNT_VISIT).then((s) => {
    if (!head) {
      const what = s.visits !== null ? `visit ${s.visits}` : s.connected ? `counting failed (${s.error})` : `not connected (${s.error})`;
      console.log(`GET / from ${req.socket.remoteAddress ?? '?'}: ${what}`);
    }
    send(res, 200, 'text/html; charset=utf-8', page(s), head);
  });
});

const sockets = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
server.on('upgrade', (req, socket, headBytes) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  sockets.handleUpgrade(req, socket, headBytes, (ws) => {
    const peer = hostPort(req.socket.remoteAddress ?? '?', req.socket.remotePort ?? 0);
    console.log(`WebSocket ${peer} connected`);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', () => console.log(`WebSocket ${peer} disconnected`));
    ws.on('error', (error) => console.log(`WebSocket ${peer} error: ${reasonOf(error)}`));
  });
});

onTerminate(async (signal) => {
  console.log(`Received ${signal}: stopping.`);
  for (const ws of sockets.clients) ws.close(1001, 'server stopping');
  const closed = new Promise((resolve) => server.close(() => resolve(undefined)));
  server.closeIdleConnections();
  setTimeout(() => {
    for (const ws of sockets.clients) ws.terminate();
    server.closeAllConnections();
  }, 300).unref();
  await db.stop();
  await closed;
  console.log('Stopped.');
});

server.on('error', (error) => {
  process.stderr.write(`acme-web-app: cannot listen on ${hostPort(host, port)}: ${reasonOf(error)}\n`);
  process.exit(EXIT.failure);
});
server.listen(port, host, () => {
  const address = server.address();
  const actual = address !== null && typeof address === 'object' ? address.port : port;
  console.log(`Listening on ${hostPort(host, actual)}`);
  console.log(`Using the database at ${target.label}`);
  db.ensure().catch(() => {});
});
