import { useQuery } from '@tanstack/react-query';
import { useId, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { catalogQueries } from '@/api/catalog';
import { EmptyState } from '@/components/empty-state';
import { ErrorMessage } from '@/components/error-message';
import { PageHeader } from '@/components/page-header';
import { Loading } from '@/components/spinner';
import './applications.css';

export default function ApplicationsPage() {
  const apps = useQuery(catalogQueries.apps());
  const [search, setSearch] = useState('');
  const searchId = useId();

  const filtered = useMemo(() => {
    const q = search.trim().toLowerCase();
    const items = apps.data?.items ?? [];
    if (!q) return items;
    return items.filter((a) =>
      [a.title, a.name, a.description].some((text) => text.toLowerCase().includes(q)),
    );
  }, [apps.data, search]);

  return (
    <section className="page" aria-labelledby="apps-title">
      <PageHeader
        title={<span id="apps-title">Applications</span>}
        subtitle="Pick an application to configure and launch a job."
        actions={
          <div className="field apps-search">
            <label htmlFor={searchId} className="visually-hidden">
              Search applications
            </label>
            <input
              id={searchId}
              type="search"
              className="input"
              placeholder="Search applications"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
          </div>
        }
      />
      {apps.isPending ? <Loading label="Loading applications…" /> : null}
      {apps.isError ? (
        <ErrorMessage error={apps.error} title="Could not load applications" onRetry={() => void apps.refetch()} />
      ) : null}
      {apps.isSuccess && apps.data.items.length === 0 ? (
        <EmptyState title="No applications yet">
          <p>The catalog is empty. An operator adds applications to the catalog file on the server.</p>
        </EmptyState>
      ) : null}
      {apps.isSuccess && apps.data.items.length > 0 && filtered.length === 0 ? (
        <EmptyState title={`No application matches “${search.trim()}”`}>
          <button type="button" className="button button--secondary" onClick={() => setSearch('')}>
            Clear search
          </button>
        </EmptyState>
      ) : null}
      {filtered.length > 0 ? (
        <ul className="app-grid" aria-label="Applications">
          {filtered.map((app) => (
            <li key={`${app.name}@${app.version}`} className="card app-card">
              <div className="app-card__head">
                <span className="app-card__icon" aria-hidden="true">
                  {app.title.slice(0, 1).toUpperCase()}
                </span>
                <div>
                  <h2 className="app-card__title">{app.title}</h2>
                  <p className="app-card__meta mono">
                    {app.name} · v{app.version}
                  </p>
                </div>
              </div>
              <p className="app-card__description">{app.description || 'No description.'}</p>
              <Link
                className="button button--primary app-card__action"
                to={`/applications/${encodeURIComponent(app.name)}/${encodeURIComponent(app.version)}`}
                aria-label={`Launch ${app.title} ${app.version}`}
              >
                Launch
              </Link>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
