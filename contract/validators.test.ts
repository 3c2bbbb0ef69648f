import { describe, expect, it } from 'vitest';
import { isAbsoluteNormalisedPath, isDnsName, isUsername } from './validators';

describe('isDnsName', () => {
  it.each(['database', 'db-1', 'a', '0', 'my.database.internal', 'x'.repeat(63), `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`])(
    'accepts %s',
    (hostname) => expect(isDnsName(hostname)).toBe(true),
  );

  it.each([
    ['empty', ''],
    ['upper case', 'Database'],
    ['leading hyphen', '-db'],
    ['trailing hyphen', 'db-'],
    ['underscore', 'my_db'],
    ['space', 'my db'],
    ['empty label', 'a..b'],
    ['trailing dot', 'database.'],
    ['leading dot', '.database'],
    ['64-character label', 'x'.repeat(64)],
    ['over 253 characters', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`],
    ['non-ASCII', 'dätabase'],
  ])('refuses %s', (_, hostname) => expect(isDnsName(hostname)).toBe(false));
});

describe('isAbsoluteNormalisedPath', () => {
  it.each(['/', '/123/acme-database', '/home/user/file.txt', '/a/.hidden', '/a/..b', '/a/b...'])('accepts %s', (path) =>
    expect(isAbsoluteNormalisedPath(path)).toBe(true),
  );

  it.each([
    ['empty', ''],
    ['relative', '123/acme-database'],
    ['parent segment', '/123/../etc'],
    ['trailing parent', '/123/..'],
    ['double slash', '/123//acme'],
    ['leading double slash', '//123'],
    ['dot segment', '/123/./acme'],
    ['trailing dot', '/123/.'],
    ['trailing slash', '/123/acme/'],
    ['NUL', '/123/a\0b'],
  ])('refuses %s', (_, path) => expect(isAbsoluteNormalisedPath(path)).toBe(false));
});

describe('isUsername', () => {
  it.each(['user', 'User#1234', 'ucloud', '_ucloud', 'a.b-c_d', 'x'.repeat(64)])('accepts %s', (name) =>
    expect(isUsername(name)).toBe(true),
  );
  it.each(['', 'x'.repeat(65), 'has space', 'a/b', 'ünï', 'a@b'])('refuses %s', (name) => expect(isUsername(name)).toBe(false));
});
