import { setTimeout as sleep } from 'node:timers/promises';
import type { Product } from '../../../contract/catalog';
import { SlurmRefused, type SlurmClient } from './client';

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
