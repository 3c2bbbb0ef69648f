import { test, expect, api, printedSignInLink } from './fixtures';

test.describe('signing in', () => {
  test('the printed link signs in, keeps the token out of the address bar, and sign-out returns to sign-in', async ({ page, creds, baseURL }) => {
    const link = printedSignInLink();
    expect(link).toBe(`${baseURL}/#token=${creds.user}`);

    await page.goto(link);
    await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Acme Database' })).toBeVisible();
    expect(page.url()).not.toContain(creds.user);
    expect(page.url()).not.toContain('#');

    // The browser keeps a session that expires, not the link's access token.
    const session = await page.evaluate(() => localStorage.getItem('jobdeck.token'));
    expect(session).toBeTruthy();
    expect(session).not.toBe(creds.user);
    const whoami = async (token: string) =>
      fetch(`${baseURL}/api/auth/whoami`, { headers: { Authorization: `Bearer ${token}` } }).then(async (r) => ({ status: r.status, body: await r.json() }));
    const before = await whoami(session!);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ username: 'user', role: 'USER' });
    expect(before.body.sessionExpiresAt).toBeGreaterThan(Date.now() + 3600_000);

    // The stored session survives a reload.
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();

    // Sign-out ends the session at the server: a copy of it is worthless. The access token goes on working.
    const ended = page.waitForResponse((r) => r.url().endsWith('/api/auth/sessions/end'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    expect((await ended).status()).toBe(200);
    expect((await whoami(session!)).status).toBe(401);
    expect((await whoami(creds.user)).status).toBe(200);
    expect(await page.evaluate(() => localStorage.getItem('jobdeck.token'))).toBeNull();
  });

  test('a pasted token signs in; a wrong one says so', async ({ page, creds }) => {
    await page.goto('/sign-in');
    const field = page.getByLabel(/token/i);
    await field.fill('definitely-not-a-token');
    await page.getByRole('button', { name: /sign in/i }).click();
    await expect(page.getByRole('alert')).toContainText(/token/i);

    await field.fill(creds.user);
    await page.getByRole('button', { name: /sign in/i }).click();
    await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();
  });

  test('a revoked token sends the user to sign-in, and signing in returns them where they were', async ({ page, creds, baseURL }) => {
    const username = `revokee-${Date.now()}`;
    const added = (await api(baseURL!, creds.admin, 'POST', '/api/admin/users', { username })) as { token: string };
    await page.goto(`/#token=${added.token}`);
    await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();

    await api(baseURL!, creds.admin, 'POST', '/api/admin/tokens/revoke', { username });
    const fresh = (await api(baseURL!, creds.admin, 'POST', '/api/admin/tokens/issue', { username })) as { token: string };

    // The server also ends the revoked token's socket at its next ping, and the app then signs out by itself;
    // going to the page directly gives the same outcome whichever 401 arrives first.
    await page.goto('/jobs');
    await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    await page.getByLabel(/token/i).fill(fresh.token);
    await page.getByRole('button', { name: /sign in/i }).click();
    await expect(page).toHaveURL(/\/jobs$/);
  });
});
