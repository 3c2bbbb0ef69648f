import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { signedIn } from '@/api/session';
import { backoffDelay, SocketClient } from '@/api/live/socket';
import { getLiveStatus } from '@/api/live/status';

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close() {
    this.readyState = 3;
  }
  // Test controls:
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  drop() {
    this.readyState = 3;
    this.onclose?.();
  }
  push(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

function client() {
  return new SocketClient({
    url: () => 'ws://test/api/jobs',
    random: () => 1,
    createSocket: (url) => new FakeSocket(url) as unknown as WebSocket,
  });
}

describe('backoffDelay', () => {
  it('starts at 0.5 s, doubles, caps at 30 s, with jitter in the upper half', () => {
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(1, () => 1)).toBe(1000);
    expect(backoffDelay(2, () => 1)).toBe(2000);
    expect(backoffDelay(6, () => 1)).toBe(30_000);
    expect(backoffDelay(20, () => 1)).toBe(30_000);
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(20, () => 0)).toBe(15_000);
  });
});

describe('SocketClient', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
    signedIn('tok-1');
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('multiplexes streams on one socket with the bearer in each frame, never in the URL', () => {
    const c = client();
    const a = vi.fn();
    const b = vi.fn();
    c.subscribe('jobs.listen', {}, { onMessage: a });
    c.subscribe('jobs.follow', { id: '7' }, { onMessage: b });
    expect(FakeSocket.all).toHaveLength(1);
    const ws = FakeSocket.all[0]!;
    expect(ws.url).toBe('ws://test/api/jobs');
    ws.open();
    expect(ws.sent).toEqual([
      { call: 'jobs.listen', streamId: '1', payload: {}, bearer: 'tok-1' },
      { call: 'jobs.follow', streamId: '2', payload: { id: '7' }, bearer: 'tok-1' },
    ]);
    ws.push({ type: 'message', streamId: '2', payload: { hello: 1 } });
    expect(b).toHaveBeenCalledWith({ hello: 1 });
    expect(a).not.toHaveBeenCalled();
    c.closeAll();
  });

  it('reconnects with backoff, resubscribes every stream and asks for a refetch', () => {
    const c = client();
    const opened = vi.fn();
    c.onOpen(opened);
    c.subscribe('jobs.listen', {}, { onMessage: vi.fn() });
    const first = FakeSocket.all[0]!;
    first.open();
    expect(getLiveStatus()).toBe('open');

    first.drop();
    expect(getLiveStatus()).toBe('reconnecting');
    vi.advanceTimersByTime(499);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const second = FakeSocket.all[1]!;
    second.drop(); // fails again: the next wait doubles
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    const third = FakeSocket.all[2]!;
    third.open();
    expect(third.sent).toEqual([{ call: 'jobs.listen', streamId: '1', payload: {}, bearer: 'tok-1' }]);
    expect(opened.mock.calls).toEqual([[false], [true]]);
    expect(getLiveStatus()).toBe('open');
    c.closeAll();
  });

  it('counts the socket down as soon as the network is lost, without waiting for its close', () => {
    const c = client();
    c.subscribe('jobs.listen', {}, { onMessage: vi.fn() });
    const first = FakeSocket.all[0]!;
    first.open();
    c.networkLost();
    expect(getLiveStatus()).toBe('reconnecting');
    expect(first.readyState).toBe(3);
    vi.advanceTimersByTime(500);
    const second = FakeSocket.all[1]!;
    second.open();
    expect(second.sent).toEqual([{ call: 'jobs.listen', streamId: '1', payload: {}, bearer: 'tok-1' }]);
    expect(getLiveStatus()).toBe('open');
    c.closeAll();
  });

  it('stops delivering after unsubscribe and ends a stream on a response frame', () => {
    const c = client();
    const onMessage = vi.fn();
    const onEnd = vi.fn();
    const stop = c.subscribe('jobs.follow', { id: '1' }, { onMessage, onEnd });
    const other = vi.fn();
    c.subscribe('jobs.follow', { id: '2' }, { onMessage: other, onEnd });
    const ws = FakeSocket.all[0]!;
    ws.open();
    stop();
    ws.push({ type: 'message', streamId: '1', payload: {} });
    expect(onMessage).not.toHaveBeenCalled();
    ws.push({ type: 'response', streamId: '2', status: 404, payload: { why: 'No such job', errorCode: null } });
    expect(onEnd).toHaveBeenCalledWith(404, { why: 'No such job', errorCode: null });
    ws.push({ type: 'message', streamId: '2', payload: {} });
    expect(other).not.toHaveBeenCalled();
    c.closeAll();
  });
});
