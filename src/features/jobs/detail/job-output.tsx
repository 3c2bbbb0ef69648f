import { useCallback, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { JumpToLatest, useFollowEnd } from '@/lib/use-follow-end';
import { describeError, http } from '@/api/http';
import type { Job } from '@/api/types';
import { FINAL_STATES } from '@/lib/format';
import type { OutputBuffer, OutputStream } from './output-buffer';

/** Every line is one row of this height (no wrapping: long lines scroll sideways), so the list can be virtualised. */
const LINE_HEIGHT = 19;
/** Rows rendered above and below the visible ones. */
const OVERSCAN = 20;
/** The log's height before it has been measured (its CSS max-height). */
const INITIAL_VIEWPORT = 380;

interface JobOutputProps {
  job: Job;
  buffer: OutputBuffer;
}

/**
 * The job's output as it runs, then as it was: a virtualised `role="log"` that follows the end while the reader is
 * there, and stays put when they scroll up, until "Jump to latest". The page keeps the newest lines (see
 * OutputBuffer); Download saves each stream whole, as the job wrote it.
 */
export function JobOutput({ job, buffer }: JobOutputProps) {
  // One render per animation frame at most, however fast lines arrive.
  const version = useFrameThrottled(buffer);
  const count = buffer.count;
  const dropped = buffer.dropped;
  const { ref: scrollRef, following, behind, onScroll, jump } = useFollowEnd<HTMLDivElement>();
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const ended = FINAL_STATES.has(job.status.state);

  // Rows are all LINE_HEIGHT tall, so the visible window is arithmetic on the scroll position: nothing is measured,
  // and a frame's work is the same for 200 lines or 20 000 (a general virtualiser re-measures every row per change).
  const [scroll, setScroll] = useState({ top: 0, height: INITIAL_VIEWPORT });
  const onLogScroll = useCallback(() => {
    onScroll();
    const el = scrollRef.current;
    if (!el) return;
    // Following, the window is the end whatever the position: the scroll that following itself makes (one a frame)
    // costs no second render.
    setScroll((s) =>
      (following.current && s.height === el.clientHeight) || (s.top === el.scrollTop && s.height === el.clientHeight)
        ? s
        : { top: el.scrollTop, height: el.clientHeight },
    );
  }, [onScroll, scrollRef, following]);
  const total = count * LINE_HEIGHT;
  // While following, the window is the end, already in this render (the scroll event comes after).
  const top = following.current ? Math.max(0, total - scroll.height) : scroll.top;
  const first = Math.max(0, Math.floor(top / LINE_HEIGHT) - OVERSCAN);
  const last = Math.min(count, Math.ceil((top + scroll.height) / LINE_HEIGHT) + OVERSCAN);

  // Following the end: once the new lines are in the DOM, before paint, scroll to them (to a computed offset, so
  // nothing is read back from layout).
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && following.current) el.scrollTop = total;
  }, [version, total, scrollRef, following]);

  const save = (stream: OutputStream) => {
    setDownloadError(null);
    http
      .download('/api/jobs/output', { id: job.id, stream }, `job-${job.id}-${stream}.log`)
      .catch((error: unknown) => setDownloadError(describeError(error)));
  };

  const empty = count === 0;
  return (
    <section className="panel job-output" aria-labelledby="output-title">
      <div className="job-output__head">
        <h2 id="output-title" className="panel__title">
          Output
        </h2>
        <div className="job-output__actions">
          <button type="button" className="button button--secondary button--small" onClick={() => save('stdout')}>
            Download stdout
          </button>
          <button type="button" className="button button--secondary button--small" onClick={() => save('stderr')}>
            Download stderr
          </button>
        </div>
      </div>
      {downloadError ? (
        <p role="alert" className="job-output__error">
          Could not download the output: {downloadError}
        </p>
      ) : null}
      {dropped > 0 ? (
        <p className="muted job-output__note">
          Showing the newest {count.toLocaleString()} lines; {dropped.toLocaleString()} earlier ones are in the download.
        </p>
      ) : null}
      <div className="job-output__frame">
        {/* Focusable, so keyboard users can scroll it; text only, so nothing a job prints is parsed as HTML. */}
        <div
          ref={scrollRef}
          role="log"
          aria-label={`Output of job ${job.id}`}
          tabIndex={0}
          className="job-output__log"
          onScroll={onLogScroll}
        >
          {empty ? (
            <p className="job-output__empty">{ended ? 'This job printed nothing.' : job.status.state === 'RUNNING' ? 'No output yet.' : 'The output shows here once the job runs.'}</p>
          ) : (
            <div className="job-output__lines" style={{ height: total }}>
              {Array.from({ length: last - first }, (_, i) => {
                const index = first + i;
                // Keyed by its slot in the window, not by line: as the window moves (by thousands of lines a frame in
                // a flood) React rewrites the same few dozen rows' text instead of removing and creating them.
                const line = buffer.at(index);
                return (
                  <div
                    key={i}
                    className={`job-output__line${line.stream === 'stderr' ? ' job-output__line--stderr' : ''}`}
                    style={{ transform: `translateY(${index * LINE_HEIGHT}px)` }}
                  >
                    {line.text || ' '}
                  </div>
                );
              })}
            </div>
          )}
        </div>
        <JumpToLatest shown={behind} onClick={jump} />
      </div>
    </section>
  );
}

/** The buffer's version, committed at most once per animation frame (a 250 ms timer covers hidden tabs). */
function useFrameThrottled(buffer: OutputBuffer): number {
  const shown = useRef(buffer.version);
  const subscribe = useCallback(
    (notify: () => void) => {
      let frame: number | null = null;
      let timer: ReturnType<typeof setTimeout> | null = null;
      const commit = () => {
        if (frame !== null) cancelAnimationFrame(frame);
        if (timer !== null) clearTimeout(timer);
        frame = null;
        timer = null;
        shown.current = buffer.version;
        notify();
      };
      const off = buffer.subscribe(() => {
        if (frame !== null) return;
        frame = requestAnimationFrame(commit);
        timer = setTimeout(commit, 250);
      });
      return () => {
        off();
        if (frame !== null) cancelAnimationFrame(frame);
        if (timer !== null) clearTimeout(timer);
      };
    },
    [buffer],
  );
  return useSyncExternalStore(subscribe, () => shown.current);
}
