import type { FastifyInstance } from 'fastify';
import { JobsFollowCall } from './follow-call';
import { JobsListenCall } from './listen-call';

/** The jobs socket calls (contract §7), registered with the hub: jobs.follow and jobs.listen. */
export async function jobsSocketCalls(app: FastifyInstance) {
  const { bus, live, jobs, outputs } = app.services;
  const follow = new JobsFollowCall(bus, {
    retrieveJob: (owner, id) => jobs.retrieve(owner, id, true),
    outputOf: (job) => outputs.get(job.specification.product.provider)?.(job.id) ?? null,
    log: app.log,
  });
  const listen = new JobsListenCall(bus);
  live.register('jobs.follow', follow);
  live.register('jobs.listen', listen);
  app.addHook('onClose', async () => {
    follow.stop();
    listen.stop();
  });
}
