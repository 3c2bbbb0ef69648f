/** Calls the server as the `ucloud` service: method, path, JSON body → parsed JSON response. */
export type ServiceCall = (method: string, url: string, body?: unknown) => Promise<unknown>;

export interface DemoOptions {
  owner: string;
  /** Pause between steps, so a person watching the tray can follow along. */
  delayMs: number;
  out: (line: string) => void;
}

/**
 * `task demo` (contract §8): seed 002's "Counting to 3", call for call and body for body, as the `ucloud`
 * service. Returns the task id.
 */
export async function runTaskDemo(call: ServiceCall, options: DemoOptions): Promise<string> {
  const pause = () => new Promise((resolve) => setTimeout(resolve, options.delayMs));
  const task = (await call('PUT', '/api/tasks', { title: 'We are counting to 3', owner: options.owner, initialStatus: null })) as { jobId: string };
  options.out(`Created task ${task.jobId} for '${options.owner}': We are counting to 3`);
  for (const count of [1, 2, 3]) {
    await pause();
    await call('POST', '/api/tasks/postStatus', {
      update: {
        jobId: task.jobId,
        newTitle: null,
        speeds: [],
        progress: null,
        complete: false,
        messageToAppend: `Count is now ${count}`,
        newStatus: null,
      },
    });
    options.out(`Count is now ${count}`);
  }
  await pause();
  await call('POST', '/api/tasks/markAsComplete', { id: task.jobId });
  options.out(`Task ${task.jobId} is complete.`);
  return task.jobId;
}
