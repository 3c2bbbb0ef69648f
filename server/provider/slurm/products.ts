import { setTimeout as sleep } from 'node:timers/promises';
import type { Product } from '../../../contract/catalog';
import type { FastifyBaseLogger } from 'fastify';
import { isSuccess, whyOf, type Transport } from '../kit/transport';
import { SlurmRefused, SlurmUnreachable, type SlurmClient } from './client';
import type { SlurmStore } from './store';

/*
 * What the cluster offers, read from the cluster: one product per partition, with the CPUs and memory of its largest
 * node, and whether the account slurmrestd runs jobs as may raise a time limit (a real probe).
 */

export const SLURM_PROVIDER_ID = 'slurm';

/** The cluster's partitions as products: {id: <partition>, category: <partition>, provider: 'slurm'}. */
export async function discoverProducts(client: SlurmClient, supportsTimeExtension: boolean): Promise<Product[]> {
  const [partitions, nodes] = await Promise.all([client.partitions(), client.nodes()]);
  return partitions.map((p) => {
    const members = nodes.filter((n) => n.partitions.includes(p.name));
    const cpu = Math.max(0, ...members.map((n) => n.cpus));
    const memoryMb = Math.max(0, ...members.map((n) => n.real_memory));
    const limit = p.max_time_limit > 0 ? `, at most ${p.max_time_limit} min per job` : '';
    return {
      id: p.name,
      category: p.name,
      provider: SLURM_PROVIDER_ID,
      description: `Slurm partition '${p.name}': ${members.length} node${members.length === 1 ? '' : 's'} of up to ${cpu} CPUs and ${Math.floor(memoryMb / 1024)} GiB${limit}`,
      cpu,
      memoryInGigs: Math.floor(memoryMb / 1024),
      gpu: 0,
      supportsPeers: false,
      supportsTimeExtension,
    };
  });
}

export interface ProbeResult {
  /** Whether a running job's time limit could be raised. */
  timeExtension: boolean;
  /** The uid the cluster runs jobs as (the account slurmrestd submits as). */
  jobUid: number | null;
  /** What the probe saw, for the log. */
  detail: string;
}

/**
 * Submits a short job, waits for it to run, and tries to raise its time limit by a minute, as an extend would; then
 * cancels it. A pending job's limit can be raised by anyone up to the partition's maximum, so only a running job
 * tells. Slurm refuses a plain account ("Access/permission denied"); an operator's account may.
 */
export async function probeCluster(
  client: SlurmClient,
  name: string,
  partition: string,
  waitMs = 20_000,
  onJobUid: (uid: number) => Promise<void> = async () => undefined,
): Promise<ProbeResult> {
  const id = await client.submit({
    job: {
      name,
      partition,
      time_limit: 1,
      current_working_directory: '/tmp',
      standard_output: '/dev/null',
      standard_error: '/dev/null',
      environment: { PATH: '/usr/bin:/bin' },
      comment: 'Jobdeck: may this account raise a time limit?',
    },
    script: '#!/bin/sh\nexec sleep 120\n',
  });
  try {
    let job = await client.job(id);
    const jobUid = job?.user_id ?? null;
    // Known at once, while the probe waits to run: the provider submits no job before it knows whose folders to make.
    if (jobUid !== null) await onJobUid(jobUid);
    const until = Date.now() + waitMs;
    while (job && job.job_state === 'PENDING' && Date.now() < until) {
      await sleep(250);
      job = await client.job(id);
    }
    if (!job || job.job_state !== 'RUNNING') {
      return { timeExtension: false, jobUid, detail: `the probe job did not run within ${waitMs / 1000} s (${job?.job_state ?? 'gone'}); assuming no` };
    }
    try {
      await client.setTimeLimit(id, 2);
      return { timeExtension: true, jobUid, detail: 'a running job’s time limit was raised' };
    } catch (error) {
      if (!(error instanceof SlurmRefused)) throw error;
      return { timeExtension: false, jobUid, detail: `raising a running job’s time limit was refused: ${error.message}` };
    }
  } finally {
    await client.cancel(id).catch(() => undefined);
  }
}

export interface OfferingOptions {
  client: SlurmClient;
  core: Transport;
  token: string;
  log: FastifyBaseLogger;
  store: SlurmStore;
  probeWaitMs?: number;
  /** How often the partitions are read again; registered again only when they changed. */
  refreshMs: number;
  track: (work: Promise<unknown>) => void;
  running: () => boolean;
  /** The probe has said which uid jobs run as: submissions may start. */
  jobUidKnown: () => void;
}

/**
 * What the provider offers the core: its partitions, registered at the first poll that reaches the cluster, then
 * the probe, once per start. Registered again when the probe's answer differs from the last one (kept in
 * slurm_settings), and when a later reading of the partitions (every `refreshMs`) differs from what was registered:
 * an operator adds or removes a partition, or changes its nodes, without restarting Jobdeck.
 */
export class Offering {
  timeExtension = false;
  /** The products last registered, as JSON: an unchanged reading is not registered again. */
  private registeredJson: string | null = null;
  get registered() {
    return this.registeredJson !== null;
  }
  private probed = false;
  private nextReading = 0;
  /** How many times the partitions were read (the tests count readings, not seconds). */
  readings = 0;
  /** The uid the cluster runs jobs as, from the probe: each job's folder is made theirs. */
  jobUid: number | null = null;

  constructor(private readonly opts: OfferingOptions) {}

  async load(): Promise<void> {
    this.registeredJson = null;
    this.probed = false;
    this.nextReading = 0;
    this.timeExtension = (await this.opts.store.setting('time_extension')) === 'true';
    const uid = await this.opts.store.setting('job_uid');
    this.jobUid = uid === null ? null : Number(uid);
  }

  /** Called by each poll that reached the cluster: reads the partitions when due, and registers what changed. */
  async offer(instance: string, now = Date.now()): Promise<void> {
    if (this.registered && now < this.nextReading) return;
    const { client, core, token, log } = this.opts;
    let products: Product[];
    try {
      products = await discoverProducts(client, this.timeExtension);
    } catch (error) {
      if (!(error instanceof SlurmUnreachable) && !(error instanceof SlurmRefused)) throw error;
      log.warn({ why: error.message }, 'slurm provider: could not read the partitions; will retry');
      return;
    }
    this.readings++;
    this.nextReading = now + this.opts.refreshMs;
    const json = JSON.stringify(products);
    if (json === this.registeredJson) return;
    const result = await core('POST', '/api/products/control/register', token, JSON.stringify({ items: products }));
    if (!isSuccess(result.status)) {
      log.warn({ why: whyOf(result) }, 'slurm provider: the core refused its products; will retry');
      return;
    }
    this.registeredJson = json;
    log.info({ products: products.map((p) => p.id) }, 'slurm provider: registered its partitions as products');
    const partition = products[0]?.id;
    if (partition && !this.probed) {
      this.probed = true;
      this.opts.track(this.probe(instance, partition));
    }
  }

  private async probe(instance: string, partition: string): Promise<void> {
    const { client, store, log } = this.opts;
    const result = await probeCluster(client, `jobdeck-${instance}-probe`, partition, this.opts.probeWaitMs, async (uid) => {
      this.jobUid = uid;
      await store.putSetting('job_uid', String(uid));
      this.opts.jobUidKnown();
    });
    log.info({ timeExtension: result.timeExtension, detail: result.detail }, 'slurm provider: probed the cluster');
    if (result.timeExtension !== this.timeExtension) {
      this.timeExtension = result.timeExtension;
      await store.putSetting('time_extension', String(result.timeExtension));
      this.registeredJson = null;
      if (this.opts.running()) await this.offer(instance);
    }
  }
}
