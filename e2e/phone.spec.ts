import type { Page } from '@playwright/test';
import { test, expect } from './pages/fixtures';
import { JobDetailPage, uniqueName } from './pages/jobdeck';

/*
 * The shell on a phone (390×844, touch). No page is wider than the viewport, and the top bar's controls
 * (pages, Tasks, Notifications, the menu with Sign out) are there to tap, each at least 44×44 px (WCAG 2.5.5's
 * enhanced size; 2.5.8's minimum is 24 px). Real server, real jobs, no mocks.
 */

test.use({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });

async function expectNoWiderThanViewport(page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `${what}: ${scrollWidth} px wide in a ${innerWidth} px viewport`).toBeLessThanOrEqual(innerWidth);
}

async function expectTouchSized(page: Page, names: { role: 'link' | 'button'; name: string | RegExp }[]): Promise<void> {
  const bar = page.locator('header.topbar');
  for (const { role, name } of names) {
    const box = await bar.getByRole(role, { name }).boundingBox();
    expect(box, `${String(name)} is on screen`).not.toBeNull();
    expect(box!.width, `${String(name)} width`).toBeGreaterThanOrEqual(44);
    expect(box!.height, `${String(name)} height`).toBeGreaterThanOrEqual(44);
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width, `${String(name)} ends inside the viewport`).toBeLessThanOrEqual(390);
  }
}

test('every page fits a phone, and the top bar is there to tap', async ({ page, creds, jobsApi }) => {
  const name = uniqueName('phone-web-app-with-a-long-name');
  const db = await jobsApi.create({
    application: { name: 'acme-simulation', version: '1.0.0' },
    name,
    parameters: { steps: { type: 'integer', value: 1000 }, rate: { type: 'floating_point', value: 0.01 }, model: { type: 'text', value: 'linear' } },
  });
  await jobsApi.waitFor(db, 'RUNNING');

  await page.goto(`/applications#token=${creds.user}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Applications' })).toBeVisible();
  await expectNoWiderThanViewport(page, 'Applications');
  await expectTouchSized(page, [
    { role: 'link', name: 'Jobdeck home' },
    { role: 'link', name: 'Applications' },
    { role: 'link', name: 'Jobs' },
    { role: 'button', name: /^Tasks/ },
    { role: 'button', name: /^Notifications/ },
    { role: 'button', name: 'Menu' },
  ]);

  // Tasks and Notifications open with a tap.
  await page.locator('header.topbar').getByRole('button', { name: /^Tasks/ }).tap();
  await expect(page.getByRole('dialog', { name: /tasks/i })).toBeVisible();
  await expectNoWiderThanViewport(page, 'the task tray');
  await page.keyboard.press('Escape');
  await page.locator('header.topbar').getByRole('button', { name: /^Notifications/ }).tap();
  await expect(page.getByRole('dialog', { name: /notifications/i })).toBeVisible();
  await expectNoWiderThanViewport(page, 'the notification panel');
  await page.keyboard.press('Escape');

  await page.getByRole('link', { name: /^Launch Acme Web App/ }).tap();
  await expect(page.getByRole('button', { name: 'Launch job' })).toBeVisible();
  await expectNoWiderThanViewport(page, 'Launch');

  await page.locator('header.topbar').getByRole('link', { name: 'Jobs' }).tap();
  await expect(page.getByRole('heading', { level: 1, name: 'Jobs' })).toBeVisible();
  await expect(page.getByText(name).first()).toBeVisible();
  await expectNoWiderThanViewport(page, 'Jobs');

  await page.goto(`/jobs/${db}`);
  const detail = new JobDetailPage(page, db);
  await expect(detail.heading()).toBeVisible();
  await detail.expectState('RUNNING');
  await expectNoWiderThanViewport(page, 'the job page');
  const extend = page.getByRole('button', { name: 'Extend by 24 hours' });
  const box = (await extend.boundingBox())!;
  expect(box.height).toBeGreaterThanOrEqual(44);

  await page.goto('/no/such/page');
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await expectNoWiderThanViewport(page, 'Page not found');

  // Sign out is in the menu.
  await page.locator('header.topbar').getByRole('button', { name: 'Menu' }).tap();
  const signOut = page.getByRole('menuitem', { name: 'Sign out' });
  await expect(signOut).toBeVisible();
  expect((await signOut.boundingBox())!.height).toBeGreaterThanOrEqual(44);
  await signOut.tap();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
  await expectNoWiderThanViewport(page, 'Sign in');
  await jobsApi.terminate(db);
});
