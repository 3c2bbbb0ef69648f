// Pure checks shared by server and SPA; the schemas only check shape, these check meaning.

/** Usernames may contain A-Z a-z 0-9 _ . - #, so the seed's `User#1234` is valid (contract §6). */
export const USERNAME_PATTERN = '^[A-Za-z0-9_.#-]{1,64}$';
const usernameRegExp = new RegExp(USERNAME_PATTERN);

export function isUsername(value: string): boolean {
  return usernameRegExp.test(value);
}

const dnsLabel = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A peer hostname: lower-case DNS labels, each at most 63 characters, at most 253 in all (contract §3). */
export function isDnsName(hostname: string): boolean {
  if (hostname.length === 0 || hostname.length > 253) return false;
  return hostname.split('.').every((label) => label.length <= 63 && dnsLabel.test(label));
}

/** A mount path: absolute, with no empty, `.` or `..` segments and no trailing slash, so two spellings never name one folder. */
export function isAbsoluteNormalisedPath(path: string): boolean {
  if (!path.startsWith('/') || path.includes('\0')) return false;
  if (path === '/') return true;
  return path
    .slice(1)
    .split('/')
    .every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}
