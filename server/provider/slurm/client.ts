import http from 'node:http';

/*
 * slurmrestd's REST API (openapi/v0.0.38, Slurm 22.05), over a unix socket (rest_auth/local: slurmrestd knows the
 * caller from the socket) or HTTP (auth/jwt: the token of SLURM_JWT). Only the calls the provider needs, typed as far
 * as it reads them.
 */

const API = '/slurm/v0.0.38';

/** slurmrestd gave no answer at all: the cluster cannot be reached. Never a reason to fail a job. */
export class SlurmUnreachable extends Error {}

/** slurmrestd answered with errors: the request was refused (a bad partition, a permission, an unknown job). */
export class SlurmRefused extends Error {
  constructor(
    readonly status: number,
    readonly errors: SlurmErrorEntry[],
  ) {
    super(errors.map((e) => e.error || e.description).filter(Boolean).join('; ') || `HTTP ${status}`);
  }
  /** Slurm's "Invalid job id specified" (2017): the controller does not know the job. */
  get unknownJob(): boolean {
    return this.errors.some((e) => (e.error_number ?? e.error_code) === 2017);
  }
}

export interface SlurmErrorEntry {
  error?: string;
  error_number?: number;
  error_code?: number;
  description?: string;
}

export interface SlurmJob {
  job_id: number;
  name: string;
  job_state: string;
  state_reason: string;
  partition: string;
  /** The nodes it runs on (empty while it waits). */
  nodes: string;
  exit_code: number | null;
  time_limit: number | null;
  user_id: number;
  user_name: string;
  start_time: number;
  end_time: number;
  standard_output?: string;
}

export interface SlurmPartition {
  name: string;
  nodes: string;
  state: string;
  total_cpus: number;
  max_time_limit: number;
  flags: string[];
}

export interface SlurmNode {
  name: string;
  cpus: number;
  real_memory: number;
  partitions: string[];
  state: string;
}

export interface SubmitRequest {
  job: {
    name: string;
    partition: string;
    time_limit?: number;
    current_working_directory: string;
    standard_output: string;
    standard_error: string;
    environment: Record<string, string>;
    comment?: string;
  };
  script: string;
}

export interface SlurmClientOptions {
  /** `unix:/path/to/socket` or `http://host:port` (then `jwt` is required). */
  url: string;
  jwt?: string | null;
  timeoutMs?: number;
}

/** The user name in a Slurm JWT (`sun`), which auth/jwt wants beside the token. */
function jwtUser(jwt: string): string | null {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sun?: unknown };
    return typeof payload.sun === 'string' ? payload.sun : null;
  } catch {
    return null;
  }
}

export class SlurmClient {
  private readonly socketPath: string | null;
  private readonly base: URL | null;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(opts: SlurmClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.headers = {};
    if (opts.url.startsWith('unix:')) {
      this.socketPath = opts.url.slice('unix:'.length);
      this.base = null;
    } else if (/^http:\/\//.test(opts.url)) {
      if (!opts.jwt) throw new Error(`JOBDECK_SLURM_URL ${opts.url} is HTTP: set SLURM_JWT to a token of the account jobs run as`);
      this.socketPath = null;
      this.base = new URL(opts.url);
      this.headers['x-slurm-user-token'] = opts.jwt;
      const user = jwtUser(opts.jwt);
      if (user) this.headers['x-slurm-user-name'] = user;
    } else {
      throw new Error(`JOBDECK_SLURM_URL must be unix:/path/to/socket or http://host:port, got '${opts.url}'`);
    }
  }

  /** Where the cluster is, for messages (never holds the token). */
  get where(): string {
    return this.socketPath ? `unix:${this.socketPath}` : this.base!.origin;
  }

  async ping(): Promise<void> {
    await this.call('GET', '/ping');
  }

  async partitions(): Promise<SlurmPartition[]> {
    return ((await this.call('GET', '/partitions')) as { partitions?: SlurmPartition[] }).partitions ?? [];
  }

  async nodes(): Promise<SlurmNode[]> {
    return ((await this.call('GET', '/nodes')) as { nodes?: SlurmNode[] }).nodes ?? [];
  }

  /** Every job the controller knows: one call, however many jobs Jobdeck has. */
  async jobs(): Promise<SlurmJob[]> {
    return ((await this.call('GET', '/jobs')) as { jobs?: SlurmJob[] }).jobs ?? [];
  }

  async job(id: number): Promise<SlurmJob | null> {
    try {
      return ((await this.call('GET', `/job/${id}`)) as { jobs?: SlurmJob[] }).jobs?.[0] ?? null;
    } catch (error) {
      if (error instanceof SlurmRefused && error.unknownJob) return null;
      throw error;
    }
  }

  async submit(request: SubmitRequest): Promise<number> {
    const body = (await this.call('POST', '/job/submit', request)) as { job_id?: number };
    if (typeof body.job_id !== 'number') throw new SlurmRefused(200, [{ error: 'slurmrestd returned no job_id' }]);
    return body.job_id;
  }

  /** Cancels a job; one the controller no longer knows is already gone. */
  async cancel(id: number): Promise<void> {
    try {
      await this.call('DELETE', `/job/${id}`);
    } catch (error) {
      if (error instanceof SlurmRefused && error.unknownJob) return;
      throw error;
    }
  }

  /** Sets a job's time limit, in minutes (raising one needs an operator). */
  async setTimeLimit(id: number, minutes: number): Promise<void> {
    await this.call('POST', `/job/${id}`, { time_limit: minutes });
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const { status, text } = await this.request(method, API + path, body === undefined ? undefined : JSON.stringify(body));
    let parsed: { errors?: SlurmErrorEntry[] } & Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new SlurmRefused(status, [{ error: text.slice(0, 200) || `HTTP ${status} without a body` }]);
    }
    // A 2xx may still list notices as errors (a held job's "pending scheduler release"): the status decides.
    if (status >= 300) throw new SlurmRefused(status, parsed.errors ?? []);
    return parsed;
  }

  private request(method: string, path: string, json: string | undefined): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...this.headers, accept: 'application/json' };
      if (json !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(json));
      }
      const req = http.request(
        this.socketPath
          ? { socketPath: this.socketPath, path, method, headers, host: 'slurmrestd' }
          : { host: this.base!.hostname, port: this.base!.port || 80, path, method, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(new SlurmUnreachable(e.message)));
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error('no answer before the time limit')));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new SlurmUnreachable(e.code ? `${e.code}: ${e.message}` : e.message)));
      if (json !== undefined) req.write(json);
      req.end();
    });
  }
}
