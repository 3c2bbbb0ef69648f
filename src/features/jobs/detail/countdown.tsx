import { formatDateTime, formatRemaining, isoString } from '@/lib/format';
import { useNow } from '@/features/jobs/detail/use-now';

/** Time left until `expiresAt`, ticking each second. Not a live region: it would talk every second. */
export function Countdown({ expiresAt, running }: { expiresAt: number | null; running: boolean }) {
  const now = useNow(running && expiresAt !== null);
  if (expiresAt === null) {
    return <p className="countdown countdown--idle">{running ? 'No time limit' : 'Starts counting when the job runs'}</p>;
  }
  const left = expiresAt - now;
  return (
    <div className="countdown">
      <p className={`countdown__value ${running && left < 10 * 60_000 ? 'countdown__value--low' : ''}`}>
        {running ? (left > 0 ? formatRemaining(left) : 'Expiring…') : '—'}
      </p>
      <p className="countdown__label">
        {running ? 'left' : 'ended'} · expires <time dateTime={isoString(expiresAt)}>{formatDateTime(expiresAt)}</time>
      </p>
    </div>
  );
}
