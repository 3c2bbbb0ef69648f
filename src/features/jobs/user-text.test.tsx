import { screen, within } from '@testing-library/react';
import { describe, expect, it, onTestFinished } from 'vitest';
import { applyUpdate, findJob } from '@/mocks/db';
import { renderApp } from '@/test/render';

/*
 * A job named with U+202E (RIGHT-TO-LEFT OVERRIDE) must not display as "…exe.jpg" nor reverse the id beside it, and
 * a long unbroken name must not widen the page. User text beside ours is isolated (<bdi>), and kept whole.
 */
const SPOOF = 'invoice\u202Egpj.exe';
const LONG = 'n'.repeat(200);

describe('user text beside our own', () => {
  it("the job page's heading isolates the name from the id after it, and shows the whole of it", async () => {
    findJob('4101')!.specification.name = SPOOF;
    renderApp('/jobs/4101');
    const heading = await screen.findByRole('heading', { level: 1, name: /invoice/ }, { timeout: 15_000 });
    const bdi = heading.querySelector('bdi');
    expect(bdi?.textContent).toBe(SPOOF);
    // The id is outside the isolated name, so the override cannot reach it.
    expect(bdi?.textContent).not.toContain('#4101');
    expect(heading.textContent).toContain('#4101');
  });

  it("a provider's status in the timeline is isolated", async () => {
    applyUpdate('4101', { status: `done\u202E 01:00` });
    renderApp('/jobs/4101');
    const timeline = await screen.findByRole('list', { name: /job updates/i }, { timeout: 15_000 });
    const status = within(timeline).getByText(/done/);
    expect(status.tagName).toBe('BDI');
  });

  it('the job list truncates a long name to one line, with the full name as its tooltip, isolated', async () => {
    // jsdom does no layout; give the list's scroll box a viewport's size so the virtualiser renders rows.
    Object.defineProperty(HTMLElement.prototype, 'clientHeight', {
      configurable: true,
      get(this: HTMLElement) {
        return this.classList.contains('job-table__scroll') ? 800 : 0;
      },
    });
    // jsdom defines it on Element.prototype; removing ours restores it.
    onTestFinished(() => void Reflect.deleteProperty(HTMLElement.prototype, 'clientHeight'));
    findJob('4101')!.specification.name = `${LONG}\u202E`;
    renderApp('/jobs');
    const link = await screen.findByRole('link', { name: new RegExp(LONG) }, { timeout: 15_000 });
    expect(link).toHaveAttribute('title', `${LONG}\u202E`);
    expect(link.querySelector('bdi')?.textContent).toBe(`${LONG}\u202E`);
  });
});
