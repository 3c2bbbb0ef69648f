import { formatDateTime, formatRemaining, isoString } from '@/lib/format';
import { useNow } from '@/features/jobs/detail/use-now';

/** Below this, the countdown says in words (not only in colour) that the job is about to expire. */
export const LOW_TIME_MS = 10 * 60_000;

/** Time left until `expiresAt`, ticking each second. Not a live region: it would talk every second. */
export function Countdown({ expiresAt, running }: { expiresAt: number | null; running: boolean }) {
  const now = useNow(running && expiresAt !== null);
  if (expiresAt === null) {
    return <p className="countdown countdown--idle">{running ? 'No time limit' : 'Starts counting when the job runs'}</p>;
  }
  const left = expiresAt - now;
  const low = running && left < LOW_TIME_MS;
  return (
    <div className="countdown">
      <p className={`countdown__value ${low ? 'countdown__value--low' : ''}`}>
        {running ? (left > 0 ? formatRemaining(left) : 'Expiring…') : '—'}
      </p>
      {low && left > 0 ? <p className="countdown__warning">Expires soon: less than 10 minutes left</p> : null}
      <p className="countdown__label">
        {running ? 'left' : 'not running'} · expires <time dateTime={isoString(expiresAt)}>{formatDateTime(expiresAt)}</time>
      </p>
    </div>
  );
}
