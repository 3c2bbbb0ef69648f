import { describe, it } from 'vitest';

/**
 * A describe block that needs something of the machine (root, network namespaces, nftables). Outside CI it is
 * skipped when that is missing, with a warning that says why. Under CI (`.ci/run` runs as root and installs what these
 * need) a missing prerequisite is a failed test instead: a run must never go green with these tests silently gone.
 */
export function describeWhere(available: boolean, why: string | null, name: string, fn: () => void): void {
  if (available) {
    describe(name, fn);
    return;
  }
  if (!process.env.CI) {
    console.warn(`Skipping "${name}": ${why ?? 'a prerequisite is missing'}`);
    describe.skip(name, fn);
    return;
  }
  // One failing test that names what is missing (the summary lists it by name), and the block itself skipped.
  it(`${name}: can run here`, () => {
    throw new Error(`"${name}" must run under CI, but cannot: ${why ?? 'a prerequisite is missing'}`);
  });
  describe.skip(name, fn);
}
