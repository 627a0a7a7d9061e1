/** The part of a WebSocket the connection uses, so tests can stand one in. */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: never) => void) | null;
}

export type ConnectionState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'open' }
  | { kind: 'waiting'; attempt: number; retryInMs: number; reason: string }
  | { kind: 'closed'; reason: string };

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ChatConnectionOptions {
  /** Opens a new socket: takes a fresh single-use ticket, then connects. Throwing {fatal: true} stops for good. */
  open(): Promise<SocketLike>;
  onFrame(frame: ServerFrame): void;
  onState(state: ConnectionState): void;
  /** Called on every open after the first: the caller refetches what it may have missed. */
  onReconnected?(): void;
  timers?: Timers;
  random?: () => number;
}

export interface ServerFrame {
  type: string;
  [key: string]: unknown;
}

export class FatalConnectionError extends Error {}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/** Exponential backoff with full jitter, capped: attempt 1 waits up to 0.5 s, attempt 7 and later up to 30 s. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The chat socket that comes back: when it drops, it waits with backoff and reconnects with a new ticket; after a
 * reconnect the caller refetches the history, and frames are merged by message id, so nothing is lost or doubled.
 */
export class ChatConnection {
  private socket: SocketLike | null = null;
  /** Failed tries since the last open socket. */
  private failures = 0;
  private opened = false;
  private stopped = false;
  private timer: unknown;
  private readonly timers: Timers;
  private readonly random: () => number;

  constructor(private readonly options: ChatConnectionOptions) {
    this.timers = options.timers ?? { setTimeout: (c, ms) => setTimeout(c, ms), clearTimeout: (h) => clearTimeout(h as number) };
    this.random = options.random ?? Math.random;
  }

  start(): void {
    void this.connect();
  }

  /** Sends a frame when the socket is open; false when it is not (the caller tells the person). */
  send(frame: object): boolean {
    if (!this.socket || this.stopped) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  get isOpen(): boolean {
    return this.socket !== null;
  }

  stop(): void {
    this.stopped = true;
    this.timers.clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'closed by the studio');
  }

  /** Reconnects at once, e.g. after the person pressed "Retry now". */
  retryNow(): void {
    if (this.stopped || this.socket) return;
    this.timers.clearTimeout(this.timer);
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.options.onState({ kind: 'connecting', attempt: this.failures + 1 });
    let socket: SocketLike;
    try {
      socket = await this.options.open();
    } catch (error) {
      if (error instanceof FatalConnectionError) {
        this.stopped = true;
        this.options.onState({ kind: 'closed', reason: error.message });
        return;
      }
      this.scheduleRetry(error instanceof Error ? error.message : 'could not connect');
      return;
    }
    if (this.stopped) {
      socket.close(1000, 'closed by the studio');
      return;
    }
    let settled = false;
    socket.onopen = () => {
      this.socket = socket;
      this.failures = 0;
      this.options.onState({ kind: 'open' });
      if (this.opened) this.options.onReconnected?.();
      this.opened = true;
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(event.data) as ServerFrame;
      } catch {
        return;
      }
      if (frame && typeof frame.type === 'string') this.options.onFrame(frame);
    };
    const dropped = (reason: string) => {
      if (settled) return;
      settled = true;
      if (this.socket === socket) this.socket = null;
      if (!this.stopped) this.scheduleRetry(reason);
    };
    socket.onclose = (event) => dropped(event.reason || `connection closed (${event.code})`);
    socket.onerror = () => dropped('connection failed');
  }

  private scheduleRetry(reason: string): void {
    if (this.stopped) return;
    this.failures += 1;
    const retryInMs = backoffDelay(this.failures, this.random);
    this.options.onState({ kind: 'waiting', attempt: this.failures, retryInMs, reason });
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => void this.connect(), retryInMs);
  }
}
