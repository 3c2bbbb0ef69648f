import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { describe, expect, it } from 'vitest';
import { Job } from '../../contract/jobs';
import { seedPayloads } from '../../contract/fixtures/seed-payloads';
import { replies } from './replies';

const seedJob = () => structuredClone((seedPayloads().find((c) => c.call === 'provider.jobs.verify')!.body as { items: Job[] }).items[0]!);

async function serve(body: unknown, status = 200) {
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  app.get('/job', { schema: { response: replies(Job) } }, async (_request, reply) => reply.status(status).send(body as Job));
  const response = await app.inject({ method: 'GET', url: '/job' });
  await app.close();
  return response;
}

describe('a route whose response is a contract schema', () => {
  it('writes a seed job exactly as it is', async () => {
    const job = seedJob();
    expect((await serve(job)).json()).toEqual(job);
  });

  it('keeps fields the schema does not declare, at the top and nested (wire objects carry extensions)', async () => {
    const job = { ...seedJob(), version: 7 } as Job & { version: number };
    job.status = { ...job.status, extra: { deep: [1, 2] } } as Job['status'];
    job.specification.product = { ...job.specification.product, tier: 'gold' } as Job['specification']['product'];
    const sent = (await serve(job)).json();
    expect(sent.version).toBe(7);
    expect(sent.status.extra).toEqual({ deep: [1, 2] });
    expect(sent.specification.product.tier).toBe('gold');
  });

  it('writes an error as {why, errorCode} and nothing else', async () => {
    const response = await serve({ why: 'id: no job', errorCode: null, stack: 'secret' }, 404);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ why: 'id: no job', errorCode: null });
  });
});
