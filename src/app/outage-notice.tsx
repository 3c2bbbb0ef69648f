import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { http } from '@/api/http';
import { useServerUnreachableSince } from '@/api/reachability';
import { live } from '@/api/live/live';
import { getLiveStatus } from '@/api/live/status';

/** Seconds between probes for the server's return: soon at first, then every 10 s (never the socket's 30 s cap). */
export const PROBE_DELAYS_S = [2, 4, 8, 10] as const;
const CATCH_UP_EVERY_MS = 10_000;

/**
 * While the server cannot be reached: a notice that says so, a visible countdown to the next try and "Retry now".
 * When any call gets an answer again, everything on screen is refetched at once and the socket reconnects now,
 * rather than each at its own back-off.
 */
export function OutageNotice() {
  const since = useServerUnreachableSince();
  const queryClient = useQueryClient();
  const [attempt, setAttempt] = useState(0);
  const [nextAt, setNextAt] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [probing, setProbing] = useState(false);
  const wasDown = useRef(false);
  const lastCatchUp = useRef(0);

  useEffect(() => {
    if (since !== null) {
      wasDown.current = true;
      return;
    }
    setAttempt(0);
    setNextAt(null);
    if (!wasDown.current) return;
    wasDown.current = false;
    // At most once in a while: when only some calls fail (one broken route behind a gateway), answers and failures
    // alternate, and refetching everything on each answer would turn that into a storm of requests.
    if (Date.now() - lastCatchUp.current < CATCH_UP_EVERY_MS) return;
    lastCatchUp.current = Date.now();
    void queryClient.invalidateQueries();
    if (getLiveStatus() === 'reconnecting') live.socket.reconnectNow();
  }, [since, queryClient]);

  async function probe() {
    setProbing(true);
    try {
      // Any answer marks the server reachable (http.ts); the effect above then catches up.
      await http.get('/api/health');
    } catch {
      setAttempt((a) => a + 1);
    } finally {
      setProbing(false);
    }
  }

  useEffect(() => {
    if (since === null) return undefined;
    const delay = PROBE_DELAYS_S[Math.min(attempt, PROBE_DELAYS_S.length - 1)]! * 1000;
    setNextAt(Date.now() + delay);
    const timer = setTimeout(() => void probe(), delay);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      clearTimeout(timer);
      clearInterval(tick);
    };
    // A new attempt or a new outage restarts the countdown.
  }, [since, attempt]);

  const down = since !== null;
  const seconds = nextAt === null ? null : Math.max(0, Math.ceil((nextAt - now) / 1000));
  return (
    <div className={down ? 'outage' : undefined}>
      {/* One live region, always there, holding only this sentence: the countdown would be read out every second. */}
      <p role="status" className={down ? 'outage__text' : 'visually-hidden'}>
        {down ? 'Jobdeck’s server cannot be reached. Pages show what they last loaded, which may be out of date.' : ''}
      </p>
      {down ? (
        <p className="outage__retry">
          <span>{probing ? 'Trying again…' : seconds !== null ? `Trying again in ${seconds} s.` : ''}</span>
          <button type="button" className="button button--secondary button--small" disabled={probing} onClick={() => void probe()}>
            Retry now
          </button>
        </p>
      ) : null}
    </div>
  );
}
