import { useCallback, useRef, useState } from 'react';

/** Within this many pixels of the end counts as "at the end" (fractional scroll positions). */
const STICK_THRESHOLD_PX = 8;

/**
 * A scroll box that follows the end of what it shows while the reader is there, and stays put once they scroll up
 * to read, until they scroll back down or press "Jump to latest" (the job output, the tasks' message logs).
 * `following` is a ref: the owner scrolls to the end after new content is laid out while it is true.
 */
export function useFollowEnd<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  const following = useRef(true);
  const [behind, setBehind] = useState(false);

  const onScroll = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_THRESHOLD_PX;
    following.current = atEnd;
    setBehind(!atEnd);
  }, []);

  const jump = useCallback(() => {
    const el = ref.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    following.current = true;
    setBehind(false);
  }, []);

  return { ref, following, behind, onScroll, jump };
}

/** The way back to the end, shown while the reader has scrolled away from it. */
export function JumpToLatest({ shown, onClick }: { shown: boolean; onClick: () => void }) {
  if (!shown) return null;
  return (
    <button type="button" className="message-log__jump" onClick={onClick}>
      Jump to latest
    </button>
  );
}
