import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import YAML from 'yaml';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { build, sharedApp } from '../../test/app';
import { createJob, retrieve } from '../../test/jobs';
import { defaultCatalogPath } from '../../catalog/catalog';
import { describeWhere } from '../local/prerequisite';
import { cluster, operatorClusterUrl, scancel, scontrol, slurmPrerequisite, squeueState, testClusterUrl, timeLimitMinutes } from './testing';

/*
 * The slurm provider against a real one-node Slurm cluster (scripts/slurm-dev.sh, the tests' own state folder and
 * ports): real slurmctld, slurmd and slurmrestd, real jobs running as `nobody`. Nothing is mocked. The tests run in
 * order in one file, since the last ones stop slurmrestd and clear the controller's state.
 */

const { available, why } = slurmPrerequisite();

const seedBatch = (product: string, extra: Record<string, unknown> = {}) => ({
  application: { name: 'acme-batch', version: '1.0.0' },
  product: { id: product, category: product, provider: 'slurm' },
  name: null,
  replicas: 1,
  allowDuplicateJob: false,
  parameters: { debug: { type: 'boolean', value: true }, value: { type: 'text', value: 'Hello, World!' } },
  resources: null,
  timeAllocation: { hours: 1, minutes: 0, seconds: 0 },
  ...extra,
});

const spec = (application: string, product: string, parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  application: { name: application, version: '1.0.0' },
  product: { id: product, category: product, provider: 'slurm' },
  name: null,
  replicas: 1,
  allowDuplicateJob: false,
  parameters,
  resources: null,
  timeAllocation: { hours: 1, minutes: 0, seconds: 0 },
  ...extra,
});

/** acme-simulation's 1000 steps of 250 ms: it runs for minutes unless stopped. */
const longJob = () => spec('acme-simulation', 'batch', {
  steps: { type: 'integer', value: 1000 },
  rate: { type: 'floating_point', value: 0.1 },
  model: { type: 'text', value: 'linear' },
});

/** A catalog with one more application: `cat` of a path, to see what the jobs' account can read. */
function catalogWithCat(dir: string): string {
  const doc = YAML.parse(fs.readFileSync(defaultCatalogPath(), 'utf8'));
  doc.applications.push({
    name: 'read-file',
    version: '1.0.0',
    title: 'Read a file',
    description: 'Prints a file.',
    parameters: [{ name: 'path', type: 'text', title: 'Path' }],
    run: { command: '/bin/cat', args: ['{path}'] },
  });
  // acme-database itself, on a port of its own: this machine's PostgreSQL holds 5432, and on Slurm a job shares its node's network.
  const database = doc.applications.find((a: { name: string }) => a.name === 'acme-database');
  doc.applications.push({ ...database, name: 'acme-database-15433', run: { ...database.run, args: ['--data={dataStore}', '--port=15433'] } });
  // And two with a folder of the user's files: one leaves a file in it, the other lists it.
  for (const [name, command, args] of [['leave-marker', '/usr/bin/touch', ['{dir}/marker']], ['list-folder', '/bin/ls', ['-a', '{dir}']]] as const) {
    doc.applications.push({
      name,
      version: '1.0.0',
      title: name,
      description: 'Works in a folder of the user\'s files.',
      parameters: [{ name: 'dir', type: 'input_directory', title: 'Folder' }],
      run: { command, args },
    });
  }
  const file = path.join(dir, 'catalog.yaml');
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last as T;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

type Update = { state: string | null; status: string | null };

describeWhere(available, why, 'slurm provider on a real cluster', () => {
  let workDir: string;
  let catalogDir: string;
  const VERIFY_MS = 2_000;

  const job = (id: string) => retrieve(t, id);
  const stateOf = async (id: string) => (await job(id)).status.state as string;
  const statuses = async (id: string) => ((await job(id)).updates as Update[]).map((u) => u.status ?? '');
  const slurmIdOf = async (id: string) =>
    until(`job ${id} to be submitted`, async () => {
      const view = (await t.call('GET', `/ucloud/slurm/jobs/retrieve?id=${id}`, t.tokens.admin)).json();
      return view.slurmJobId as number | null;
    });

  beforeAll(async () => {
    cluster('start');
    workDir = path.join(os.tmpdir(), `jobdeck-slurm-work-${crypto.randomBytes(4).toString('hex')}`);
    catalogDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-slurm-catalog-'));
  }, 300_000);
  const t = sharedApp(
    () => ({
      slurmUrl: testClusterUrl(),
      slurmWorkDir: workDir,
      slurmPollMs: 300,
      slurmProductsMs: 500,
      verifyIntervalMs: VERIFY_MS,
      providerRetryMs: 100,
      providerRetryMaxMs: 500,
      catalogFile: catalogWithCat(catalogDir),
    }),
    {},
    300_000,
  );
  beforeAll(async () => {
    // As root the data dir is 0711 (server/data-dir.ts): enterable, not listable, its files 0600.
    fs.chmodSync(t.dataDir, 0o711);
    // Its partitions are products once its first poll has reached the cluster.
    await until('the partitions to be registered', async () => (await t.call('GET', '/api/products/browse?filterProvider=slurm', t.tokens.user)).json().items.length > 0, 120_000);
  }, 300_000);

  afterAll(async () => {
    // Before the cluster stops (the teardown's own close then does nothing); absent when the build failed.
    await t.close?.();
    // The tests' cluster goes with them (its state folder stays, for the logs); the next run starts it again.
    cluster('stop');
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.rmSync(catalogDir, { recursive: true, force: true });
  }, 120_000);

  it("offers the cluster's partitions as products, with CPUs and memory read from the cluster, and no peers", async () => {
    const products = await until('the partitions to be registered', async () => {
      const items = (await t.call('GET', '/api/products/browse?filterProvider=slurm', t.tokens.user)).json().items as { id: string }[];
      return items.length >= 2 ? items : null;
    });
    const batch = products.find((p) => p.id === 'batch');
    expect(batch).toMatchObject({ id: 'batch', category: 'batch', provider: 'slurm', cpu: os.cpus().length, gpu: 0, supportsPeers: false });
    // The dev cluster's node is configured with 90 % of this machine's memory (scripts/slurm-dev.sh).
    expect((batch as unknown as { memoryInGigs: number }).memoryInGigs).toBe(Math.floor((Math.floor(os.totalmem() / 1024 / 1024) * 9) / 10 / 1024));
    expect(products.map((p) => p.id).sort()).toEqual(['batch', 'short']);
  }, 180_000);

  it('reads the partitions again while it runs: one an operator adds becomes a product, and goes when removed', async () => {
    const browse = async () => ((await t.call('GET', '/api/products/browse?filterProvider=slurm', t.tokens.user)).json().items as { id: string }[]).map((p) => p.id).sort();
    const node = os.hostname().split('.')[0]!;
    scontrol('create', 'PartitionName=extra', `Nodes=${node}`, 'MaxTime=30', 'State=UP');
    try {
      await until('the new partition as a product', async () => (await browse()).includes('extra'));
      expect(await browse()).toEqual(['batch', 'extra', 'short']);
    } finally {
      scontrol('delete', 'PartitionName=extra');
    }
    await until('the removed partition to go', async () => !(await browse()).includes('extra'));
    expect(await browse()).toEqual(['batch', 'short']);
  }, 180_000);

  it("runs seed 000's acme-batch spec on a slurm product to SUCCESS, as the cluster's account, with its output readable", async () => {
    const id = await createJob(t, seedBatch('batch'));
    await until('SUCCESS', async () => (await stateOf(id)) === 'SUCCESS', 90_000);
    const lines = await statuses(id);
    expect(lines.some((l) => /^Submitted to Slurm as job \d+ on partition 'batch' with a time limit of 1 h$/.test(l))).toBe(true);
    expect(lines).toContain('The program finished (exit code 0)');
    const output = await t.call('GET', `/api/jobs/output?id=${id}&stream=stdout`, t.tokens.user);
    expect(output.statusCode).toBe(200);
    expect(output.body).toContain('Result: processed "Hello, World!" (13 characters, 2 words');
    // Its folder is the jobs' account's (slurmrestd runs as nobody), and no one else's.
    const stat = fs.statSync(path.join(workDir, id));
    expect(stat.uid).toBe(65534);
    expect(stat.mode & 0o777).toBe(0o700);
  }, 180_000);

  it("a job cannot read Jobdeck's data dir: it runs as the cluster's account", async () => {
    const id = await createJob(t, spec('read-file', 'batch', { path: { type: 'text', value: path.join(t.dataDir, 'credentials.json') } }));
    await until('FAILURE', async () => (await stateOf(id)) === 'FAILURE', 90_000);
    expect((await statuses(id)).at(-1)).toMatch(/^The program failed with exit code 1: .*credentials\.json: Permission denied$/);
  }, 180_000);

  it("file parameters name the owner's files on the shared work folder: made if missing, seen by the next job, never left", async () => {
    const folder = { dir: { type: 'file', path: '/project/data', readOnly: false } };
    const first = await createJob(t, spec('leave-marker', 'batch', folder));
    await until('the first job to succeed', async () => (await stateOf(first)) === 'SUCCESS', 90_000);
    const owner = (await job(first)).owner.createdBy as string;
    const area = path.join(workDir, 'storage', `u_${owner}`);
    // Made as the jobs' account, in an area that is theirs alone.
    expect(fs.statSync(path.join(area, 'project', 'data', 'marker')).uid).toBe(65534);
    expect(fs.statSync(area).mode & 0o777).toBe(0o700);

    const second = await createJob(t, spec('list-folder', 'batch', folder));
    await until('the second job to succeed', async () => (await stateOf(second)) === 'SUCCESS', 90_000);
    expect((await t.call('GET', `/api/jobs/output?id=${second}&stream=stdout`, t.tokens.user)).body.split('\n')).toContain('marker');

    // A symbolic link in the area that points out of it is refused before anything reaches Slurm.
    fs.symlinkSync('/etc', path.join(area, 'escape'));
    const escape = await createJob(t, spec('list-folder', 'batch', { dir: { type: 'file', path: '/escape', readOnly: false } }));
    await until('the escaping job to fail', async () => (await stateOf(escape)) === 'FAILURE', 90_000);
    expect((await statuses(escape)).at(-1)).toBe("The job could not be submitted to Slurm: parameters.dir: '/escape' leads outside your files (through a symbolic link)");
  }, 240_000);

  it("acme-database runs on Slurm with its files in the owner's data store: a second job on the folder sees the first one's rows", async () => {
    const store = { dataStore: { type: 'file', path: '/db/acme', readOnly: false } };
    const query = async (sql: string) => {
      const client = new pg.Client({ host: '127.0.0.1', port: 15433, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    };
    const run = async (sql: string) => {
      const id = await createJob(t, spec('acme-database-15433', 'batch', store));
      await until('RUNNING', async () => (await stateOf(id)) === 'RUNNING', 90_000);
      await until('the database to listen', async () => (await t.call('GET', `/api/jobs/output?id=${id}&stream=stdout`, t.tokens.user)).body.includes('Listening on'), 120_000);
      const rows = await query(sql);
      expect((await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id }] })).statusCode).toBe(200);
      await until('terminated', async () => (await stateOf(id)) === 'SUCCESS', 60_000);
      return rows;
    };
    await run(`CREATE TABLE visits (n int); INSERT INTO visits VALUES (41)`);
    expect(await run(`SELECT n FROM visits`)).toEqual([{ n: 41 }]);
  }, 400_000);

  it('shows the pending reason as a status line: a job longer than its partition allows waits', async () => {
    const id = await createJob(t, seedBatch('short', { timeAllocation: { hours: 2, minutes: 0, seconds: 0 } }));
    await until('the pending reason', async () => (await statuses(id)).includes(
      "Waiting in Slurm's queue on partition 'short': its time allocation is longer than its partition allows (PartitionTimeLimit)",
    ));
    expect(await stateOf(id)).toBe('IN_QUEUE');
    const slurmId = await slurmIdOf(id);
    expect(squeueState(slurmId)).toBe('PENDING');
    expect((await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id }] })).statusCode).toBe(200);
    await until('Terminated by user', async () => (await stateOf(id)) === 'SUCCESS');
    expect((await statuses(id)).at(-1)).toBe('Terminated by user');
  }, 180_000);

  it('a long job is RUNNING while squeue shows it running; terminate removes it from Slurm', async () => {
    const id = await createJob(t, longJob());
    await until('RUNNING', async () => (await stateOf(id)) === 'RUNNING', 90_000);
    const slurmId = await slurmIdOf(id);
    expect(squeueState(slurmId)).toBe('RUNNING');
    // Its output is followed while it runs.
    await until('output', async () => (await t.call('GET', `/api/jobs/output?id=${id}&stream=stdout`, t.tokens.user)).body.includes('step'));

    expect((await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id }] })).statusCode).toBe(200);
    await until('Terminated by user', async () => (await stateOf(id)) === 'SUCCESS', 60_000);
    expect((await statuses(id)).at(-1)).toBe('Terminated by user');
    await until('squeue to no longer show it', async () => squeueState(slurmId) === '', 60_000);
  }, 180_000);

  it('a job cancelled on the cluster, not from Jobdeck, is FAILURE saying so', async () => {
    const id = await createJob(t, longJob());
    await until('RUNNING', async () => (await stateOf(id)) === 'RUNNING', 90_000);
    scancel(await slurmIdOf(id));
    await until('FAILURE', async () => (await stateOf(id)) === 'FAILURE', 60_000);
    expect((await statuses(id)).at(-1)).toBe("Cancelled on the Slurm cluster, not from Jobdeck: by its account 'nobody' or by an operator");
  }, 180_000);

  it('refuses extend with a 400: the account may not raise a time limit (a real probe found so)', async () => {
    const id = await createJob(t, longJob());
    await until('RUNNING', async () => (await stateOf(id)) === 'RUNNING', 90_000);
    const response = await t.call('POST', '/api/jobs/extend', t.tokens.user, { items: [{ jobId: id, requestedTime: { hours: 1, minutes: 0, seconds: 0 } }] });
    expect(response.statusCode).toBe(400);
    expect(response.json().why).toMatch(/time extension is not supported by this provider/);
    await t.call('POST', '/api/jobs/terminate', t.tokens.user, { items: [{ id }] });
    await until('terminated', async () => (await stateOf(id)) === 'SUCCESS', 60_000);
  }, 180_000);

  it('extends for real through an operator account: the probe finds so, and the running job\'s Slurm time limit grows', async () => {
    // A second Jobdeck (its own database, so its own instance name) on the slurmrestd that runs as SlurmUser.
    const opWork = `${workDir}-operator`;
    const op = await build({ slurmUrl: operatorClusterUrl(), slurmWorkDir: opWork, slurmPollMs: 300, verifyIntervalMs: VERIFY_MS, providerRetryMs: 100, providerRetryMaxMs: 500 });
    try {
      // The partitions are offered first without time extension; the probe's answer (a minute-long job whose limit it
      // raises once it runs) registers them again with it.
      await until('the probe to offer time extension', async () => {
        const items = (await op.call('GET', '/api/products/browse?filterProvider=slurm', op.tokens.user)).json().items as { id: string; supportsTimeExtension: boolean }[];
        return items.find((p) => p.id === 'batch')?.supportsTimeExtension === true;
      }, 120_000);

      const id = await createJob(op, longJob());
      await until('RUNNING', async () => (await retrieve(op, id)).status.state === 'RUNNING', 90_000);
      const slurmId = await until('submitted', async () => (await op.call('GET', `/ucloud/slurm/jobs/retrieve?id=${id}`, op.tokens.admin)).json().slurmJobId as number | null);
      expect(timeLimitMinutes(slurmId)).toBe(60);

      const response = await op.call('POST', '/api/jobs/extend', op.tokens.user, { items: [{ jobId: id, requestedTime: { hours: 1, minutes: 30, seconds: 0 } }] });
      expect(response.statusCode).toBe(200);
      const line = 'Time limit raised by 1 h 30 min, to 2 h 30 min in total';
      await until('the extended line', async () => ((await retrieve(op, id)).updates as Update[]).some((u) => u.status === line));
      expect(timeLimitMinutes(slurmId)).toBe(150);
      // The core moved the deadline with it: 2 h 30 min after the start.
      const job = await retrieve(op, id);
      expect(job.status.expiresAt - job.status.startedAt).toBe(150 * 60_000);

      await op.call('POST', '/api/jobs/terminate', op.tokens.user, { items: [{ id }] });
      await until('terminated', async () => (await retrieve(op, id)).status.state === 'SUCCESS', 60_000);
      await until('squeue to no longer show it', async () => squeueState(slurmId) === '', 60_000);
    } finally {
      await op.close();
      fs.rmSync(opWork, { recursive: true, force: true });
    }
  }, 300_000);

  it('stopping slurmrestd fails no job: the job page says the cluster cannot be reached, and it recovers', async () => {
    const id = await createJob(t, longJob());
    await until('RUNNING', async () => (await stateOf(id)) === 'RUNNING', 90_000);
    const slurm = t.parts.slurm!;
    cluster('stop-rest');
    try {
      await until('the unreachable line', async () => (await statuses(id)).some((l) => l.startsWith('The Slurm cluster cannot be reached')));
      // Two verify sweeps while it is down: neither fails the job.
      const before = slurm.verifies;
      await until('two verify sweeps', async () => slurm.verifies >= before + 2, 30_000);
      expect(await stateOf(id)).toBe('RUNNING');
    } finally {
      cluster('start-rest');
    }
    await until('the recovery line', async () => (await statuses(id)).at(-1) === 'The Slurm cluster can be reached again');
    const before = slurm.verifies;
    await until('a verify sweep after recovery', async () => slurm.verifies >= before + 1, 30_000);
    expect(await stateOf(id)).toBe('RUNNING');
    expect(squeueState(await slurmIdOf(id))).toBe('RUNNING');
  }, 180_000);

  it('after slurmctld restarts with its state cleared (-c), a running job is FAILURE "Your job is no longer available" within two verify sweeps', async () => {
    const active = (await t.call('GET', '/api/jobs/browse?itemsPerPage=100', t.tokens.user)).json().items as { id: string; status: { state: string } }[];
    const running = active.filter((j) => j.status.state === 'RUNNING').map((j) => j.id);
    expect(running.length).toBeGreaterThan(0);
    const slurm = t.parts.slurm!;
    cluster('restart-controller-clean');
    const sweepsBefore = slurm.verifies;
    for (const id of running) {
      await until(`job ${id} to fail`, async () => (await stateOf(id)) === 'FAILURE', 60_000);
      expect((await statuses(id)).at(-1)).toBe('Your job is no longer available');
    }
    expect(slurm.verifies - sweepsBefore).toBeLessThanOrEqual(2);
  }, 180_000);
});
