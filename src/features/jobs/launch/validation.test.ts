import { describe, expect, it } from 'vitest';
import { fieldKeyForWhy, newPeerRow, type LaunchFormState } from '@/features/jobs/launch/launch-form-state';
import { suggestHostname, uniqueHostname, validateHostname, validatePath } from '@/features/jobs/launch/validation';

describe('hostnames', () => {
  it('accepts DNS names and refuses the rest', () => {
    expect(validateHostname('database')).toBeNull();
    expect(validateHostname('db-1.internal')).toBeNull();
    expect(validateHostname('a'.repeat(63))).toBeNull();
    expect(validateHostname(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`)).toBeNull();
    expect(validateHostname(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`)).toMatch(/253/);
    expect(validateHostname('a'.repeat(64))).toMatch(/63/);
    expect(validateHostname('')).toMatch(/enter a hostname/i);
    expect(validateHostname('db.')).toMatch(/start or end with “\.”/);
    expect(validateHostname('-db')).toMatch(/“-”/);
    expect(validateHostname('db_1')).toMatch(/a–z/);
    expect(validateHostname('DB')).toMatch(/lowercase/);
  });

  it('reports every problem of a hostname at once', () => {
    expect(validateHostname('Data_Base!')).toBe('Use lowercase letters only. Use only a–z, 0–9, “-” and “.”: remove “_”, “!”.');
    expect(validateHostname('-Db..x')).toBe(
      'Use lowercase letters only. A hostname cannot start or end with “.”, or contain “..”. A part of a hostname cannot start or end with “-”.',
    );
  });

  it('suggests a hostname from a job name and keeps it unique', () => {
    expect(suggestHostname('My Database #2')).toBe('my-database-2');
    expect(suggestHostname('Café')).toBe('cafe');
    expect(suggestHostname('***')).toBe('peer');
    expect(suggestHostname('x'.repeat(80))).toHaveLength(63);
    expect(uniqueHostname('db', new Set(['db', 'db-2']))).toBe('db-3');
  });
});

describe('paths', () => {
  it('wants absolute, normalised paths', () => {
    expect(validatePath('/123/acme-database', false, 'folder')).toBeNull();
    expect(validatePath('/', false, 'folder')).toBeNull();
    expect(validatePath('/', false, 'file')).toMatch(/file/);
    expect(validatePath('', true, 'file')).toBeNull();
    expect(validatePath('relative', false, 'file')).toMatch(/absolute/);
    expect(validatePath('/a/../b', false, 'file')).toMatch(/“\.\.”/);
    expect(validatePath('/a/..', false, 'file')).toMatch(/“\.\.”/);
    expect(validatePath('/a/./b', false, 'file')).toMatch(/“\.”/);
    expect(validatePath('/a//b', false, 'file')).toMatch(/“\/\/”/);
    expect(validatePath('/a/', false, 'folder')).toMatch(/trailing/);
  });
});

describe("mapping the server's why to a field", () => {
  const row = newPeerRow({ hostname: 'db', jobId: '1' });
  const state: LaunchFormState = {
    params: { value: 'x', cache: { hostname: 'c', jobId: '2' } },
    productKey: 'example/example-compute',
    name: '',
    hours: '1',
    minutes: '0',
    peers: [row],
  };
  it('finds parameters, peers and settings', () => {
    expect(fieldKeyForWhy('items[0].parameters.value: must be at most 10 characters', state)).toBe('param.value');
    expect(fieldKeyForWhy('items[0].parameters.cache.hostname: must be a DNS name', state)).toBe('param.cache.hostname');
    expect(fieldKeyForWhy("items[0].resources[0].hostname: must be a DNS name (a-z, 0-9, '-', '.')", state)).toBe(`peer.${row.key}.hostname`);
    expect(fieldKeyForWhy('items[0].resources[0].jobId: job 9 is not running', state)).toBe(`peer.${row.key}.job`);
    expect(fieldKeyForWhy('items[0].resources[3].jobId: nope', state)).toBeNull();
    expect(fieldKeyForWhy('items[0].product: unknown product', state)).toBe('product');
    expect(fieldKeyForWhy('items[0].timeAllocation.minutes: at most 59', state)).toBe('minutes');
    expect(fieldKeyForWhy('Something else went wrong', state)).toBeNull();
  });
});
