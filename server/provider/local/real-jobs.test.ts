import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { describeWhere } from './prerequisite';
import type { Config } from '../../config';
import { build, restart, type TestApp } from '../../test/app';
import { batch, createJob, getJob, spec, statuses, terminate, webApp } from '../../test/jobs';
import { POLL, REAL, alive, providerView, waitForState, waitForStatus } from '../../test/provider';
import { probeIsolation } from './network';

/*
 * The built-in provider's default backend: every job here is a real process on this machine, started from the
 * catalog's run definitions. As root (CI), each job has its own network namespace and firewall; the tests enter them
 * with nsenter, as an operator would.
 */

const run = promisify(execFile);


const probe = await probeIsolation();

async function open(config: Partial<Config> = {}): Promise<TestApp> {
  return build({ ...REAL, ...config });
}

function output(t: TestApp, id: string): string {
  return fs.readFileSync(path.join(t.parts.example!.local!.runDir(id), 'stdout.log'), 'utf8');
}

const database = (dataStore = '/123/acme-database') =>
  spec({
    application: { name: 'acme-database', version: '1.0.0' },
    parameters: { dataStore: { type: 'file', path: dataStore, readOnly: false } },
  });

/** A TCP connection from inside a job's network namespace; 'connected', or the error's code. */
async function connectFrom(pid: number, host: string, port: number, timeoutMs = 1_500): Promise<string> {
  const script = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port}});` +
    `s.setTimeout(${timeoutMs},()=>{console.log('timeout');process.exit(0)});` +
    `s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`;
  const { stdout } = await run('nsenter', ['-t', String(pid), '-n', '-m', process.execPath, '-e', script]);
  return stdout.trim();
}

describe('real jobs', () => {
  it('a job created while the provider is still starting waits for its runner, then really runs', async () => {
    const t = await open();
    const provider = t.parts.example!;
    // Stopped, as it is before the runner is set up; the core's create still reaches it.
    await provider.stop();
    const id = await createJob(t, webApp());
    await expect.poll(async () => (await providerView(t, id)).state, POLL).toBe('IN_QUEUE');
    await provider.tick();
    expect((await providerView(t, id)).state).toBe('IN_QUEUE');
    await provider.start();
    await waitForState(t, id, 'RUNNING');
    const { pid } = await providerView(t, id);
    expect(pid).not.toBeNull();
    expect(alive(pid!)).toBe(true);
  });

  it("runs seed 000's acme-batch to SUCCESS, printing its value", async () => {
    const t = await open();
    const id = await createJob(t, batch());
    const job = await waitForState(t, id, 'SUCCESS');
    expect(statuses(job).at(-1)).toMatch(/exit code 0/);
    expect(output(t, id)).toContain('Hello, World!');
    expect((await providerView(t, id)).pid).toBeNull();

    // Its output is copied into the user's files, as a task with true counts, and the job names the folder.
    await expect.poll(async () => (await getJob(t, id)).output?.outputFolder ?? null, POLL).toBe(`/Jobs/acme-batch/${id}`);
    const folder = path.join(t.dataDir, 'storage', 'u_user', 'Jobs', 'acme-batch', id);
    expect(fs.readFileSync(path.join(folder, 'stdout.txt'), 'utf8')).toBe(output(t, id));
    const bytes = fs.statSync(path.join(folder, 'stdout.txt')).size + fs.statSync(path.join(folder, 'stderr.txt')).size;
    const tasks = (await t.call('GET', '/api/tasks?itemsPerPage=50&page=0', t.tokens.user)).json().items as {
      title: string;
      complete: boolean;
      status: string;
      progress: { current: number; maximum: number } | null;
      messages: string[];
    }[];
    const task = tasks.find((x) => x.title === `Collecting the output of job ${id}`)!;
    expect(task).toMatchObject({ complete: true, progress: { current: bytes, maximum: bytes } });
    expect(task.status).toMatch(new RegExp(`^Copied 2 files \\(.*\\) to /Jobs/acme-batch/${id} in `));
    expect(task.messages).toEqual(expect.arrayContaining([expect.stringMatching(/^stdout\.txt \(/)]));
  });

  it('runs acme-simulation with its typed values on its command line to SUCCESS, a line per step', async () => {
    const t = await open();
    const id = await createJob(t, spec({
      application: { name: 'acme-simulation', version: '1.0.0' },
      parameters: {
        steps: { type: 'integer', value: 3 },
        rate: { type: 'floating_point', value: 0.5 },
        model: { type: 'text', value: 'linear' },
        noise: { type: 'boolean', value: false },
        label: { type: 'text', value: 'typed' },
      },
    }));
    const job = await waitForState(t, id, 'SUCCESS');
    expect(statuses(job).at(-1)).toMatch(/exit code 0/);
    expect(output(t, id).split('\n').filter((line) => line.startsWith('step '))).toEqual(['step 1/3: 1.50000 (33 %)', 'step 2/3: 2.00000 (67 %)', 'step 3/3: 2.50000 (100 %)']);
    expect(output(t, id)).toContain('Result "typed": linear growth at rate 0.5 over 3 steps: 2.50000');
  });

  it('fails a job whose program exits non-zero, naming the code', async () => {
    const t = await open();
    // acme-batch cannot process an empty value.
    const id = await createJob(t, batch({ parameters: { value: { type: 'text', value: '' } } }));
    const job = await waitForState(t, id, 'FAILURE');
    expect(statuses(job).at(-1)).toMatch(/The program failed with exit code [1-9]/);
  });

  it('fails a job whose process is killed behind its back, naming the signal', async () => {
    const t = await open();
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const { pid } = await providerView(t, id);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    const job = await waitForState(t, id, 'FAILURE');
    expect(statuses(job).at(-1)).toMatch(/killed by signal SIGKILL/);
  });

  it('terminates with SIGTERM: SUCCESS "Terminated by user", and the process is gone', async () => {
    const t = await open();
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const { pid } = await providerView(t, id);
    expect(alive(pid!)).toBe(true);
    await terminate(t, id);
    const job = await waitForState(t, id, 'SUCCESS');
    expect(statuses(job).at(-1)).toBe('Terminated by user');
    expect(alive(pid!)).toBe(false);
  });

  it('enforces the time allocation: EXPIRED, and the process is gone', async () => {
    const t = await open();
    const id = await createJob(t, webApp({ timeAllocation: { hours: 0, minutes: 0, seconds: 2 } }));
    await waitForState(t, id, 'RUNNING');
    const { pid } = await providerView(t, id);
    const job = await waitForState(t, id, 'EXPIRED');
    expect(statuses(job).at(-1)).toMatch(/Time allocation of 2 s used up/);
    expect(alive(pid!)).toBe(false);
  });

  it('moves the real deadline when a job is extended', async () => {
    const t = await open();
    const id = await createJob(t, webApp({ timeAllocation: { hours: 0, minutes: 0, seconds: 3 } }));
    await waitForState(t, id, 'RUNNING');
    const before = await providerView(t, id);
    const response = await t.call('POST', '/api/jobs/extend', t.tokens.user, {
      items: [{ jobId: id, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }],
    });
    expect(response.statusCode, response.body).toBe(200);
    await waitForStatus(t, id, /extended by 1 h/);
    const after = await providerView(t, id);
    expect(after.expiresAt! - before.expiresAt!).toBe(3600_000);
    // Past the first deadline the process still runs.
    await expect.poll(() => Date.now() > before.expiresAt! + 500, POLL).toBe(true);
    await t.parts.example!.tick();
    expect((await getJob(t, id)).status.state).toBe('RUNNING');
    expect(alive(after.pid!)).toBe(true);
  });

  it('a job outlives a restart of Jobdeck, and the restarted provider still runs it', async () => {
    const first = await build({ ...REAL, exampleKeepJobs: true });
    const id = await createJob(first, webApp());
    await waitForState(first, id, 'RUNNING');
    const { pid } = await providerView(first, id);
    const t = await restart(first, { ...REAL });
    expect(alive(pid!)).toBe(true);
    expect((await providerView(t, id)).pid).toBe(pid);
    expect((await getJob(t, id)).status.state).toBe('RUNNING');
    await terminate(t, id);
    await waitForState(t, id, 'SUCCESS');
    expect(alive(pid!)).toBe(false);
  });

  it('a job that ended while Jobdeck was down gets its real outcome on the next start', async () => {
    const first = await build({ ...REAL, exampleKeepJobs: true });
    const id = await createJob(first, webApp());
    await waitForState(first, id, 'RUNNING');
    const { pid } = await providerView(first, id);
    const t = await restart(first, { ...REAL }, async () => {
      process.kill(pid!, 'SIGKILL');
      await expect.poll(() => alive(pid!), POLL).toBe(false);
    });
    const job = await waitForState(t, id, 'FAILURE');
    expect(statuses(job).at(-1)).toMatch(/killed by signal SIGKILL/);
  });

  it('an output copy that a stop cut short is made again on the next start, whole, reporting to the same task', async () => {
    const first = await build({ ...REAL, exampleKeepJobs: true });
    const id = await createJob(first, batch());
    await waitForState(first, id, 'SUCCESS');
    await expect.poll(async () => (await getJob(first, id)).output?.outputFolder ?? null, POLL).toBe(`/Jobs/acme-batch/${id}`);
    const jobs = path.join(first.dataDir, 'storage', 'u_user', 'Jobs', 'acme-batch');
    // What an interrupted copy leaves (server/provider/local/collect-queue.ts): the job still pending, its task open
    // with its progress, and a partial copy in the hidden folder beside the target, owned by the job's account.
    const task = (
      await first.call('PUT', '/api/tasks', first.tokens.provider, { title: `Collecting the output of job ${id}`, owner: 'user', initialStatus: 'Copying 2 files' })
    ).json().jobId as string;
    const t = await restart(first, { ...REAL }, async () => {
      const { uid, gid } = fs.statSync(jobs);
      fs.rmSync(path.join(jobs, id), { recursive: true });
      const partial = path.join(jobs, `.${id}.partial`);
      fs.mkdirSync(partial);
      fs.writeFileSync(path.join(partial, 'stdout.txt'), 'half');
      for (const entry of [partial, path.join(partial, 'stdout.txt')]) fs.chownSync(entry, uid, gid);
      await first.db.query(`UPDATE example_jobs SET output_pending = true, output_task = $2 WHERE job_id = $1`, [id, task]);
    });
    await expect
      .poll(async () => statuses(await getJob(t, id)).filter((s) => s === `Output copied to /Jobs/acme-batch/${id}`).length, POLL)
      .toBe(2);
    expect(fs.readFileSync(path.join(jobs, id, 'stdout.txt'), 'utf8')).toBe(output(t, id));
    expect(fs.existsSync(path.join(jobs, `.${id}.partial`))).toBe(false);
    const tasks = (await t.call('GET', '/api/tasks?itemsPerPage=50&page=0', t.tokens.user)).json().items as { jobId: string; complete: boolean; status: string }[];
    expect(tasks.find((x) => x.jobId === task)).toMatchObject({ complete: true, status: expect.stringMatching(/^Copied 2 files /) });
    const [row] = await t.db.query<{ output_pending: boolean }>(`SELECT output_pending FROM example_jobs WHERE job_id = $1`, [id]);
    expect(row!.output_pending).toBe(false);
  });

  it('a job whose time ran out while Jobdeck was down is stopped on the next start, saying so', async () => {
    const first = await build({ ...REAL, exampleKeepJobs: true });
    const id = await createJob(first, webApp({ timeAllocation: { hours: 0, minutes: 0, seconds: 3 } }));
    await waitForState(first, id, 'RUNNING');
    const { pid, expiresAt } = await providerView(first, id);
    const t = await restart(first, { ...REAL }, async () => {
      // Down until well past the deadline; the process runs on meanwhile.
      await expect.poll(() => Date.now() > expiresAt! + 3_000, { timeout: 30_000, interval: 100 }).toBe(true);
      expect(alive(pid!)).toBe(true);
    });
    const job = await waitForState(t, id, 'EXPIRED');
    expect(statuses(job).at(-1)).toMatch(/^Time allocation of 3 s ran out at \S+ while the provider was offline/);
    expect(alive(pid!)).toBe(false);
  });

  it('refuses a data store that leaves the user\'s files through a symbolic link', async () => {
    const t = await open();
    const first = await createJob(t, database('/escape'));
    await waitForState(t, first, 'RUNNING');
    await terminate(t, first);
    await waitForState(t, first, 'SUCCESS');
    const area = path.join(t.dataDir, 'storage', 'u_user');
    fs.rmSync(path.join(area, 'escape'), { recursive: true, force: true });
    fs.symlinkSync('/etc', path.join(area, 'escape'));
    const id = await createJob(t, database('/escape'));
    const job = await waitForState(t, id, 'FAILURE');
    expect(statuses(job).at(-1)).toMatch(/parameters\.dataStore: '\/escape' leads outside your files/);
  });
});

describeWhere(probe.isolated, probe.reason, 'real jobs, isolated (root)', () => {
  it("runs each user's jobs under an account of its own that cannot read Jobdeck's data or another user's files", async () => {
    const t = await open();
    const mallory = (await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'mallory' })).json().token as string;
    const mine = await createJob(t, database('/private'));
    const theirs = await createJob(t, webApp(), mallory);
    await waitForState(t, mine, 'RUNNING');
    await waitForState(t, theirs, 'RUNNING', mallory);
    const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    // RUNNING means the process exists; it drops to the job's account as it starts (the process is root for the
    // moment before its program runs), so wait for that rather than read the account at once.
    const accountOf = async (id: string) => {
      const pid = (await providerView(t, id)).pid!;
      await expect.poll(() => uidOf(pid), { timeout: 30_000, interval: 50 }).not.toBe(0);
      return uidOf(pid);
    };
    const myUid = await accountOf(mine);
    const theirUid = await accountOf(theirs);
    expect(theirUid).not.toBe(myUid);
    // What mallory's job account may do, checked by the kernel as it would check her job.
    const asMallory = (...argv: string[]) =>
      run('setpriv', [`--reuid=${theirUid}`, `--regid=${theirUid}`, '--clear-groups', '--', ...argv]).then(
        () => 'allowed',
        () => 'refused',
      );
    expect(await asMallory('cat', path.join(t.dataDir, 'credentials.json'))).toBe('refused');
    expect(await asMallory('ls', t.dataDir)).toBe('refused');
    expect(await asMallory('ls', path.join(t.dataDir, 'storage', 'u_user'))).toBe('refused');
    expect(await asMallory('ls', path.join(t.dataDir, 'runs', mine))).toBe('refused');
    expect(await asMallory('ls', path.join(t.dataDir, 'work', mine))).toBe('refused');
    // The check can pass: her own work folder is hers.
    expect(await asMallory('ls', path.join(t.dataDir, 'work', theirs))).toBe('allowed');
  });

  it("connects seed 001's pair for real, keeps others out, and takes the name away when the database ends", async () => {
    const t = await open();
    const db = await createJob(t, database());
    await waitForState(t, db, 'RUNNING');
    // A new database is created first: seconds on a quiet machine, a minute or more on a loaded one.
    await expect.poll(() => output(t, db), { timeout: 240_000, interval: 100 }).toMatch(/Listening on/);
    const dbView = await providerView(t, db);
    expect(dbView.isolation).toBe('network-namespace');
    expect(dbView.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    const web = await createJob(t, webApp({ resources: [{ type: 'peer', hostname: 'database', jobId: db }] }));
    await waitForStatus(t, web, new RegExp(`Connected to job ${db} as 'database'`));
    const webView = await providerView(t, web);
    const { stdout } = await run('nsenter', ['-t', String(webView.pid), '-n', '-m', 'getent', 'hosts', 'database']);
    expect(stdout.trim().split(/\s+/)[0]).toBe(dbView.address);
    expect(await connectFrom(webView.pid!, 'database', 5432)).toBe('connected');

    // Jobdeck itself reaches the web app (its interface): each page view is counted in the database.
    const base = `http://${webView.address}:8080`;
    await expect.poll(async () => (await (await fetch(`${base}/`)).text()).includes('Connected to the database at database:5432'), { timeout: 60_000, interval: 100 }).toBe(true);
    const visits = async () => ((await (await fetch(`${base}/api/visits`)).json()) as { visits: number }).visits;
    const a = await visits();
    await fetch(`${base}/`);
    expect(await visits()).toBe(a + 1);

    const stranger = await createJob(t, webApp({ name: 'not-connected' }));
    await waitForState(t, stranger, 'RUNNING');
    expect(await connectFrom((await providerView(t, stranger)).pid!, dbView.address!, 5432)).toBe('timeout');

    await terminate(t, db);
    await waitForState(t, db, 'SUCCESS');
    expect(alive(dbView.pid!)).toBe(false);
    await waitForStatus(t, web, /Peer 'database' is gone/);
    await expect
      .poll(async () => (await run('nsenter', ['-t', String(webView.pid), '-n', '-m', 'getent', 'hosts', 'database']).catch((e) => e)).stdout ?? '', POLL)
      .toBe('');
  });
});

describe('real jobs without isolation', () => {
  it('runs the pair as plain processes, says isolation is off, and passes peer addresses in the environment', async () => {
    const t = await open({ exampleIsolation: 'off' });
    const db = await createJob(t, database());
    await waitForState(t, db, 'RUNNING');
    const dbView = await providerView(t, db);
    expect(dbView.isolation).toBe('none');
    expect(dbView.address).toBeNull();
    expect(statuses(await getJob(t, db)).join('\n')).toMatch(/Network isolation is OFF/);
    const firewall = await t.call('GET', `/ucloud/example/jobs/firewall?id=${db}`, t.tokens.admin);
    expect(firewall.json().isolation).toBe('none');

    const web = await createJob(t, webApp({ resources: [{ type: 'peer', hostname: 'database', jobId: db }] }));
    await waitForState(t, web, 'RUNNING');
    await expect.poll(() => output(t, web), POLL).toMatch(/Listening on (127\.\d+\.\d+\.\d+):8080/);
    const address = /Listening on (127\.\d+\.\d+\.\d+):8080/.exec(output(t, web))![1];
    const page = async () => (await fetch(`http://${address}:8080/api/visits`)).json() as Promise<{ connected: boolean }>;
    await expect.poll(async () => (await page()).connected, { timeout: 240_000, interval: 200 }).toBe(true);
  });
});
