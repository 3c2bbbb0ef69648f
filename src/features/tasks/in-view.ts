import { createContext, useContext, useEffect, useState, type RefObject } from 'react';

/**
 * Which cards of a scrolling list are on screen (or nearly), from one IntersectionObserver for the whole list.
 * The tray mounts a task's message log only while its card is in view: a hundred live logs off screen cost a
 * render and DOM writes per update and are seen by nobody.
 */
export interface ViewWatcher {
  watch(el: Element, onChange: (inView: boolean) => void): () => void;
  disconnect(): void;
}

export const ViewWatcherContext = createContext<ViewWatcher | null>(null);

/** One observer over `root`; `margin` is how far outside it still counts as in view (mounted before it shows). */
export function createViewWatcher(root: Element, margin: string): ViewWatcher | null {
  if (typeof IntersectionObserver === 'undefined') return null;
  const listeners = new Map<Element, (inView: boolean) => void>();
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) listeners.get(entry.target)?.(entry.isIntersecting);
    },
    { root, rootMargin: margin },
  );
  return {
    watch(el, onChange) {
      listeners.set(el, onChange);
      observer.observe(el);
      return () => {
        listeners.delete(el);
        observer.unobserve(el);
      };
    },
    disconnect() {
      observer.disconnect();
      listeners.clear();
    },
  };
}

/**
 * True while the element is in view of the nearest ViewWatcher. Without one (a list that does not watch, or a
 * browser without IntersectionObserver), always true. Starts false under a watcher: the observer reports the
 * visible cards within the first frame.
 */
export function useInView(ref: RefObject<Element | null>): boolean {
  const watcher = useContext(ViewWatcherContext);
  const [inView, setInView] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!watcher || !el) return undefined;
    return watcher.watch(el, setInView);
  }, [watcher, ref]);
  return watcher ? inView : true;
}
