import type { Job } from '@/api/types';
import { describedBy, FieldLabel, FieldMessages } from '@/features/jobs/launch/field-label';
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
}

/** "Connect to job": each row opens the firewall between this job and a running one. */
export function PeerConnections({ rows, provider, errorFor, onAdd, onRemove, onHostnameChange, onJobPicked, onBlur }: PeerConnectionsProps) {
  return (
    <section className="panel" aria-labelledby="connections-title">
      <div className="panel__header">
        <div>
          <h2 id="connections-title">Connected jobs</h2>
          <p className="field__hint">
            Connect this job to your running jobs. It reaches each of them under the hostname you choose, for example{' '}
            <code>database</code>.
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
            return (
              <li key={row.key} className="peer-row">
                <fieldset>
                  <legend className="peer-row__legend">Connection {index + 1}</legend>
                  <div className="peer-row__fields">
                    <JobPicker
                      id={fieldId(jobKey)}
                      label="Job"
                      value={row.jobId}
                      provider={provider}
                      error={errorFor(jobKey)}
                      onChange={(job) => onJobPicked(row.key, job)}
                      onBlur={() => onBlur(jobKey)}
                    />
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
                        hint="Lowercase letters, digits, “-” and “.”."
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
      <button type="button" className="button button--secondary" onClick={onAdd}>
        + Connect to job
      </button>
    </section>
  );
}
