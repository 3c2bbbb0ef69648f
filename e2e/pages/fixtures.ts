import { test as base, expect, api, type Credentials } from '../fixtures';
import { ACTIVE_JOB_STATES } from '../../contract/constants';
import { ApplicationsPage, JobListPage, Shell } from './jobdeck';

/*
 * The job journeys' fixtures: the page objects, and a small REST client for
 * setting the scene on the real server (as any API client would).
 */

export interface JobSpec {
  application: { name: string; version: string };
  product?: { id: string; category: string; provider: string };
  name?: string | null;
  parameters?: Record<string, unknown> | null;
  resources?: unknown[] | null;
  timeAllocation?: { hours: number; minutes: number; seconds: number } | null;
  allowDuplicateJob?: boolean;
}

export interface JobView {
  id: string;
  status: { state: string };
  specification: JobSpec & { parameters?: Record<string, { type: string; path?: string }> | null };
}

const PRODUCT = { id: 'example-compute', category: 'example-compute', provider: 'example' };
const ACTIVE: ReadonlySet<string> = new Set(ACTIVE_JOB_STATES);

export class JobsApi {
  constructor(
    private readonly baseURL: string,
    private readonly token: string,
  ) {}

  private call<T>(method: string, url: string, body?: unknown): Promise<T> {
    return api(this.baseURL, this.token, method, url, body) as Promise<T>;
  }

  /** Creates a job; duplicates are allowed, so set-up never collides with another test's. */
  async create(spec: JobSpec): Promise<string> {
    const body = { items: [{ product: PRODUCT, replicas: 1, allowDuplicateJob: true, ...spec }] };
    const { responses } = await this.call<{ responses: { id: string }[] }>('POST', '/api/jobs', body);
    return responses[0]!.id;
  }

  retrieve(id: string): Promise<JobView> {
    return this.call<JobView>('GET', `/api/jobs/retrieve?id=${encodeURIComponent(id)}`);
  }

  async waitFor(id: string, state: string): Promise<void> {
    await expect.poll(async () => (await this.retrieve(id)).status.state, { timeout: 15_000 }).toBe(state);
  }

  async terminate(id: string): Promise<void> {
    await this.call('POST', '/api/jobs/terminate', { items: [{ id }] });
  }

  /** The user's jobs that are still active (queued, running or suspended). */
  async active(): Promise<JobView[]> {
    const found: JobView[] = [];
    let next: string | null = null;
    do {
      const query = `/api/jobs/browse?itemsPerPage=250&includeParameters=true${next ? `&next=${next}` : ''}`;
      const page: { items: JobView[]; next: string | null } = await this.call('GET', query);
      found.push(...page.items.filter((j) => ACTIVE.has(j.status.state)));
      next = page.next;
    } while (next);
    return found;
  }
}

export const test = base.extend<{
  shell: Shell;
  apps: ApplicationsPage;
  jobList: JobListPage;
  jobsApi: JobsApi;
}>({
  shell: async ({ page }, use) => use(new Shell(page)),
  apps: async ({ page }, use) => use(new ApplicationsPage(page)),
  jobList: async ({ page }, use) => use(new JobListPage(page)),
  jobsApi: async ({ baseURL, creds }, use) => use(new JobsApi(baseURL!, (creds as Credentials).user)),
});

export { expect };
