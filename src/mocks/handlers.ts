import { http, HttpResponse, ws, type JsonBodyType, type WebSocketHandlerConnection } from 'msw';
import type {
  BulkRequest,
  CommonErrorMessage,
  ConnectedJob,
  FindByStringId,
  Job,
  JobSpecification,
  JobState,
  JobsOpenInteractiveSessionRequest,
  JobsOpenInteractiveSessionResponse,
  PageV2,
  SocketRequest,
  WhoAmI,
} from '@/api/types';
import { applyUpdate, connectedTo, createJob, findJob, mockDb, onJobChange, onOutput, printedBy } from '@/mocks/db';
import { applications, isMockBearer, MOCK_SESSION, MOCK_USER, products } from '@/mocks/fixtures';
import { serveTasksListen, taskHandlers } from '@/mocks/tasks';
import { naturalKey } from '@/lib/natural';
import { ACTIVE_JOB_STATES, FINAL_JOB_STATES } from '@contract/constants';

/* The happy path. Tests override single calls with server.use(...). */

/**
 * Typed as `never` so a resolver's body type stays the success type: every
 * error response is a CommonErrorMessage regardless of the call.
 */
export function apiError(status: number, why: string, errorCode: string | null = null): HttpResponse<never> {
  return HttpResponse.json<CommonErrorMessage>({ why, errorCode }, { status }) as unknown as HttpResponse<never>;
}

const bearerOf = (request: Request) => request.headers.get('Authorization')?.replace(/^Bearer /, '') ?? null;

function authorized(request: Request): boolean {
  return isMockBearer(bearerOf(request));
}

const unauthorized = () => apiError(401, 'Missing or unknown token');

function page<T extends JsonBodyType>(items: T[], itemsPerPage: number, offset: number): PageV2<T> {
  const slice = items.slice(offset, offset + itemsPerPage);
  const next = offset + itemsPerPage < items.length ? String(offset + itemsPerPage) : null;
  return { items: slice, itemsPerPage, next };
}

/** Sorting by state: the order a job goes through them. */
const STATE_RANK: readonly JobState[] = [...ACTIVE_JOB_STATES, ...FINAL_JOB_STATES];
const SORT_KEYS: Record<string, (job: Job) => (string | number)[]> = {
  createdAt: (j) => [j.createdAt],
  name: (j) => [j.specification.name ? 0 : 1, naturalKey(j.specification.name ?? '')],
  application: (j) => [j.specification.application.name, j.specification.application.version],
  state: (j) => [STATE_RANK.indexOf(j.status.state)],
  lastUpdate: (j) => [j.updates.at(-1)?.timestamp ?? j.createdAt],
  expiresAt: (j) => [j.status.expiresAt == null ? 1 : 0, j.status.expiresAt ?? 0],
};

function compareKeys(a: (string | number)[], b: (string | number)[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return 0;
}

function withoutUpdates(job: Job, includeUpdates: boolean): Job {
  return includeUpdates ? job : { ...job, updates: [] };
}

const wsOrigin = () => `${window.location.origin.replace(/^http/, 'ws')}`;

/** Both socket paths; as on the server, each accepts every call. */
export const jobsSocket = ws.link(`${wsOrigin()}/api/jobs`);
export const tasksSocket = ws.link(`${wsOrigin()}/api/tasks`);

/** Streams the mock socket serves right now, so tests can wait for a subscription instead of sleeping. */
const openStreams = new Set<string>();
export function hasOpenStream(call: string, id?: string): boolean {
  return openStreams.has(id === undefined ? call : `${call}:${id}`);
}

/** Every socket opened (its path) and every call made on one, since the last reset: what crossed the wire. */
const wireLog = { sockets: [] as string[], calls: [] as string[] };
export function mockWireLog(): { sockets: readonly string[]; calls: readonly string[] } {
  return { sockets: [...wireLog.sockets], calls: [...wireLog.calls] };
}
export function resetMockWireLog(): void {
  wireLog.sockets = [];
  wireLog.calls = [];
}

export const handlers = [
  http.get('/api/auth/whoami', ({ request }) => {
    if (!authorized(request)) return unauthorized();
    return HttpResponse.json<WhoAmI>({ username: MOCK_USER, role: 'USER' });
  }),

  http.post('/api/auth/sessions', ({ request }) => {
    if (bearerOf(request) === MOCK_SESSION) return apiError(400, 'Authorization: this is a session token, which cannot open another session');
    if (!authorized(request)) return unauthorized();
    return HttpResponse.json({ username: MOCK_USER, role: 'USER', token: MOCK_SESSION, expiresAt: Date.now() + 12 * 3600_000 });
  }),

  http.post('/api/auth/sessions/end', ({ request }) => {
    if (bearerOf(request) !== MOCK_SESSION) return authorized(request) ? apiError(400, 'Authorization: this is an access token, not a session') : unauthorized();
    return HttpResponse.json({ ended: true });
  }),

  http.get('/api/hpc/apps/browse', ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const summaries = applications.map(({ name, version, title, description }) => ({ name, version, title, description }));
    return HttpResponse.json(page(summaries, 1000, 0));
  }),

  http.get('/api/hpc/apps/retrieve', ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const url = new URL(request.url);
    const app = applications.find((a) => a.name === url.searchParams.get('name') && a.version === url.searchParams.get('version'));
    if (!app) return apiError(404, 'No application with this name and version');
    return HttpResponse.json(app);
  }),

  http.get('/api/products/browse', ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const provider = new URL(request.url).searchParams.get('filterProvider');
    return HttpResponse.json(page(products.filter((p) => !provider || p.provider === provider), 1000, 0));
  }),

  http.get('/api/jobs/browse', ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const q = new URL(request.url).searchParams;
    const state = q.get('filterState') as JobState | null;
    const app = q.get('filterApplication');
    const itemsPerPage = Math.min(1000, Number(q.get('itemsPerPage') ?? 50) || 50);
    const offset = Number(q.get('next') ?? 0) || 0;
    const sortBy = q.get('sortBy') ?? 'createdAt';
    const key = SORT_KEYS[sortBy];
    if (!key) return apiError(400, `sortBy: must be one of ${Object.keys(SORT_KEYS).map((k) => `'${k}'`).join(', ')}`);
    const query = q.get('filterQuery')?.trim().toLowerCase() ?? '';
    const byQuery = (j: Job) => !query || (j.specification.name ?? '').toLowerCase().includes(query) || query.replace('#', '') === j.id;
    let items = mockDb.jobs.filter((j) => (!state || j.status.state === state) && (!app || j.specification.application.name === app) && byQuery(j));
    // The server's orders (contract/jobs.ts, JobsSortBy), simplified: nulls last only ascending, ties by id.
    items = [...items].sort((a, b) => compareKeys(key(a), key(b)) || Number(a.id) - Number(b.id));
    if (q.get('sortDirection') !== 'ascending') items.reverse();
    const includeUpdates = q.get('includeUpdates') === 'true';
    return HttpResponse.json(page(items.map((j) => withoutUpdates(j, includeUpdates)), itemsPerPage, offset));
  }),

  http.get('/api/jobs/output', ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const url = new URL(request.url);
    const id = url.searchParams.get('id') ?? '';
    const stream = url.searchParams.get('stream');
    if (!findJob(id)) return apiError(404, `id: no job '${id}'`);
    if (stream !== 'stdout' && stream !== 'stderr') return apiError(400, 'stream: must be stdout or stderr');
    return new HttpResponse(printedBy(id)[stream], { headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }),

  http.get('/api/jobs/retrieve', ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const job = findJob(new URL(request.url).searchParams.get('id') ?? '');
    if (!job) return apiError(404, 'No such job');
    return HttpResponse.json(job);
  }),

  http.get('/api/jobs/browseConnected', ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const id = new URL(request.url).searchParams.get('id') ?? '';
    if (!findJob(id)) return apiError(404, 'No such job');
    return HttpResponse.json<{ items: ConnectedJob[] }>({ items: connectedTo(id) });
  }),

  http.post('/api/jobs', async ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const body = (await request.json()) as BulkRequest<JobSpecification>;
    const responses: FindByStringId[] = [];
    for (const [index, spec] of body.items.entries()) {
      const result = createJob(spec, index);
      if (!result.ok) return apiError(result.status, result.why, result.errorCode);
      responses.push({ id: result.id });
    }
    return HttpResponse.json({ responses });
  }),

  // jobs.openInteractiveSession: a grant URL on the job's own origin, as the server answers it.
  http.post('/api/jobs/interactiveSession', async ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const body = (await request.json()) as JobsOpenInteractiveSessionRequest;
    const responses: JobsOpenInteractiveSessionResponse['responses'] = [];
    for (const [i, { id }] of body.items.entries()) {
      const job = findJob(id);
      if (!job) return apiError(404, `items[${i}].id: no job '${id}'`);
      if (job.status.state !== 'RUNNING') return apiError(409, `items[${i}].id: job ${id} is ${job.status.state}; its interface opens while it runs`, 'JOB_NOT_RUNNING');
      const origin = `http://job-${id}.localhost:8080`;
      responses.push({
        providerDomain: origin,
        providerId: job.specification.product.provider,
        session: { type: 'web', jobId: id, rank: 0, redirectClientTo: `${origin}/_jobdeck/grant?g=mock-grant-${id}`, expiresAt: Date.now() + 60_000 },
      });
    }
    return HttpResponse.json<JobsOpenInteractiveSessionResponse>({ responses });
  }),

  http.post('/api/jobs/terminate', async ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const body = (await request.json()) as BulkRequest<FindByStringId>;
    for (const { id } of body.items) if (!findJob(id)) return apiError(404, `items: job ${id} does not exist`);
    for (const { id } of body.items) applyUpdate(id, { state: 'SUCCESS', status: 'Terminated by user' });
    return HttpResponse.json({});
  }),

  http.post('/api/jobs/extend', async ({ request }) => {
    if (!authorized(request)) return unauthorized();
    const body = (await request.json()) as BulkRequest<{ jobId: string; requestedTime: { hours: number; minutes: number; seconds: number } }>;
    for (const { jobId } of body.items) {
      const job = findJob(jobId);
      if (!job) return apiError(404, `items: job ${jobId} does not exist`);
      if (job.status.state !== 'RUNNING') return apiError(400, `items: job ${jobId} is not running`);
    }
    for (const { jobId, requestedTime } of body.items) {
      const job = findJob(jobId);
      const a = job?.specification.timeAllocation ?? { hours: 0, minutes: 0, seconds: 0 };
      const applied = job?.updates.findLast((u) => u.newTimeAllocation != null)?.newTimeAllocation;
      const current = applied ?? (a.hours * 3600 + a.minutes * 60 + a.seconds) * 1000;
      const extra = (requestedTime.hours * 3600 + requestedTime.minutes * 60 + requestedTime.seconds) * 1000;
      applyUpdate(jobId, { newTimeAllocation: current + extra, status: `Time allocation extended by ${requestedTime.hours} h` });
    }
    return HttpResponse.json({});
  }),

  jobsSocket.addEventListener('connection', ({ client }) => serveSocket('/api/jobs', client)),
  tasksSocket.addEventListener('connection', ({ client }) => serveSocket('/api/tasks', client)),
  ...taskHandlers,
];

/** One mock socket: the jobs calls here, tasks.listen in mocks/tasks.ts. */
function serveSocket(path: string, client: WebSocketHandlerConnection['client']): void {
  wireLog.sockets.push(path);
  const tasks = serveTasksListen(client);
  const streams = new Map<string, { call: string; id?: string }>();
  const send = (streamId: string, payload: unknown) =>
    client.send(JSON.stringify({ type: 'message', streamId, payload }));
  const offOutput = onOutput((id, stdout, stderr) => {
    for (const [streamId, stream] of streams) {
      if (stream.call === 'jobs.follow' && stream.id === id) send(streamId, { updates: [], log: [{ rank: 0, stdout, stderr }], newStatus: null });
    }
  });
  const off = onJobChange((job, update) => {
    for (const [streamId, stream] of streams) {
      // As the server: the job with the update this change appended, not its history.
      if (stream.call === 'jobs.listen') send(streamId, { job: { ...job, updates: [update] } });
      if (stream.call === 'jobs.follow' && stream.id === job.id) send(streamId, { updates: [update], newStatus: job.status });
    }
  });
  const mine: string[] = [];
  const track = (key: string) => {
    mine.push(key);
    openStreams.add(key);
  };
  client.addEventListener('close', () => {
    off();
    offOutput();
    for (const key of mine) openStreams.delete(key);
  });
  client.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') return;
    const frame = JSON.parse(event.data) as SocketRequest;
    const end = (status: number, payload: unknown) =>
      client.send(JSON.stringify({ type: 'response', streamId: frame.streamId, status, payload }));
    if (!isMockBearer(frame.bearer)) return end(401, { why: 'Missing or unknown token', errorCode: null });
    wireLog.calls.push(frame.call);
    if (tasks.handle(frame)) return undefined;
    if (frame.call === 'jobs.listen') {
      streams.set(frame.streamId, { call: frame.call });
      track(frame.call);
    } else if (frame.call === 'jobs.follow') {
      const id = (frame.payload as { id?: string })?.id ?? '';
      const job = findJob(id);
      if (!job) return end(404, { why: 'No such job', errorCode: null });
      streams.set(frame.streamId, { call: frame.call, id });
      track(`${frame.call}:${id}`);
      send(frame.streamId, { initialJob: job });
      const { stdout, stderr } = printedBy(id);
      if (stdout || stderr) send(frame.streamId, { updates: [], log: [{ rank: 0, stdout: stdout || null, stderr: stderr || null }], newStatus: null });
    } else {
      end(400, { why: `Unknown call ${frame.call}`, errorCode: null });
    }
    return undefined;
  });
  }
