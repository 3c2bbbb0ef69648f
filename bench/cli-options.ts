/** The command line of a bench script: `--name value` options, and flags. */
export const args = process.argv.slice(2);

/** The value after `--name`, or `fallback`. */
export function option(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}
