import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeWhere } from './prerequisite';
import { request, startServer, type ServerProcess } from '../../live/server-process';
import { POLL } from '../../test/provider';

/*
 * The same real jobs from a server that is not root (a laptop, a plain user): they run as plain processes of the
 * server's own account, and everything says that network isolation is off. Run as `nobody` here; as root (CI) this
 * is the only way to see that mode for real.
 */

const NOBODY = { uid: 65534, gid: 65534 };
const root = process.getuid?.() === 0;

let server: ServerProcess | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

describeWhere(root, 'switching to the account nobody needs root', 'a server without root', () => {
  it('runs jobs for real as its own account and says that isolation is off', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobdeck-nobody-'));
    fs.chownSync(dataDir, NOBODY.uid, NOBODY.gid);
    server = await startServer(
      { JOBDECK_EXAMPLE_PROVIDER: 'on', JOBDECK_EXAMPLE_KEEP_JOBS: 'off', JOBDECK_EXAMPLE_TICK_MS: '50', HOME: dataDir },
      dataDir,
      NOBODY,
    );
    const { base, credentials } = server;
    const created = await request(base, 'POST', '/api/jobs', credentials.user, {
      items: [
        {
          application: { name: 'acme-web-app', version: '1.0.0' },
          product: { id: 'example-compute', category: 'example-compute', provider: 'example' },
          replicas: 1,
          allowDuplicateJob: true,
          parameters: null,
          resources: null,
        },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const id = (created.body!.responses as { id: string }[])[0]!.id;
    const job = async () => (await request(base, 'GET', `/api/jobs/retrieve?id=${id}&includeUpdates=true`, credentials.user)).body as {
      status: { state: string };
      updates: { status: string | null }[];
    };
    await expect.poll(async () => (await job()).status.state, POLL).toBe('RUNNING');
    const view = (await request(base, 'GET', `/ucloud/example/jobs/retrieve?id=${id}`, credentials.admin)).body as {
      pid: number;
      isolation: string;
      address: string | null;
    };
    expect(view).toMatchObject({ isolation: 'none', address: null });
    const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${view.pid}/status`, 'utf8'))![1]);
    expect(uid).toBe(NOBODY.uid);
    // No namespace of its own: the job shares the machine's network namespace.
    expect(fs.readlinkSync(`/proc/${view.pid}/ns/net`)).toBe(fs.readlinkSync('/proc/self/ns/net'));
    expect((await job()).updates.map((u) => u.status).join('\n')).toMatch(/Network isolation is OFF \(.*root.*\)/);
    const firewall = (await request(base, 'GET', `/ucloud/example/jobs/firewall?id=${id}`, credentials.admin)).body;
    expect(firewall).toMatchObject({ isolation: 'none' });
  });
});
