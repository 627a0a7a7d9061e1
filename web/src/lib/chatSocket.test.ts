import { describe, expect, it } from 'vitest';
import { backoffDelay, ChatConnection, FatalConnectionError, type ConnectionState, type ServerFrame, type SocketLike, type Timers } from './chatSocket';

class FakeSocket implements SocketLike {
  sent: string[] = [];
  closed = false;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.({} as never);
  }
  frame(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent);
  }
  drop(reason = '') {
    this.onclose?.({ code: 1006, reason } as CloseEvent);
  }
}

class FakeTimers implements Timers {
  pending: { callback: () => void; ms: number; id: number }[] = [];
  private next = 1;
  setTimeout(callback: () => void, ms: number) {
    const id = this.next++;
    this.pending.push({ callback, ms, id });
    return id;
  }
  clearTimeout(handle: unknown) {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }
  fire() {
    const due = this.pending.shift();
    due?.callback();
    return due?.ms;
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function setUp(open: () => Promise<SocketLike>) {
  const states: ConnectionState[] = [];
  const frames: ServerFrame[] = [];
  let reconnects = 0;
  const timers = new FakeTimers();
  const connection = new ChatConnection({
    open,
    onFrame: (f) => frames.push(f),
    onState: (s) => states.push(s),
    onReconnected: () => reconnects++,
    timers,
    random: () => 1,
  });
  return { connection, states, frames, timers, reconnects: () => reconnects };
}

describe('backoffDelay', () => {
  it('doubles from half a second and stops at thirty seconds', () => {
    expect([1, 2, 3, 4, 7, 20].map((a) => backoffDelay(a, () => 1))).toEqual([500, 1000, 2000, 4000, 30000, 30000]);
  });

  it('jitters within the upper half of the ceiling', () => {
    expect(backoffDelay(3, () => 0)).toBe(1000);
  });
});

describe('ChatConnection', () => {
  it('passes frames through once open and sends only while open', async () => {
    const socket = new FakeSocket();
    const { connection, frames, states } = setUp(async () => socket);
    connection.start();
    await flush();
    expect(connection.send({ type: 'cancel' })).toBe(false);

    socket.open();
    socket.frame({ type: 'session_status', status: 'ready' });
    socket.onmessage?.({ data: 'not json' } as MessageEvent);

    expect(frames).toEqual([{ type: 'session_status', status: 'ready' }]);
    expect(connection.send({ type: 'cancel' })).toBe(true);
    expect(socket.sent).toEqual(['{"type":"cancel"}']);
    expect(states.at(-1)).toEqual({ kind: 'open' });
  });

  it('reconnects with growing delays after drops, with a new socket each time, and reports the reconnect', async () => {
    const sockets: FakeSocket[] = [];
    const { connection, states, timers, reconnects } = setUp(async () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    });
    connection.start();
    await flush();
    sockets[0]!.open();

    sockets[0]!.drop('server went away');
    expect(states.at(-1)).toEqual({ kind: 'waiting', attempt: 1, retryInMs: 500, reason: 'server went away' });
    expect(connection.send({ type: 'cancel' })).toBe(false);

    timers.fire();
    await flush();
    sockets[1]!.drop();
    expect(states.at(-1)).toMatchObject({ kind: 'waiting', attempt: 2, retryInMs: 1000 });

    timers.fire();
    await flush();
    sockets[2]!.open();

    expect(sockets).toHaveLength(3);
    expect(reconnects()).toBe(1);
    expect(states.at(-1)).toEqual({ kind: 'open' });

    // After a successful open the backoff starts over.
    sockets[2]!.drop();
    expect(states.at(-1)).toMatchObject({ kind: 'waiting', attempt: 1, retryInMs: 500 });
  });

  it('retries when taking a ticket fails, and stops for good on a fatal refusal', async () => {
    let calls = 0;
    const { connection, states, timers } = setUp(async () => {
      calls++;
      if (calls === 1) throw new Error('503');
      throw new FatalConnectionError('This project does not exist or is not yours.');
    });
    connection.start();
    await flush();
    expect(states.at(-1)).toMatchObject({ kind: 'waiting', reason: '503' });

    timers.fire();
    await flush();

    expect(states.at(-1)).toEqual({ kind: 'closed', reason: 'This project does not exist or is not yours.' });
    expect(timers.pending).toHaveLength(0);
  });

  it('stops without reconnecting when the studio closes it', async () => {
    const socket = new FakeSocket();
    const { connection, timers } = setUp(async () => socket);
    connection.start();
    await flush();
    socket.open();

    connection.stop();
    socket.drop();

    expect(socket.closed).toBe(true);
    expect(timers.pending).toHaveLength(0);
  });

  it('one drop reported by both error and close schedules one retry', async () => {
    const socket = new FakeSocket();
    const { connection, timers } = setUp(async () => socket);
    connection.start();
    await flush();
    socket.open();

    socket.onerror?.({} as never);
    socket.drop();

    expect(timers.pending).toHaveLength(1);
  });
});
