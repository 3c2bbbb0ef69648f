import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { MessageLog } from '@/features/tasks/message-log';

const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `line ${from + i}`);
const lineNodes = () => Array.from(screen.getByRole('log').querySelectorAll('.message-log__line'));
const rendered = () => lineNodes().map((c) => c.textContent);

describe('MessageLog', () => {
  it('renders the newest lines, in a window that only moves every half limit', () => {
    const { rerender } = render(<MessageLog messages={lines(120)} dropped={0} label="Messages" limit={50} />);
    let shown = rendered();
    expect(shown.at(-1)).toBe('line 119');
    expect(shown.length).toBeGreaterThanOrEqual(50);
    expect(shown.length).toBeLessThan(75);
    const first = shown[0];

    // One more line: appended, the window's first line stays.
    rerender(<MessageLog messages={lines(121)} dropped={0} label="Messages" limit={50} />);
    shown = rendered();
    expect(shown[0]).toBe(first);
    expect(shown.at(-1)).toBe('line 120');
  });

  it('shows every line without a limit, as text', () => {
    render(<MessageLog messages={['<img src=x onerror=alert(1)>', ...lines(3)]} dropped={7} label="Messages" />);
    expect(rendered()).toEqual(['<img src=x onerror=alert(1)>', 'line 0', 'line 1', 'line 2']);
    expect(screen.getByRole('log').querySelector('img')).toBeNull();
  });

  it('re-renders only the lines that changed: an appended line, or a line replaced under the same key', () => {
    const log = (messages: string[], dropped = 0) => <MessageLog messages={messages} dropped={dropped} label="Messages" />;
    const { rerender } = render(log(lines(35)));
    const first = lineNodes()[0];
    rerender(log(lines(36)));
    expect(rendered()).toEqual(lines(36));
    // The DOM node of the first line was kept: its chunk did not render again.
    expect(lineNodes()[0]).toBe(first);

    // A detail view that reads the task again starts its keys at 0: a changed line under the same key shows.
    rerender(log(['changed', ...lines(35, 1)]));
    expect(rendered()).toEqual(['changed', ...lines(35, 1)]);
  });
});
