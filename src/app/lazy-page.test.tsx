import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router-dom';
import { http, HttpResponse } from 'msw';
import { expect, it } from 'vitest';
import { server } from '@/mocks/node';
import { lazyPage } from '@/app/router';

// The failing load is a stand-in for a network blip: a real browser cannot be made to drop one chunk request on demand.
const blip = () => {
  let calls = 0;
  const load = async () => {
    calls += 1;
    if (calls === 1) throw new Error('Unable to preload CSS for http://x/assets/applications-page.css');
    return { default: () => <h1>Applications</h1> };
  };
  return { load, calls: () => calls };
};

it('a chunk that fails once is loaded again after a moment, and the page shows', async () => {
  const { load, calls } = blip();
  const { Component } = await lazyPage(load, 1)();
  render(<MemoryRouter><Component /></MemoryRouter>);
  expect(screen.getByRole('heading', { name: 'Applications' })).toBeInTheDocument();
  expect(calls()).toBe(2);
});

it('a chunk that fails twice shows the page error', async () => {
  const load = async (): Promise<{ default: () => null }> => {
    throw new TypeError('Failed to fetch dynamically imported module: http://x/assets/job-list-page.js');
  };
  server.use(http.get('/api/health', () => HttpResponse.json({ ok: true })));
  const { Component } = await lazyPage(load, 1)();
  render(<MemoryRouter><Component /></MemoryRouter>);
  expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent(/This page could not be (loaded|shown)/);
});
