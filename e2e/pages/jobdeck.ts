import type { Locator, Page } from '@playwright/test';
import { expect } from '../fixtures';

/*
 * Page objects for the job pages, located the way a user (or a screen reader)
 * finds things: by role, label and accessible name. They assert with web-first
 * expectations and never wait for a fixed time.
 */

/** The state names the dashboard shows on badges, and its explanation of each. */
export const STATE = {
  IN_QUEUE: { label: 'In queue', explanation: 'The job is waiting for the provider to start it.' },
  RUNNING: { label: 'Running', explanation: 'The job is running.' },
  SUCCESS: { label: 'Success', explanation: 'The job has finished' },
  // A terminated job is SUCCESS on the wire; the job page says what happened.
  TERMINATED: { label: 'Terminated', explanation: 'The job was terminated' },
} as const;
export type ShownState = keyof typeof STATE;

/** A name no other test or earlier run on the same server has used. */
/** An acme-database job named `name`, keeping its files in a folder of its own under /e2e. */
export const databaseSpec = (name: string) => ({
  application: { name: 'acme-database', version: '1.0.0' },
  name,
  parameters: { dataStore: { type: 'file', path: `/e2e/${name}`, readOnly: false } },
});

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export class Shell {
  constructor(readonly page: Page) {}

  /** Follows a sign-in link (the token in the fragment) and waits for the signed-in landing page. */
  async signInWith(link: string): Promise<void> {
    await this.page.goto(link);
    await expect(this.page.getByRole('heading', { name: 'Applications', level: 1 })).toBeVisible();
    expect(this.page.url()).not.toContain('#token');
  }

  /** Main navigation: a client-side route change, not a page load. */
  async navigate(to: 'Applications' | 'Jobs'): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: to, exact: true }).click();
  }

  /**
   * Marks the current document; `expectSameDocument` later proves no reload or
   * full page load happened in between (everything arrived live).
   */
  async markDocument(): Promise<void> {
    await this.page.evaluate(() => {
      (window as unknown as { __jobdeckE2eMark?: boolean }).__jobdeckE2eMark = true;
    });
  }

  async expectSameDocument(): Promise<void> {
    expect(await this.page.evaluate(() => (window as unknown as { __jobdeckE2eMark?: boolean }).__jobdeckE2eMark === true), 'the page was reloaded').toBe(true);
  }
}

export class ApplicationsPage {
  constructor(readonly page: Page) {}

  readonly heading = () => this.page.getByRole('heading', { name: 'Applications', level: 1 });

  /** Clicks an application's Launch link ("Launch Acme Database 1.0.0") and waits for its form. */
  async launch(title: string, version = '1.0.0'): Promise<LaunchPage> {
    await expect(this.heading()).toBeVisible();
    await this.page.getByRole('link', { name: `Launch ${title} ${version}`, exact: true }).click();
    const launch = new LaunchPage(this.page);
    await expect(launch.form(title)).toBeVisible();
    return launch;
  }
}

export class LaunchPage {
  constructor(readonly page: Page) {}

  form = (title: string) => this.page.getByRole('form', { name: `Launch ${title}` });
  readonly jobName = () => this.page.getByLabel('Job name');
  readonly machineType = () => this.page.getByLabel('Machine type');
  readonly hours = () => this.page.getByLabel('Hours', { exact: true });
  readonly minutes = () => this.page.getByLabel('Minutes', { exact: true });
  /** A parameter's field, by its title (e.g. "Data store"). */
  param = (title: string) => this.page.getByRole('textbox', { name: title, exact: true });
  readonly connectButton = () => this.page.getByRole('button', { name: '+ Connect to job' });
  readonly launchButton = () => this.page.getByRole('button', { name: 'Launch job' });
  readonly prefilledNotice = () => this.page.getByText(/^Pre-filled from job #/);

  /** The n-th "Connect to job" row (1-based): its job combobox, hostname field and popup. */
  connection(n: number) {
    const row = this.page.getByRole('group', { name: `Connection ${n}` });
    return {
      row,
      job: row.getByRole('combobox', { name: 'Job', exact: true }),
      hostname: row.getByRole('textbox', { name: 'Hostname' }),
      remove: row.getByRole('button', { name: `Remove connection ${n}` }),
      // The popover is portalled out of the row.
      listbox: this.page.getByRole('listbox', { name: 'Job: running jobs' }),
    };
  }

  readonly duplicateDialog = () => this.page.getByRole('dialog', { name: 'Start another job?' });

  /** Submits and waits for the new job's page; returns its id. */
  async launchAndOpenJob(): Promise<JobDetailPage> {
    const before = this.page.url();
    await this.launchButton().click();
    return JobDetailPage.arrived(this.page, before);
  }
}

export class JobDetailPage {
  constructor(
    readonly page: Page,
    readonly id: string,
  ) {}

  /** Waits until the browser shows a job page other than `previousUrl` and returns it. */
  static async arrived(page: Page, previousUrl?: string): Promise<JobDetailPage> {
    await expect(page).toHaveURL((url) => /^\/jobs\/\d+$/.test(url.pathname) && url.href !== previousUrl);
    const id = new URL(page.url()).pathname.split('/').pop()!;
    const detail = new JobDetailPage(page, id);
    await expect(detail.heading()).toBeVisible();
    return detail;
  }

  readonly heading = () => this.page.getByRole('heading', { level: 1, name: new RegExp(`#${this.id}$`) });
  readonly stateRegion = () => this.page.getByRole('region', { name: 'State' });
  readonly connected = () => this.page.getByRole('region', { name: 'Connected jobs' });
  readonly parameters = () => this.page.getByRole('region', { name: 'Parameters' });
  readonly announcer = () => this.page.locator('[aria-live="polite"][aria-atomic="true"]');
  /** The job's output viewer: a role="log" named after the job. */
  readonly output = () => this.page.getByRole('log', { name: `Output of job ${this.id}` });

  /** The badge's text and the human-readable explanation of a state. */
  async expectState(state: ShownState, timeout?: number): Promise<void> {
    const region = this.stateRegion();
    await expect(region).toContainText(STATE[state].explanation, { timeout });
    await expect(region).toContainText(STATE[state].label);
  }

  /** "This job connects to": the item naming `hostname`, and its link to the peer job. */
  forwardPeer(hostname: string, peerId: string) {
    const item = this.connected()
      .getByRole('listitem')
      .filter({ has: this.page.getByTitle('Hostname inside this job') })
      .filter({ hasText: hostname })
      .filter({ has: this.page.getByRole('link', { name: new RegExp(`#${peerId}$`) }) });
    return { item, link: item.getByRole('link', { name: new RegExp(`#${peerId}$`) }) };
  }

  /** "Connected to this job": the job `otherId` that reaches this one as `hostname`. */
  reversePeer(otherId: string, hostname: string) {
    const item = this.connected()
      .getByRole('listitem')
      .filter({ hasText: `as ${hostname}` })
      .filter({ has: this.page.getByRole('link', { name: new RegExp(`#${otherId}$`) }) });
    return { item, link: item.getByRole('link', { name: new RegExp(`#${otherId}$`) }) };
  }

  /** Terminate, confirmed in the dialog. */
  async terminate(): Promise<void> {
    await this.page.getByRole('button', { name: 'Terminate', exact: true }).click();
    const dialog = this.page.getByRole('dialog', { name: 'Terminate this job?' });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText(`#${this.id}`);
    await dialog.getByRole('button', { name: 'Terminate job' }).click();
    await expect(dialog).toBeHidden();
  }

  async runAgain(): Promise<LaunchPage> {
    await this.page.getByRole('link', { name: 'Run again' }).click();
    await expect(this.page).toHaveURL((url) => url.searchParams.get('from') === this.id);
    return new LaunchPage(this.page);
  }
}

export class JobListPage {
  constructor(readonly page: Page) {}

  readonly heading = () => this.page.getByRole('heading', { name: 'Jobs', level: 1 });
  readonly table = () => this.page.getByRole('table', { name: 'Jobs' });
  /** Rows whose text contains `text` (a job's name, say). */
  rows = (text: string | RegExp): Locator => this.table().getByRole('row').filter({ hasText: text });
}
