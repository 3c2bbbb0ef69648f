import type { Job } from '@/api/types';
import { describedBy, FieldLabel, FieldMessages } from '@/features/jobs/launch/field-label';
import { EndedPeer } from '@/features/jobs/launch/ended-peer';
import { JobPicker } from '@/features/jobs/launch/job-picker';
import { fieldId, type PeerRow } from '@/features/jobs/launch/launch-form-state';

interface PeerConnectionsProps {
  rows: PeerRow[];
  provider: string | null;
  errorFor: (key: string) => string | null;
  onAdd: () => void;
  onRemove: (key: string) => void;
  onHostnameChange: (key: string, hostname: string) => void;
  onJobPicked: (key: string, job: Job | null) => void;
  onBlur: (key: string) => void;
  /** False when the chosen machine type cannot connect jobs (`supportsPeers: false`): no new connections then. */
  canConnect: boolean;
  productLabel: string | null;
  appTitle: string;
}

/** "Connect to job": each row opens the firewall between this job and a running one. */
export function PeerConnections(props: PeerConnectionsProps) {
  const { rows, provider, errorFor, onAdd, onRemove, onHostnameChange, onJobPicked, onBlur, canConnect, productLabel, appTitle } = props;
  const expected = rows.flatMap((r) => (r.expected ? [r.expected] : []));
  return (
    <section className="panel" aria-labelledby="connections-title">
      <div className="panel__header">
        <div>
          <h2 id="connections-title">Connected jobs</h2>
          <p className="field__hint">
            {expected.length > 0 ? (
              <>
                {appTitle} expects{' '}
                {expected.map((e, i) => (
                  <span key={e.hostname}>
                    {i > 0 ? ', ' : ''}
                    {e.suggestedApplication ? `a ${e.suggestedApplication} job` : 'a job'} as <code>{e.hostname}</code>
                  </span>
                ))}
                . Pick the job; it reaches it under that hostname.
              </>
            ) : (
              <>
                Connect this job to your running jobs. It reaches each of them under the hostname you choose, for example{' '}
                <code>database</code>.
              </>
            )}
          </p>
        </div>
      </div>
      {rows.length > 0 ? (
        <ol className="peer-rows">
          {rows.map((row, index) => {
            const jobKey = `peer.${row.key}.job`;
            const hostKey = `peer.${row.key}.hostname`;
            const hostId = fieldId(hostKey);
            const hostError = errorFor(hostKey);
            const e = row.expected;
            const renamed = e && row.hostname.trim() !== e.hostname;
            return (
              <li key={row.key} className="peer-row">
                <fieldset>
                  <legend className="peer-row__legend">
                    Connection {index + 1}
                    {e ? `: ${e.title}` : ''}
                  </legend>
                  {e ? (
                    <p className="field__hint peer-row__expected">
                      {e.description} {row.jobId === '' ? 'Leave it empty to start without it.' : ''}
                    </p>
                  ) : null}
                  <div className="peer-row__fields">
                    <div className="peer-row__job">
                      <JobPicker
                        id={fieldId(jobKey)}
                        label="Job"
                        value={row.jobId}
                        provider={provider}
                        error={errorFor(jobKey)}
                        onChange={(job) => onJobPicked(row.key, job)}
                        onBlur={() => onBlur(jobKey)}
                        suggestedApplication={e?.suggestedApplication ?? null}
                      />
                      <EndedPeer jobId={row.jobId} hostname={row.hostname} provider={provider} onUse={(job) => onJobPicked(row.key, job)} />
                    </div>
                    <div className="field">
                      <FieldLabel htmlFor={hostId} optional={false}>
                        Hostname
                      </FieldLabel>
                      <input
                        id={hostId}
                        className="input mono"
                        value={row.hostname}
                        autoComplete="off"
                        spellCheck={false}
                        onChange={(e) => onHostnameChange(row.key, e.target.value)}
                        onBlur={() => onBlur(hostKey)}
                        aria-invalid={hostError ? true : undefined}
                        aria-describedby={describedBy(`${hostId}-hint`, true, `${hostId}-error`, hostError)}
                      />
                      <FieldMessages
                        hintId={`${hostId}-hint`}
                        hint={
                          renamed
                            ? `${appTitle} looks for “${e.hostname}”; under another name it will not find this job.`
                            : e
                              ? `${appTitle} looks for this name.`
                              : 'Lowercase letters, digits, “-” and “.”.'
                        }
                        errorId={`${hostId}-error`}
                        error={hostError}
                      />
                    </div>
                    <button
                      type="button"
                      className="button button--ghost peer-row__remove"
                      onClick={() => onRemove(row.key)}
                      aria-label={`Remove connection ${index + 1}`}
                    >
                      Remove
                    </button>
                  </div>
                </fieldset>
              </li>
            );
          })}
        </ol>
      ) : null}
      {canConnect ? (
        <button type="button" className="button button--secondary" onClick={onAdd}>
          + Connect to job
        </button>
      ) : (
        <p className="field__hint" role="note">
          {productLabel ?? 'This machine type'} cannot connect to other jobs: its provider does not support it. Choose another machine
          type to connect this job.
        </p>
      )}
    </section>
  );
}
