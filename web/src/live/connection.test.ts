import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Job } from '../api/types';
import { connect, SESSION_ENDED, type LiveState } from './connection';

/** A WebSocket the test drives by hand. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  closedWith?: number;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  send(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
  close(code: number) {
    this.closedWith = code;
    this.readyState = 3;
  }
}

const job = (id: string, version: number): Job =>
  ({ id, version, status: 'running', progress: version, created_at: '2026-12-02T10:00:00Z', stalled: false }) as Job;

function start() {
  const events = { snapshots: [] as Job[][], jobs: [] as Job[], polled: [] as Job[][], states: [] as LiveState[], ended: 0 };
  const poll = vi.fn(async () => [job('polled', 1)]);
  const connection = connect({
    url: 'ws://test/api/v2/jobs/ws',
    poll,
    onSnapshot: (jobs) => events.snapshots.push(jobs),
    onJob: (j) => events.jobs.push(j),
    onPolled: (jobs) => events.polled.push(jobs),
    onState: (s) => events.states.push(s),
    onSessionEnded: () => (events.ended += 1),
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    random: () => 1,
  });
  return { events, poll, connection };
}

const last = () => FakeSocket.all[FakeSocket.all.length - 1]!;

describe('the live connection', () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('speaks jobwatch.v1 and is live once the snapshot arrives', () => {
    const { events } = start();
    expect(last().protocols).toEqual(['jobwatch.v1']);
    last().open();
    expect(events.states).toEqual(['connecting']);
    last().send({ type: 'snapshot', reason: 'connected', jobs: [job('a', 1)] });
    last().send({ type: 'job', job: job('a', 2) });
    expect(events.states).toEqual(['connecting', 'live']);
    expect(events.snapshots).toEqual([[job('a', 1)]]);
    expect(events.jobs).toEqual([job('a', 2)]);
  });

  it('polls every 10 s while the socket is down, and stops once it is back', async () => {
    const { events, poll } = start();
    last().open();
    last().send({ type: 'snapshot', reason: 'connected', jobs: [] });
    last().drop();
    expect(events.states.at(-1)).toBe('reconnecting');
    expect(poll).toHaveBeenCalledTimes(1); // at once, not 10 s later
    await vi.advanceTimersByTimeAsync(0);
    expect(events.polled).toEqual([[job('polled', 1)]]);

    // Reconnect attempts keep failing: the polls go on every 10 s.
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(5_000);
      if (last().readyState === 0) last().drop();
    }
    expect(poll).toHaveBeenCalledTimes(4);

    await vi.advanceTimersByTimeAsync(30_000);
    last().open();
    last().send({ type: 'snapshot', reason: 'connected', jobs: [job('b', 3)] });
    expect(events.states.at(-1)).toBe('live');
    const polls = poll.mock.calls.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(poll).toHaveBeenCalledTimes(polls);
  });

  it('backs off exponentially with jitter, up to a cap', async () => {
    start();
    const opened: number[] = [];
    let t = 0;
    last().drop();
    for (let i = 0; i < 8; i++) {
      const before = FakeSocket.all.length;
      while (FakeSocket.all.length === before) {
        await vi.advanceTimersByTimeAsync(100);
        t += 100;
      }
      opened.push(t);
      t = 0;
      last().drop();
    }
    // random() = 1: the whole window each time, 0.5 s doubling to the 30 s cap.
    expect(opened).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it('does not reconnect when the session has ended', async () => {
    const { events, poll } = start();
    last().open();
    last().drop(SESSION_ENDED);
    expect(events.ended).toBe(1);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(poll).not.toHaveBeenCalled();
  });

  it('stops all work when stopped (logout), even mid-reconnect', async () => {
    const { connection, poll } = start();
    last().open();
    last().drop();
    connection.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(poll).toHaveBeenCalledTimes(1);
  });

  it('drops a poll answer that arrives after the snapshot (it is older)', async () => {
    let answer: (jobs: Job[]) => void = () => {};
    const polled: Job[][] = [];
    connect({
      url: 'ws://test',
      poll: () => new Promise((resolve) => (answer = resolve)),
      onSnapshot: () => {},
      onJob: () => {},
      onPolled: (jobs) => polled.push(jobs),
      onState: () => {},
      onSessionEnded: () => {},
      WebSocket: FakeSocket as unknown as typeof WebSocket,
      random: () => 0,
    });
    last().drop(); // polls at once; its answer is still on the way
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().send({ type: 'snapshot', reason: 'connected', jobs: [job('new', 1)] });
    answer([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(polled).toEqual([]);
  });

  it('goes back to the login when a poll finds the session over (the upgrade’s 401 reads as a plain close)', async () => {
    const ended = vi.fn();
    connect({
      url: 'ws://test',
      poll: () => Promise.reject(Object.assign(new Error('unauthorized'), { status: 401 })),
      onSnapshot: () => {},
      onJob: () => {},
      onPolled: () => {},
      onState: () => {},
      onSessionEnded: ended,
      WebSocket: FakeSocket as unknown as typeof WebSocket,
      random: () => 1,
    });
    last().drop();
    await vi.advanceTimersByTimeAsync(0);
    expect(ended).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('polls meanwhile when the socket hangs without opening', async () => {
    const { poll, events } = start();
    await vi.advanceTimersByTimeAsync(4_900);
    expect(poll).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(200);
    expect(poll).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(events.polled).toHaveLength(1);
    last().open();
    last().send({ type: 'snapshot', reason: 'connected', jobs: [] });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(poll).toHaveBeenCalledTimes(1);
  });

  it('closes a socket still connecting only once it opens (no console error)', () => {
    const { connection } = start();
    connection.stop();
    expect(last().closedWith).toBeUndefined();
    last().open();
    expect(last().closedWith).toBe(1000);
  });
});
