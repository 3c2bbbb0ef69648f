/** Bulk bodies stay under the 1 MiB request limit (contract §0) whatever the jobs hold. */
export const MAX_BODY_BYTES = 900 * 1024;

/** The longest prefix of `parts` (JSON texts) whose `{"items":[...]}` body stays within maxBytes; at least one. */
export function prefixWithin(parts: string[], maxBytes = MAX_BODY_BYTES): number {
  let size = 12;
  for (let i = 0; i < parts.length; i++) {
    size += Buffer.byteLength(parts[i]!) + 1;
    if (size > maxBytes) return Math.max(1, i);
  }
  return parts.length;
}

/** A BulkRequest's body from its items' JSON texts. */
export const itemsBody = (parts: string[]) => `{"items":[${parts.join(',')}]}`;
