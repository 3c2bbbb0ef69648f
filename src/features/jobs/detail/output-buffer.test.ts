import { describe, expect, it } from 'vitest';
import { OutputBuffer } from './output-buffer';

const out = (stdout: string | null, stderr: string | null = null) => [{ rank: 0, stdout, stderr }];

describe('OutputBuffer', () => {
  it('splits into lines per stream, keeping an unfinished line apart until its newline comes', () => {
    const b = new OutputBuffer();
    b.append(out('one\ntw', 'err'));
    expect(b.lines).toEqual([{ text: 'one', stream: 'stdout' }]);
    expect(b.view().map((l) => l.text)).toEqual(['one', 'tw', 'err']);
    b.append(out('o\r\n', ' one\n'));
    expect(b.lines).toEqual([
      { text: 'one', stream: 'stdout' },
      { text: 'two', stream: 'stdout' },
      { text: 'err one', stream: 'stderr' },
    ]);
  });

  it('keeps only the newest lines, counting those it dropped', () => {
    const b = new OutputBuffer(10);
    b.append(out('1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n'));
    // Within a tenth over the bound it waits; past it, it trims to the bound.
    expect(b.lines).toHaveLength(11);
    b.append(out('12\n'));
    expect(b.lines.map((l) => l.text)).toEqual(['3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
    expect(b.dropped).toBe(2);
  });

  it('counts a burst it would only trim again without splitting it, and keeps the newest lines exact', () => {
    const b = new OutputBuffer(10);
    let calls = 0;
    b.subscribe(() => calls++);
    const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`).join('');
    // Three messages before the page reads: 1..50, 51..99 and the start of 100, the end of 100 and 101..105 with an
    // unfinished 106; stderr once in between.
    b.append(out(numbered(1, 50)));
    b.append(out(`${numbered(51, 99)}10`, 'warn\n'));
    b.append(out(`0\n${numbered(101, 105)}106`));
    expect(calls).toBe(3);
    expect(b.view().map((l) => l.text)).toEqual(['97', '98', '99', 'warn', '100', '101', '102', '103', '104', '105', '106']);
    expect(b.dropped).toBe(96);
    expect(b.dropped + b.lines.length).toBe(106);
  });

  it('starts afresh on reset, and tells its subscribers of every change', () => {
    const b = new OutputBuffer();
    let calls = 0;
    b.subscribe(() => calls++);
    b.append(out('a\n'));
    b.append(out(null));
    b.reset();
    expect(calls).toBe(2);
    expect(b.view()).toEqual([]);
  });
});
