import { queryOptions } from '@tanstack/react-query';
import { http } from '@/api/http';
import type { Application, ApplicationSummary, PageV2, Product } from '@/api/types';

export const catalogKeys = {
  all: ['catalog'] as const,
  apps: () => [...catalogKeys.all, 'apps'] as const,
  app: (name: string, version: string) => [...catalogKeys.all, 'app', name, version] as const,
  products: (provider: string | null) => [...catalogKeys.all, 'products', provider] as const,
};

// The catalog is edited by an operator, rarely: keep it fresh for a while.
const CATALOG_STALE_MS = 5 * 60_000;

export const catalogQueries = {
  apps: () =>
    queryOptions({
      queryKey: catalogKeys.apps(),
      queryFn: ({ signal }) =>
        http.get<PageV2<ApplicationSummary>>('/api/hpc/apps/browse', { query: { itemsPerPage: 1000 }, signal }),
      staleTime: CATALOG_STALE_MS,
    }),
  app: (name: string, version: string) =>
    queryOptions({
      queryKey: catalogKeys.app(name, version),
      queryFn: ({ signal }) => http.get<Application>('/api/hpc/apps/retrieve', { query: { name, version }, signal }),
      staleTime: CATALOG_STALE_MS,
    }),
  products: (provider: string | null = null) =>
    queryOptions({
      queryKey: catalogKeys.products(provider),
      queryFn: ({ signal }) =>
        http.get<PageV2<Product>>('/api/products/browse', {
          query: { filterProvider: provider, itemsPerPage: 1000 },
          signal,
        }),
      staleTime: CATALOG_STALE_MS,
    }),
};
