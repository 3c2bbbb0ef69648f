import { useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { catalogQueries } from '@/api/catalog';
import { jobsQueries } from '@/api/jobs';
import { ErrorMessage } from '@/components/error-message';
import { PageHeader } from '@/components/page-header';
import { Loading } from '@/components/spinner';
import { LaunchForm } from '@/features/jobs/launch/launch-form';
import '@/features/jobs/launch/launch.css';

export default function LaunchPage() {
  const { name = '', version = '' } = useParams();
  const [search] = useSearchParams();
  const from = search.get('from');
  const app = useQuery(catalogQueries.app(name, version));
  const products = useQuery(catalogQueries.products());
  const source = useQuery({ ...jobsQueries.detail(from ?? ''), enabled: from !== null });

  const loading = app.isPending || products.isPending || (from !== null && source.isPending);
  const error = app.error ?? products.error ?? (from !== null ? source.error : null);

  return (
    <section className="page launch" aria-labelledby="launch-title">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/applications">Applications</Link> <span aria-hidden="true">/</span>{' '}
        {app.data?.title ?? name}
      </nav>
      <PageHeader
        title={<span id="launch-title">{app.data ? `Launch ${app.data.title}` : 'Launch job'}</span>}
        subtitle={
          app.data ? (
            <>
              <span className="mono">
                {app.data.name} {app.data.version}
              </span>
              {app.data.description ? ` · ${app.data.description}` : null}
            </>
          ) : null
        }
      />
      {loading && !error ? <Loading label="Loading the application…" /> : null}
      {error ? (
        <ErrorMessage
          error={error}
          title={app.error ? 'Could not load this application' : from !== null && source.error ? `Could not load job ${from} to run it again` : 'Could not load machine types'}
          onRetry={() => {
            void app.refetch();
            void products.refetch();
            if (from !== null) void source.refetch();
          }}
        />
      ) : null}
      {app.data && products.data && !loading && !error ? (
        <LaunchForm
          key={`${app.data.name}@${app.data.version}:${from ?? ''}`}
          app={app.data}
          products={products.data.items}
          source={source.data ?? null}
        />
      ) : null}
    </section>
  );
}
