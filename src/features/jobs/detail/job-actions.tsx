import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { catalogQueries } from '@/api/catalog';
import { describeError } from '@/api/http';
import { useExtendJob, useOpenInterface, useTerminateJob } from '@/api/jobs';
import type { Job, Product } from '@/api/types';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { FINAL_STATES } from '@/lib/format';
import { allocationMs, formatSpan } from '@/lib/job-facts';

const EXTEND_HOURS = [1, 8, 24] as const;
const HOUR_MS = 3_600_000;

/** The job's machine type as the catalog describes it; undefined while it loads (or if the catalog lost it). */
export function useJobProduct(job: Job): { product: Product | undefined; loaded: boolean } {
  const { id, category, provider } = job.specification.product;
  const products = useQuery(catalogQueries.products(provider));
  const product = products.data?.items.find((p) => p.id === id && p.category === category);
  return { product, loaded: products.isSuccess };
}

/**
 * Opens a running web application's interface in a new tab, on the job's own origin (never the dashboard's, whose
 * storage holds the token). `noopener`: the interface gets no handle on this window.
 */
function OpenInterface({ job }: { job: Job }) {
  const { name, version } = job.specification.application;
  const app = useQuery(catalogQueries.app(name, version));
  const open = useOpenInterface(job.id);
  const [opened, setOpened] = useState(false);
  if (job.status.state !== 'RUNNING' || app.data?.applicationType !== 'WEB') return null;
  return (
    <div className="open-interface">
      <button
        type="button"
        className="button button--primary"
        disabled={open.isPending}
        onClick={() =>
          open.mutate(undefined, {
            onSuccess: (url) => {
              window.open(url, '_blank', 'noopener,noreferrer');
              setOpened(true);
            },
          })
        }
      >
        {open.isPending ? 'Opening…' : 'Open interface'}
      </button>
      {opened && !open.isError ? (
        <p className="muted open-interface__note" role="status">
          The interface opened in a new tab, on an address of its own.
        </p>
      ) : null}
      {open.isError ? (
        <p className="field__error" role="alert">
          The interface could not be opened: {describeError(open.error)}
        </p>
      ) : null}
    </div>
  );
}

interface Pending {
  /** Everything asked for since the first click of this round. */
  requestedMs: number;
  /** The allocation in force at that first click; what the provider has applied since is the growth from here. */
  baseMs: number;
}

/**
 * +1/+8/+24 h. Clicks are not blocked while one is on its way: each is a request of its own, and the provider applies
 * them asynchronously, so what is asked for but not applied yet shows as pending, with the total it will make.
 */
function Extend({ job }: { job: Job }) {
  const extend = useExtendJob(job.id);
  const current = allocationMs(job);
  const [pending, setPending] = useState<Pending | null>(null);
  const [applied, setApplied] = useState<number | null>(null);
  const outstanding = pending ? pending.requestedMs - ((current ?? pending.baseMs) - pending.baseMs) : 0;

  useEffect(() => {
    if (pending && outstanding <= 0) {
      setApplied(pending.requestedMs);
      setPending(null);
    }
  }, [pending, outstanding]);

  function ask(hours: number) {
    const ms = hours * HOUR_MS;
    setApplied(null);
    setPending((p) => (p ? { ...p, requestedMs: p.requestedMs + ms } : { requestedMs: ms, baseMs: current ?? 0 }));
    extend.mutate(hours, {
      onError: () => setPending((p) => (p ? { ...p, requestedMs: p.requestedMs - ms } : p)),
    });
  }

  return (
    <>
      <div className="extend" role="group" aria-label="Extend time allocation">
        <span className="extend__label">Extend</span>
        {EXTEND_HOURS.map((h) => (
          <button
            key={h}
            type="button"
            className="button button--secondary button--small"
            onClick={() => ask(h)}
            aria-label={`Extend by ${h} ${h === 1 ? 'hour' : 'hours'}`}
          >
            +{h} h
          </button>
        ))}
      </div>
      <p className="extend__status" role="status">
        {pending && outstanding > 0
          ? `Extension pending: +${formatSpan(outstanding)}${current !== null ? `, for ${formatSpan(pending.baseMs + pending.requestedMs)} in total` : ''}. It counts once the provider applies it.`
          : applied !== null && current !== null
            ? `Extended by ${formatSpan(applied)}: the time allocation is now ${formatSpan(current)}.`
            : ''}
      </p>
      {extend.isError ? (
        <p className="field__error" role="alert">
          The time allocation was not extended: {describeError(extend.error)}
        </p>
      ) : null}
    </>
  );
}

export function JobActions({ job }: { job: Job }) {
  const terminate = useTerminateJob(job.id);
  const { product, loaded } = useJobProduct(job);
  const [confirming, setConfirming] = useState(false);
  const final = FINAL_STATES.has(job.status.state);
  const running = job.status.state === 'RUNNING';
  const app = job.specification.application;
  // Only once the catalog has said so: a product that cannot be extended gets no buttons (the core would refuse).
  const extendable = loaded && product?.supportsTimeExtension !== false;

  return (
    <div className="job-actions">
      <OpenInterface job={job} />
      {running && extendable ? <Extend job={job} /> : null}
      {!final && loaded && product?.supportsTimeExtension === false ? (
        <p className="muted extend__unsupported">
          Time extension is not offered on this machine type ({product.id} at {product.provider}): the job stops when
          its time allocation runs out.
        </p>
      ) : null}
      <div className="button-row">
        <Link
          className="button button--secondary"
          to={`/applications/${encodeURIComponent(app.name)}/${encodeURIComponent(app.version)}?from=${encodeURIComponent(job.id)}`}
        >
          Run again
        </Link>
        {!final ? (
          <button type="button" className="button button--danger-outline" onClick={() => setConfirming(true)} disabled={terminate.isPending}>
            {terminate.isPending ? 'Terminating…' : 'Terminate'}
          </button>
        ) : null}
      </div>
      {terminate.isError ? (
        <p className="field__error" role="alert">
          The job was not terminated: {describeError(terminate.error)}
        </p>
      ) : null}
      <ConfirmDialog
        open={confirming}
        onClose={() => setConfirming(false)}
        title="Terminate this job?"
        description={`${job.specification.name || app.name} (#${job.id}) stops now, and jobs connected to it lose their connection. This cannot be undone.`}
        confirmLabel="Terminate job"
        tone="danger"
        busy={terminate.isPending}
        onConfirm={() => {
          setConfirming(false);
          terminate.mutate();
        }}
      />
    </div>
  );
}
