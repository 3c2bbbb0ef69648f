/**
 * A pure function of a string, remembered for the last `max` distinct arguments (the oldest forgotten first), so a
 * value asked for again and again is computed once. An argument longer than `maxKeyLength` is computed each time and
 * never kept: the arguments come from requests, and a bound on each one is what bounds the memory.
 */
export function memoize<V>(fn: (key: string) => V, opts: { max: number; maxKeyLength: number }): (key: string) => V {
  const seen = new Map<string, V>();
  return (key) => {
    if (key.length > opts.maxKeyLength) return fn(key);
    const known = seen.get(key);
    if (known !== undefined) return known;
    const value = fn(key);
    if (seen.size >= opts.max) seen.delete(seen.keys().next().value!);
    seen.set(key, value);
    return value;
  };
}
