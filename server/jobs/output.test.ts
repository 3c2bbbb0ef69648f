import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputTail, type LogChunk, type TailLimits } from './output-tail';
import { build, type TestApp } from '../test/app';
import { batch, createJob, getJob, webApp } from '../test/jobs';
import { REAL, waitForState } from '../test/provider';
import { TestSocket } from '../test/socket';

// A job's output: jobs.follow's `log` (UCloud's JobsFollowResponse) and the download, on real jobs.

const sockets: TestSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) await s.close();
});

async function open(): Promise<TestApp> {
  return build({ ...REAL });
}

async function follow(t: TestApp, id: string, token = t.tokens.user): Promise<TestSocket> {
  const client = await TestSocket.inject(t.app, '/api/jobs');
  sockets.push(client);
  client.call('jobs.follow', 'f', { id }, token);
  return client;
}

/** Everything the follow's `log` messages carried for one stream, joined. */
const followed = (client: TestSocket, stream: 'stdout' | 'stderr') =>
  client
    .messages('f')
    .flatMap((m: { log?: LogChunk[] }) => m.log ?? [])
    .map((l: LogChunk) => l[stream] ?? '')
    .join('');

describe('a real job\'s output', () => {
  it('a running job\'s lines reach jobs.follow while it runs', async () => {
    const t = await open();
    const id = await createJob(t, webApp());
    const live = await follow(t, id);
    expect((await live.waitMessages('f', 1))[0].initialJob.id).toBe(id);
    // acme-web-app prints this once it listens, and runs until it is stopped: the line came while it runs.
    await live.until(() => /Listening on /.test(followed(live, 'stdout')), 'the web app\'s "Listening" line', 30_000);
    expect((await getJob(t, id)).status.state).toBe('RUNNING');
  });

  it("seed 000: acme-batch's printed lines are there after it ended, from disk, and download byte for byte", async () => {
    const t = await open();
    const id = await createJob(t, batch({ parameters: { debug: { type: 'boolean', value: false }, value: { type: 'text', value: 'Hello, World!' } } }));
    const live = await follow(t, id);
    await waitForState(t, id, 'SUCCESS');
    const file = path.join(t.parts.example!.local!.runDir(id), 'stdout.log');
    const written = fs.readFileSync(file, 'utf8');
    expect(written).toMatch(/step 10\/10/);
    expect(written).toContain('Hello, World!');
    await live.until(() => followed(live, 'stdout') === written || undefined, 'the whole stdout over the socket', 30_000);

    // After it ended, a new follow reads it from disk.
    const later = await follow(t, id);
    await later.until(() => followed(later, 'stdout') === written || undefined, 'stdout of the ended job', 30_000);

    const download = await t.call('GET', `/api/jobs/output?id=${id}&stream=stdout`, t.tokens.user);
    expect(download.statusCode, download.body).toBe(200);
    expect(download.headers['content-disposition']).toBe(`attachment; filename="job-${id}-stdout.log"`);
    expect(download.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    expect(download.rawPayload.equals(fs.readFileSync(file))).toBe(true);
  });

  it("answers 404 for another user's job and for a missing one, and 400 naming a bad stream", async () => {
    const t = await open();
    const id = await createJob(t, webApp());
    await waitForState(t, id, 'RUNNING');
    const mallory = (await t.call('POST', '/api/admin/users', t.tokens.admin, { username: 'mallory' })).json().token as string;
    const theirs = await t.call('GET', `/api/jobs/output?id=${id}&stream=stdout`, mallory);
    const missing = await t.call('GET', `/api/jobs/output?id=999999&stream=stdout`, mallory);
    expect(theirs.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    // The same answer as for a job that does not exist: nothing says the job is there.
    expect(theirs.json()).toEqual({ why: `id: no job '${id}'`, errorCode: null });
    expect(missing.json()).toEqual({ why: `id: no job '999999'`, errorCode: null });
    const bad = await t.call('GET', `/api/jobs/output?id=${id}&stream=both`, t.tokens.user);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().why).toMatch(/^stream: /);
    // Nor does following it give them a line of it.
    const client = await follow(t, id, mallory);
    expect((await client.until(() => client.on('f').find((f) => f.type === 'response'), 'the answer'))).toMatchObject({ status: 404 });
    expect(followed(client, 'stdout')).toBe('');
  });
});

describe('OutputTail', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  function files() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-tail-'));
    dirs.push(dir);
    return { stdout: path.join(dir, 'stdout.log'), stderr: path.join(dir, 'stderr.log') };
  }
  const limits: TailLimits = { intervalMs: 1_000_000, chunkBytes: 1024, maxLagBytes: 4096 };

  it('sends what is new on each look, keeps a character cut by a read whole, and sends nothing while the socket is full', async () => {
    const f = files();
    const sent: LogChunk[][] = [];
    let room = true;
    const tail = new OutputTail(f, (log) => sent.push(log), () => room, limits);
    fs.writeFileSync(f.stdout, Buffer.from('héllo\n'.slice(0, 1)));
    fs.appendFileSync(f.stdout, Buffer.from('é').subarray(0, 1)); // half of a two-byte character
    await tail.look();
    expect(sent).toEqual([[{ rank: 0, stdout: 'h', stderr: null }]]);
    fs.appendFileSync(f.stdout, Buffer.concat([Buffer.from('é').subarray(1), Buffer.from('llo\n')]));
    fs.writeFileSync(f.stderr, 'oops\n');
    await tail.look();
    expect(sent[1]).toEqual([{ rank: 0, stdout: 'éllo\n', stderr: 'oops\n' }]);
    room = false;
    fs.appendFileSync(f.stdout, 'more\n');
    await tail.look();
    expect(sent).toHaveLength(2);
    room = true;
    await tail.look();
    expect(sent[2]).toEqual([{ rank: 0, stdout: 'more\n', stderr: null }]);
    tail.stop();
  });

  it('never holds more than one chunk per file, and skips a follower far behind to the last chunk, saying so', async () => {
    const f = files();
    const sent: LogChunk[][] = [];
    const tail = new OutputTail(f, (log) => sent.push(log), () => true, limits);
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${String(i).padStart(4, '0')}\n`).join(''); // 10 000 bytes
    fs.writeFileSync(f.stdout, lines);
    await tail.look();
    const text = sent[0]![0]!.stdout!;
    expect(text).toMatch(/^\[Jobdeck: 8\.\d kB of output skipped to keep up; download the output for all of it\]\n/);
    const rest = text.slice(text.indexOf('\n') + 1);
    // From the start of a line, to the end of the file, within one chunk.
    expect(rest.startsWith('line ')).toBe(true);
    expect(lines.endsWith(rest)).toBe(true);
    expect(Buffer.byteLength(rest)).toBeLessThanOrEqual(limits.chunkBytes);
    tail.stop();
  });

  it('after finish() sends the rest in chunks, then stops', async () => {
    const f = files();
    const sent: LogChunk[][] = [];
    const tail = new OutputTail(f, (log) => sent.push(log), () => true, { ...limits, intervalMs: 5 });
    fs.writeFileSync(f.stdout, 'x'.repeat(3000));
    tail.start();
    tail.finish();
    await expect.poll(() => sent.map((s) => s[0]!.stdout).join('').length, { timeout: 10_000, interval: 10 }).toBe(3000);
    const count = sent.length;
    expect(count).toBe(3); // 1024 + 1024 + 952
    fs.appendFileSync(f.stdout, 'late');
    await tail.look();
    expect(sent).toHaveLength(count);
  });
});
