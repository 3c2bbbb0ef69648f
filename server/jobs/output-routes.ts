import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { JobsOutputQuery } from '../../contract/jobs';
import { notFound } from '../http/errors';
import { replies } from '../http/replies';
import { principal } from '../auth/plugin';

const USER = ['USER'] as const;

/**
 * Extension: a job's whole output as a file, byte for byte as the job wrote it (jobs.follow carries the live tail).
 * Someone else's job answers 404, as everywhere in the jobs API.
 */
export async function jobOutputRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  // The 200 is the file itself (text/plain, streamed), which no serialiser touches.
  const output = { querystring: JobsOutputQuery, response: replies(Type.String()) };
  app.get('/api/jobs/output', { schema: output, config: { roles: USER } }, async (request, reply) => {
    const q = request.query;
    const job = await app.services.jobs.retrieve(principal(request).username, q.id, false);
    const files = app.services.outputs.get(job.specification.product.provider)?.(job.id) ?? null;
    const file = files?.[q.stream];
    let size: number;
    try {
      if (!file) throw new Error('no output');
      size = (await fs.promises.stat(file)).size;
    } catch {
      throw notFound(`id: job ${job.id} has no ${q.stream} to download (it has not written any, or its provider keeps none)`);
    }
    return reply
      .header('content-type', 'text/plain; charset=utf-8')
      .header('content-length', String(size))
      .header('content-disposition', `attachment; filename="job-${job.id}-${q.stream}.log"`)
      .header('cache-control', 'no-store')
      // What a job prints is never run as a page, whatever it looks like.
      .header('x-content-type-options', 'nosniff')
      // What the file held when asked: a running job's later output is not half-included.
      // A stream is piped as it is, never serialised: the 200 schema only names what it carries.
      .send(size === 0 ? '' : (fs.createReadStream(file!, { start: 0, end: size - 1 }) as unknown as string));
  });
}
