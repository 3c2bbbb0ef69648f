import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { findJob } from '@/mocks/db';
import { renderApp } from '@/test/render';
import { formatDateTime, isoString, NO_DATE } from '@/lib/format';

/*
 * The server bounds allocations, but the page must survive any number it is sent: with expiresAt past the Date range
 * (±8.64e15 ms), an unguarded page shows "Invalid time value", no Terminate, no Extend.
 */
describe('the job page with dates that are not dates', () => {
  it.each([2 ** 53 - 1, 8.64e15 + 1, -(2 ** 53)])('expiresAt and an update at %d: the page still shows the job, its controls and the rest of the timeline', async (ms) => {
    const job = findJob('4101')!;
    job.status.expiresAt = ms;
    job.updates.push({ ...job.updates[job.updates.length - 1]!, state: null, status: 'Extended by a provider', timestamp: ms });
    renderApp('/jobs/4101');
    await screen.findByRole('heading', { level: 1, name: /my-database/ });
    expect(screen.getByRole('button', { name: 'Terminate' })).toBeInTheDocument();
    // The extend buttons come once the catalog says the product can be extended.
    expect((await screen.findAllByRole('button', { name: /extend/i })).length).toBeGreaterThan(0);
    const timeline = screen.getByRole('list', { name: /job updates/i });
    const item = within(timeline).getByText('Extended by a provider').closest('li')!;
    expect(within(item).getByText(NO_DATE)).toBeInTheDocument();
    // The countdown's line is split by its <time>; what it reads as a whole:
    expect(screen.getByText((_, el) => el?.tagName === 'P' && new RegExp(`expires ${NO_DATE}$`).test(el.textContent ?? ''))).toBeInTheDocument();
    expect(screen.queryByText(/invalid time value/i)).not.toBeInTheDocument();
  });
});

describe('date formatting', () => {
  it('formats dates, and says so for numbers that are none', () => {
    expect(formatDateTime(0)).not.toBe(NO_DATE);
    expect(isoString(0)).toBe('1970-01-01T00:00:00.000Z');
    for (const ms of [Number.NaN, Infinity, 2 ** 53, -(2 ** 60)]) {
      expect(formatDateTime(ms)).toBe(NO_DATE);
      expect(isoString(ms)).toBeUndefined();
    }
  });
});
