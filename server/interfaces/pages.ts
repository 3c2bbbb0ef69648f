/*
 * The pages the interface origin answers with when it does not show the app. Plain HTML with no script and no
 * external resource, so they work under any policy; each says what happened and what to do.
 */

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface InterfacePage {
  status: number;
  title: string;
  body: string;
}

export function renderPage(page: InterfacePage): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} – Jobdeck</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; padding: 3rem 1.5rem; line-height: 1.5; color: #1a1a1a; background: #f6f7f9; }
  main { max-width: 36rem; margin: 0 auto; background: #fff; border: 1px solid #d9dde3; border-radius: 8px; padding: 1.5rem 2rem; }
  h1 { font-size: 1.4rem; margin-top: 0; }
  .code { color: #5b6472; font-size: 0.9rem; }
  @media (prefers-color-scheme: dark) { body { background: #14161a; color: #e6e8eb; } main { background: #1d2026; border-color: #343943; } .code { color: #9aa3b0; } }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(page.title)}</h1>
${page.body}
<p class="code">Jobdeck job interface · HTTP ${page.status}</p>
</main>
</body>
</html>
`;
}

const p = (text: string) => `<p>${escapeHtml(text)}</p>`;

export const pages = {
  signIn: (): InterfacePage => ({
    status: 401,
    title: 'Open this interface from Jobdeck',
    body:
      p("This is a job's web interface, and this browser has no session for it.") +
      p("Open the job's page in Jobdeck and choose Open interface: only the job's owner can get in, and each link from Jobdeck works once, for a minute."),
  }),
  badGrant: (): InterfacePage => ({
    status: 401,
    title: 'This link has already been used or has expired',
    body:
      p('A link to open an interface works once, within a minute, and only for its own job.') +
      p("Go back to the job's page in Jobdeck and choose Open interface again."),
  }),
  notFound: (jobId: string): InterfacePage => ({
    status: 404,
    title: 'No such job',
    body: p(`There is no job #${jobId} among your jobs.`),
  }),
  ended: (jobId: string, state: string): InterfacePage => ({
    status: 410,
    title: 'This job has ended',
    body:
      p(`Job #${jobId} has ended (${state.toLowerCase()}), so its interface no longer answers.`) +
      p('Its page in Jobdeck still shows what happened; start it again from there to get a new interface.'),
  }),
  notRunning: (jobId: string, state: string): InterfacePage => ({
    status: 503,
    title: 'This job is not running yet',
    body: p(`Job #${jobId} is ${state === 'IN_QUEUE' ? 'in the queue' : state.toLowerCase()}. Reload this page once it runs.`),
  }),
  notAnswering: (jobId: string, why: string): InterfacePage => ({
    status: 502,
    title: "The job's interface is not answering",
    body:
      p(`Job #${jobId} is running, but its web interface could not be reached: ${why}.`) +
      p('The application may still be starting; reload this page in a moment.'),
  }),
};
