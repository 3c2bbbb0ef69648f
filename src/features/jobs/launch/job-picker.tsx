import { Combobox, ComboboxGroup, ComboboxGroupLabel, ComboboxItem, ComboboxLabel, ComboboxPopover, ComboboxProvider } from '@ariakit/react';
import { useQuery } from '@tanstack/react-query';
import { useId, useMemo, useState } from 'react';
import { jobsQueries } from '@/api/jobs';
import type { Job } from '@/api/types';
import { jobDisplayName } from '@/features/jobs/launch/validation';

interface JobPickerProps {
  id: string;
  label: string;
  /** The chosen job's id, or '' when none is chosen. */
  value: string;
  onChange: (job: Job | null) => void;
  /** Peers must run on the provider of the chosen machine type. */
  provider: string | null;
  error?: string | null;
  onBlur?: () => void;
  /** The application whose jobs fit (the app's expected peer): they are listed first, under their own heading. */
  suggestedApplication?: string | null;
}

function optionLabel(job: Job): string {
  return `${jobDisplayName(job)} (#${job.id})`;
}

function matches(job: Job, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return [job.specification.name ?? '', job.id, job.specification.application.name, job.specification.application.version]
    .some((text) => text.toLowerCase().includes(q));
}

/**
 * A WAI-ARIA combobox (Ariakit) over the user's RUNNING jobs on the chosen
 * provider: type to search by name, id or application; arrows move, Enter
 * picks, Escape closes. When nothing can be picked it says why.
 */
function JobOption({ job }: { job: Job }) {
  return (
    <ComboboxItem value={optionLabel(job)} className="combobox-item">
      <span className="combobox-item__title">{jobDisplayName(job)}</span>
      <span className="combobox-item__meta">
        #{job.id} · {job.specification.application.name} {job.specification.application.version} · {job.specification.product.id}
      </span>
    </ComboboxItem>
  );
}

export function JobPicker({ id, label, value, onChange, provider, error, onBlur, suggestedApplication = null }: JobPickerProps) {
  const running = useQuery(jobsQueries.running());
  const hintId = useId();
  const errorId = useId();

  const allRunning = useMemo(() => running.data?.items ?? [], [running.data]);
  const candidates = useMemo(
    () => (provider ? allRunning.filter((j) => j.specification.product.provider === provider) : []),
    [allRunning, provider],
  );
  const selected = allRunning.find((j) => j.id === value) ?? null;
  const selectedLabel = selected ? optionLabel(selected) : '';
  const [search, setSearch] = useState(selectedLabel);
  // When the chosen job changes from outside (picked, pre-filled, or it stopped), show its label.
  const [shownLabel, setShownLabel] = useState(selectedLabel);
  if (shownLabel !== selectedLabel) {
    setShownLabel(selectedLabel);
    setSearch(selectedLabel);
  }
  // Showing the chosen job's label is not a search: list everything then.
  const query = search === selectedLabel ? '' : search;
  const visible = useMemo(() => candidates.filter((j) => matches(j, query)), [candidates, query]);
  const fitting = suggestedApplication ? visible.filter((j) => j.specification.application.name === suggestedApplication) : [];
  const others = suggestedApplication ? visible.filter((j) => j.specification.application.name !== suggestedApplication) : visible;

  let emptyReason: string | null = null;
  if (running.isPending) emptyReason = 'Loading your running jobs…';
  else if (running.isError) emptyReason = 'Your running jobs could not be loaded. Try again later.';
  else if (!provider) emptyReason = 'Choose a machine type first: only jobs on the same provider can be connected.';
  else if (allRunning.length === 0) emptyReason = 'You have no running jobs. Only running jobs can be connected; start one first.';
  else if (candidates.length === 0)
    emptyReason = `None of your running jobs runs on provider “${provider}”. Peers must run on the same provider as the machine type.`;
  const noMatch = !emptyReason && visible.length === 0 ? `No running job matches “${query.trim()}”.` : null;

  const describedBy = [emptyReason ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;

  return (
    <div className="field">
      <ComboboxProvider
        value={search}
        setValue={setSearch}
        selectedValue={selectedLabel}
        setSelectedValue={(next) => {
          const job = candidates.find((j) => optionLabel(j) === next) ?? null;
          onChange(job);
        }}
      >
        <ComboboxLabel className="field__label">
          {label}
          <span className="field__required" aria-hidden="true">
            *
          </span>
        </ComboboxLabel>
        <Combobox
          id={id}
          className="input"
          placeholder="Search by name, id or application"
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          onBlur={() => {
            // Leaving with a half-typed search restores the chosen job's label.
            if (search !== selectedLabel) setSearch(selectedLabel);
            onBlur?.();
          }}
        />
        <ComboboxPopover gutter={4} sameWidth className="combobox-popover" aria-label={`${label}: running jobs`}>
          {emptyReason || noMatch ? (
            <div className="combobox-empty">{emptyReason ?? noMatch}</div>
          ) : suggestedApplication ? (
            <>
              <ComboboxGroup className="combobox-group">
                <ComboboxGroupLabel className="combobox-group__label">Fitting: {suggestedApplication} jobs</ComboboxGroupLabel>
                {fitting.length === 0 ? <div className="combobox-empty">No running {suggestedApplication} job. Start one first.</div> : null}
                {fitting.map((job) => (
                  <JobOption key={job.id} job={job} />
                ))}
              </ComboboxGroup>
              {others.length > 0 ? (
                <ComboboxGroup className="combobox-group">
                  <ComboboxGroupLabel className="combobox-group__label">Other running jobs</ComboboxGroupLabel>
                  {others.map((job) => (
                    <JobOption key={job.id} job={job} />
                  ))}
                </ComboboxGroup>
              ) : null}
            </>
          ) : (
            visible.map((job) => <JobOption key={job.id} job={job} />)
          )}
        </ComboboxPopover>
      </ComboboxProvider>
      {emptyReason ? (
        <p id={hintId} className="field__hint">
          {emptyReason}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="field__error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
