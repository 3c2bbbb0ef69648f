import fs from 'node:fs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { build, sharedApp, type TestApp } from './app';

// The helpers' own promise: whatever a test does, its app is closed and its database and data directory removed.

describe('build()', () => {
  let fromTest: TestApp;
  let fromBeforeEach: TestApp;

  it('gives a working app inside a test', async () => {
    fromTest = await build();
    expect((await fromTest.call('GET', '/api/health', null)).statusCode).toBe(200);
    expect(fs.existsSync(fromTest.dataDir)).toBe(true);
  });

  it('closed it when that test finished: its database and data directory are gone', async () => {
    expect(fs.existsSync(fromTest.dataDir)).toBe(false);
    await expect(fromTest.db.query('SELECT 1')).rejects.toThrow();
  });

  describe('in a beforeEach', () => {
    let built: TestApp;
    beforeEach(async () => {
      built = await build();
    });

    it('builds one for the test', async () => {
      fromBeforeEach = built;
      expect((await built.call('GET', '/api/health', null)).statusCode).toBe(200);
    });

    it('and closes it after that test', () => {
      expect(built).not.toBe(fromBeforeEach);
      expect(fs.existsSync(fromBeforeEach.dataDir)).toBe(false);
    });
  });

  describe('outside a test', () => {
    let outside: unknown;
    beforeAll(async () => {
      outside = await build().catch((error: unknown) => error);
    });

    it('is refused: nothing would close the app', () => {
      expect(outside).toBeInstanceOf(Error);
      expect((outside as Error).message).toMatch(/inside a test/);
    });
  });
});

describe('sharedApp()', () => {
  let outer: TestApp;
  describe('one app for a block', () => {
    const t = sharedApp();
    let seenInBeforeAll = 0;
    beforeAll(async () => {
      seenInBeforeAll = (await t.call('GET', '/api/health', null)).statusCode;
    });

    it('is built before the block\'s later beforeAll hooks', () => {
      expect(seenInBeforeAll).toBe(200);
      outer = { ...t };
    });

    it('is the same app for every test of the block', () => {
      expect(t.app).toBe(outer.app);
      expect(fs.existsSync(t.dataDir)).toBe(true);
    });
  });

  it('is closed after the block', () => {
    expect(fs.existsSync(outer.dataDir)).toBe(false);
  });
});
