import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

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

/** Within this many pixels of the end counts as "at the end" (fractional scroll positions). */
const STICK_THRESHOLD_PX = 8;

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
  const ref = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  const [behind, setBehind] = useState(false);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_THRESHOLD_PX;
    following.current = atEnd;
    setBehind(!atEnd);
  }, []);

  // Off-screen logs (a hundred tasks in the tray) are not scrolled: reading scrollHeight inside a
  // `content-visibility: auto` card forces its layout, a cost per card per frame. They catch up when shown.
  const visible = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === 'undefined') return undefined;
    const observer = new IntersectionObserver((entries) => {
      const entry = entries[entries.length - 1];
      if (!entry) return;
      visible.current = entry.isIntersecting;
      if (entry.isIntersecting && following.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const lastKey = offset + shown.length;
  useLayoutEffect(() => {
    const el = ref.current;
    // All of this frame's DOM writes are done before layout effects run, so this read costs one layout.
    if (el && following.current && visible.current) el.scrollTop = el.scrollHeight;
  }, [lastKey]);

  const jump = () => {
    const el = ref.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    following.current = true;
    setBehind(false);
  };

  return (
    <div className={`message-log-frame ${className ?? ''}`}>
      {/* Focusable so keyboard users can scroll it. */}
      <div ref={ref} role="log" aria-label={label} tabIndex={0} className="message-log" onScroll={onScroll}>
        {chunks(shown, offset)}
      </div>
      {behind ? (
        <button type="button" className="message-log__jump" onClick={jump}>
          Jump to latest
        </button>
      ) : null}
    </div>
  );
}
