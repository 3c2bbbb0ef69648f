import { memo, useEffect, useRef } from 'react';
import { JumpToLatest, useFollowEnd } from '@/lib/use-follow-end';

interface MessageLogProps {
  messages: readonly string[];
  /** Messages that already fell off the front; keeps each line's key stable as the log scrolls. */
  dropped: number;
  label: string;
  /** Render only about this many of the newest lines (the tray; between `limit` and 1.5 × `limit`); the detail view shows them all. */
  limit?: number;
  className?: string;
}

// Text children only: React escapes them, so a message is never parsed as HTML.
const Line = memo(function Line({ text }: { text: string }) {
  return <div className="message-log__line">{text}</div>;
});

/** Lines per chunk: a new line re-renders its chunk (at most this many lines), not the whole log. */
const CHUNK_LINES = 10;

interface ChunkProps {
  messages: readonly string[];
  /** `messages[from..to)`, the lines with keys `key..key + (to - from)`. */
  from: number;
  to: number;
}

/**
 * A run of lines that starts on a key that is a multiple of CHUNK_LINES (or where the window starts). Only
 * the chunk whose lines changed renders (in a live log, the last one), even though `messages` is a new array
 * each time. A fragment, so the lines stay the log's own children.
 */
const Chunk = memo(
  function Chunk({ messages, from, to }: ChunkProps) {
    const lines = [];
    for (let i = from; i < to; i++) lines.push(<Line key={i - from} text={messages[i]!} />);
    return <>{lines}</>;
  },
  sameLines,
);

function sameLines(a: ChunkProps, b: ChunkProps): boolean {
  if (a.to - a.from !== b.to - b.from) return false;
  for (let i = 0; i < a.to - a.from; i++) if (a.messages[a.from + i] !== b.messages[b.from + i]) return false;
  return true;
}

/** The shown lines (keys from `offset`) as chunks keyed by their first line's key. */
function chunks(shown: readonly string[], offset: number) {
  const out = [];
  for (let from = 0; from < shown.length; ) {
    const key = offset + from;
    const to = Math.min(shown.length, from + CHUNK_LINES - (key % CHUNK_LINES));
    out.push(<Chunk key={key} messages={shown} from={from} to={to} />);
    from = to;
  }
  return out;
}

/**
 * A `role="log"` that follows new lines while the reader is at the end, and
 * stays put once they scroll up to read, until they come back down or press
 * "Jump to latest".
 */
export function MessageLog({ messages, dropped, label, limit, className }: MessageLogProps) {
  // The window starts on a multiple of `limit / 2`, so most updates only append to the rendered lines:
  // React then compares them in order instead of re-keying a list that lost its first line.
  let start = 0;
  if (limit !== undefined && messages.length > limit) {
    const step = Math.max(1, Math.floor(limit / 2));
    const first = Math.floor((dropped + messages.length - limit) / step) * step;
    start = Math.max(0, first - dropped);
  }
  const shown = start > 0 ? messages.slice(start) : messages;
  const offset = dropped + start;
  const { ref, following, behind, onScroll, jump } = useFollowEnd<HTMLDivElement>();

  // Following the end without forcing a layout: a ResizeObserver on the lines is told after the browser's own
  // layout of the frame, when reading scrollHeight is free. (Reading it in a layout effect, right after React's
  // DOM writes, made every live log lay out the page once more per frame.) A log whose card is skipped by
  // `content-visibility: auto` is not laid out, so it is not told either, until it is shown.
  const content = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    const lines = content.current;
    if (!el || !lines || typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver(() => {
      if (following.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(lines);
    return () => observer.disconnect();
    // The refs are the same objects on every render: the observer is made once.
  }, [ref, following]);

  return (
    <div className={`message-log-frame ${className ?? ''}`}>
      {/* Focusable so keyboard users can scroll it. */}
      <div ref={ref} role="log" aria-label={label} tabIndex={0} className="message-log" onScroll={onScroll}>
        <div ref={content} className="message-log__lines">
          {chunks(shown, offset)}
        </div>
      </div>
      <JumpToLatest shown={behind} onClick={jump} />
    </div>
  );
}
