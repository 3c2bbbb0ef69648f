/**
 * The server's natural name key (migration 010's `jobdeck_natural_key`, applied to the lower-cased name): each run
 * of digits becomes its length in three digits (leading zeros dropped) followed by the digits, so that comparing
 * keys character by character compares numbers by value: `batch-12` → `batch-00212`, `batch-102` → `batch-003102`.
 */
export function naturalKey(text: string): string {
  return text.toLowerCase().replace(/[0-9]+/g, (run) => {
    const digits = run.replace(/^0+/, '');
    return String(digits.length).padStart(3, '0').slice(-3) + digits;
  });
}

/** Compares by code point, as the server's "C" collation compares UTF-8 bytes (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}
