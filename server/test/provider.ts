import { expect, vi } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config';
import { CALL_ID_HEADER, type Job, type JobState } from '../../contract/jobs';
import type { ProviderJobView } from '../provider/example-provider';
import { processStart } from '../provider/local/claim-files';
import { build, type TestApp } from './app';
import { getJob, statuses } from './jobs';

/** Delays short enough for tests; the verify loop is off unless a test turns it on. */
export const FAST: Partial<Config> = {
  exampleBackend: 'simulator',
  exampleQueueDelayMs: 30,
  exampleTickMs: 10,
  exampleBatchRunMs: 60_000,
  verifyIntervalMs: 0,
  providerRetryMs: 40,
  providerRetryMaxMs: 200,
};

/**
 * Real execution (the default backend): every job is a process on this machine, isolated as root. Jobs are stopped and
 * everything they held is removed when the app closes, so a test leaves nothing behind.
 */
export const REAL: Partial<Config> = {
  ...FAST,
  exampleBackend: 'local',
  exampleQueueDelayMs: 0,
  exampleKeepJobs: false,
  exampleGraceMs: 2_000,
  exampleTickMs: 20,
};

// A full run shares two cores with PGlite's WASM; give transitions room without ever waiting when they are quick.
// Every file that imports this module gets these timeouts.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 });

/** Bounded polling for asynchronous transitions. */
export const POLL = { timeout: 30_000, interval: 20 };

export async function waitForState(t: TestApp, id: string, state: JobState, token = t.tokens.user): Promise<Job> {
  await expect.poll(async () => (await getJob(t, id, token)).status.state, POLL).toBe(state);
  return getJob(t, id, token);
}

export async function waitForStatus(t: TestApp, id: string, pattern: RegExp, token = t.tokens.user): Promise<Job> {
  await expect.poll(async () => statuses(await getJob(t, id, token)).some((s) => pattern.test(s)), POLL).toBe(true);
  return getJob(t, id, token);
}

export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The provider's own view of a job (pid, address, isolation, limits), as an operator reads it. */
export async function providerView(t: TestApp, id: string): Promise<ProviderJobView> {
  const response = await t.call('GET', `/ucloud/example/jobs/retrieve?id=${id}`, t.tokens.admin);
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as ProviderJobView;
}

/** Whether a process with this pid exists on this machine. */
export const alive = (pid: number): boolean => processStart(pid) !== null;

export interface RecordedCall {
  method: string;
  path: string;
  body: unknown;
  /** The Jobdeck-Call-Id header, if the request carried one. */
  callId: string | null;
}

/**
 * A stand-in provider on a real HTTP port: 'down' answers 503, 'refuse-create' answers 400 to creates, and
 * 'up' hands each request to the app's own provider routes. It records every request it receives.
 */
export class StubProvider {
  mode: 'down' | 'up' | 'refuse-create' = 'down';
  readonly calls: RecordedCall[] = [];
  /**
   * In 'up' mode, how many more requests to these paths have their answer lost: the app's provider routes apply
   * the request, then the stub cuts the connection instead of answering (a reset, as after a crash or a timeout).
   */
  loseAnswers = new Map<string, number>();
  /** The app whose provider routes answer in 'up' mode. */
  target: FastifyInstance | null = null;
  private server: http.Server | null = null;

  async listen(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        this.handle(req, res, body).catch((error: Error) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ why: `stub: ${error.message}`, errorCode: null }));
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * In a test: listens, builds a test app (build()) whose provider `example` is this stub, and puts that app's
   * provider routes behind it.
   */
  async front(config: Partial<Config>): Promise<TestApp> {
    const url = await this.listen();
    const app = await build({ ...config, providerUrls: { example: url } });
    this.target = app.app;
    return app;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, body: string) {
    const path = req.url ?? '/';
    const callId = req.headers[CALL_ID_HEADER];
    this.calls.push({ method: req.method ?? 'GET', path, body: body ? JSON.parse(body) : null, callId: typeof callId === 'string' ? callId : null });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (this.mode === 'down') return send(503, { why: 'The provider is down for maintenance', errorCode: null });
    if (this.mode === 'refuse-create' && path === '/ucloud/example/jobs') {
      return send(400, { why: 'items[0].specification: this provider cannot run the job', errorCode: null });
    }
    if (!this.target) return send(503, { why: 'No app behind the stub yet', errorCode: null });
    const response = await this.target.inject({
      method: req.method as 'GET' | 'POST',
      url: path,
      headers: {
        authorization: req.headers.authorization ?? '',
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(typeof callId === 'string' ? { [CALL_ID_HEADER]: callId } : {}),
      },
      ...(body ? { payload: body } : {}),
    });
    const lose = this.loseAnswers.get(path) ?? 0;
    if (lose > 0) {
      this.loseAnswers.set(path, lose - 1);
      req.socket.destroy();
      return;
    }
    res.writeHead(response.statusCode, { 'content-type': 'application/json' });
    res.end(response.body);
  }

  callsTo(suffix: string): RecordedCall[] {
    return this.calls.filter((c) => c.path.split('?')[0]!.endsWith(suffix));
  }

  async close() {
    if (!this.server) return;
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    // A keep-alive connection caught between two requests can hold close() open; nothing is pending on any.
    this.server.closeAllConnections();
    await closed;
    this.server = null;
  }
}
