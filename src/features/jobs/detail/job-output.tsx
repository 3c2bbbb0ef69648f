import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { JumpToLatest, useFollowEnd } from '@/lib/use-follow-end';
import { useVirtualizer } from '@tanstack/react-virtual';
import { describeError, http } from '@/api/http';
import type { Job } from '@/api/types';
import { FINAL_STATES } from '@/lib/format';
import type { OutputBuffer, OutputStream } from './output-buffer';

/** Every line is one row of this height (no wrapping: long lines scroll sideways), so the list can be virtualised. */
const LINE_HEIGHT = 19;

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
  const { ref: scrollRef, following, behind, onScroll, jump } = useFollowEnd<HTMLDivElement>();
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const ended = FINAL_STATES.has(job.status.state);

  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => LINE_HEIGHT,
    overscan: 20,
    initialRect: { width: 800, height: 360 },
  });

  // Following the end: after the new lines are laid out, scroll to them.
  useEffect(() => {
    const el = scrollRef.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  }, [version, scrollRef, following]);

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
      {buffer.dropped > 0 ? (
        <p className="muted job-output__note">
          Showing the newest {count.toLocaleString()} lines; {buffer.dropped.toLocaleString()} earlier ones are in the download.
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
          onScroll={onScroll}
        >
          {empty ? (
            <p className="job-output__empty">{ended ? 'This job printed nothing.' : job.status.state === 'RUNNING' ? 'No output yet.' : 'The output shows here once the job runs.'}</p>
          ) : (
            <div className="job-output__lines" style={{ height: virtualizer.getTotalSize() }}>
              {virtualizer.getVirtualItems().map((row) => {
                const line = buffer.at(row.index);
                return (
                  <div
                    key={buffer.dropped + row.index}
                    className={`job-output__line${line.stream === 'stderr' ? ' job-output__line--stderr' : ''}`}
                    style={{ transform: `translateY(${row.start}px)` }}
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
