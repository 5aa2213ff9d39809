import { ERRORS, SUBPROTOCOL, ServerFrame, shouldReconnect, type ClientFrame, type ErrorFrame } from '@chorus/protocol';
import { Backoff } from '../backoff.js';
import { clientPace, FramePacer } from './frame-pacer.js';
import { explainClose } from './plain-words.js';
import type { Timers } from './timers.js';

/** Where the connection stands; `reason` says why, in plain words. */
export type ConnectionStatus =
  | { readonly kind: 'idle' }
  /** `reason` is why the previous attempt failed, while retrying; null on the first. */
  | { readonly kind: 'connecting'; readonly reason: string | null }
  | { readonly kind: 'online' }
  | { readonly kind: 'reconnecting'; readonly retryAt: number; readonly reason: string }
  | { readonly kind: 'offline'; readonly reason: string; readonly code: number | null };

/** How a connection ended for good: the close code and reason, and the error frame that announced it. */
export interface ConnectionEnd {
  readonly code: number;
  readonly reason: string;
  readonly error: ErrorFrame | null;
}

/**
 * A browser cannot set headers on a WebSocket: the token travels as a second
 * subprotocol, `auth.<token>`, which the server never selects (docs/protocol.md,
 * "Tokens on the WebSocket"). Never in the URL, which ends up in logs.
 */
export const AUTH_PROTOCOL_PREFIX = 'auth.';

/** What a {@link Connection} needs from its owner. */
export interface ConnectionOptions {
  readonly clientId: string;
  /** The socket URL, resolved anew for every attempt (it comes from /env). */
  resolveUrl(): Promise<string>;
  /** Every valid frame from the server, in order. */
  onFrame(frame: ServerFrame): void;
  /** A welcomed connection was lost (whatever happens next). */
  onLost(reason: string): void;
  /** The server closed with a code that does not reconnect (e.g. 4401: no valid token). */
  onEnded?(end: ConnectionEnd): void;
  /** Frames accepted by {@link Connection.send} that were still waiting for the rate when the connection went. */
  onUnsent?(frames: ClientFrame[]): void;
  /** The account's token, offered as the subprotocol `auth.<token>`; null or absent for a guest. */
  readonly token?: string | null;
  readonly backoff?: Backoff;
  /** How often to ping; a ping left unanswered for this long drops the socket. */
  readonly heartbeatMs?: number;
  /** The pacer's timers and monotonic clock (tests drive them). */
  readonly pacing?: { readonly timers: Timers; readonly clock: () => number };
}

/**
 * One client's WebSocket to the chat server: opens it with the `chorus.v1`
 * subprotocol, parses every inbound frame, and reconnects with exponential
 * backoff and full jitter when {@link shouldReconnect} allows. The backoff
 * starts over after each welcome. Every frame it sends is paced to the rate
 * the welcome names ({@link FramePacer}), so the server never refuses one.
 */
export class Connection {
  status = $state<ConnectionStatus>({ kind: 'idle' });
  /** The local clock, ticking while a retry is scheduled (drives the countdown). */
  now = $state(Date.now());
  /**
   * Since when (local clock, ms) this tab has had no welcomed connection: since
   * it started trying, or since the connection was lost; null while online.
   */
  disconnectedAt = $state<number | null>(null);
  /** Whole seconds until the next attempt, while reconnecting. */
  readonly retryInSeconds = $derived(
    this.status.kind === 'reconnecting' ? Math.max(0, Math.ceil((this.status.retryAt - this.now) / 1000)) : 0,
  );

  readonly #options: ConnectionOptions;
  readonly #backoff: Backoff;
  #socket: WebSocket | null = null;
  readonly #pacer: FramePacer<ClientFrame>;
  /** Bumped by every attempt and by close(); stale callbacks compare it. */
  #generation = 0;
  #opened = false;
  #announced: ErrorFrame | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #lastFrameAt = 0;
  #lastPingAt = 0;
  #pings = 0;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#backoff = options.backoff ?? new Backoff({ baseMs: 500, capMs: 15_000 });
    this.#pacer = new FramePacer((frame) => {
      // A ping's sentAt is when it leaves, not when it was queued: the round trip must not include the wait for the rate.
      const out = frame.type === 'ping' ? { ...frame, sentAt: Date.now() } : frame;
      this.#socket?.send(JSON.stringify(out));
    }, options.pacing);
  }

  /** Connects, unless already connecting or online. */
  open(): void {
    if (this.status.kind === 'connecting' || this.status.kind === 'online') return;
    this.disconnectedAt ??= Date.now();
    this.#clearRetry();
    void this.#attempt();
  }

  /** Skips the wait of a scheduled retry, or tries again after a terminal close. */
  retryNow(): void {
    if (this.status.kind !== 'reconnecting' && this.status.kind !== 'offline') return;
    this.#backoff.reset();
    this.open();
  }

  /** Drops the current socket and connects again (with backoff): the server asked for a fresh start. */
  restart(reason: string): void {
    if (this.status.kind !== 'online') return;
    this.#drop(reason, true);
  }

  /**
   * Sends a frame, at once or, past the server's rate, after the frames before
   * it (in order); false when not online (the frame was not taken).
   */
  send(frame: ClientFrame): boolean {
    const socket = this.#socket;
    if (this.status.kind !== 'online' || socket === null || socket.readyState !== WebSocket.OPEN) return false;
    this.#pacer.push(frame);
    return true;
  }

  /** How many frames wait for the rate. */
  get pacing(): number {
    return this.#pacer.waiting;
  }

  /** Closes for good (the user left); nothing reconnects. */
  close(): void {
    this.#generation += 1;
    this.#clearRetry();
    this.#stopHeartbeat();
    const socket = this.#socket;
    this.#socket = null;
    this.#unsent();
    socket?.close(1000, 'bye');
    this.status = { kind: 'idle' };
    this.disconnectedAt = null;
  }

  async #attempt(): Promise<void> {
    const generation = ++this.#generation;
    const previous = this.status;
    this.status = { kind: 'connecting', reason: 'reason' in previous ? previous.reason : null };
    this.#opened = false;
    this.#announced = null;
    let url: string;
    try {
      url = await this.#options.resolveUrl();
    } catch (err) {
      if (generation !== this.#generation) return;
      this.#retryLater(`Cannot load the server address (${err instanceof Error ? err.message : String(err)}).`);
      return;
    }
    if (generation !== this.#generation) return;
    let socket: WebSocket;
    try {
      const token = this.#options.token;
      socket = new WebSocket(url, token ? [SUBPROTOCOL, `${AUTH_PROTOCOL_PREFIX}${token}`] : SUBPROTOCOL);
    } catch {
      this.status = { kind: 'offline', reason: `The server address “${url}” is not a valid WebSocket URL.`, code: null };
      return;
    }
    this.#socket = socket;
    socket.addEventListener('open', () => {
      if (generation !== this.#generation) return;
      this.#opened = true;
      if (socket.protocol !== SUBPROTOCOL) this.#drop(`The server does not speak ${SUBPROTOCOL}.`, false);
    });
    socket.addEventListener('message', (event: MessageEvent) => {
      if (generation === this.#generation) this.#receive(event.data);
    });
    socket.addEventListener('close', (event: CloseEvent) => {
      if (generation === this.#generation) this.#closed(event.code, event.reason);
    });
  }

  #receive(data: unknown): void {
    this.#lastFrameAt = Date.now();
    if (typeof data !== 'string') {
      console.warn('chorus: ignoring a binary frame');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      console.warn('chorus: ignoring a frame that is not JSON', data.slice(0, 200));
      return;
    }
    const parsed = ServerFrame.safeParse(json);
    if (!parsed.success) {
      console.warn('chorus: ignoring a frame that does not match the protocol', parsed.error.issues, json);
      return;
    }
    const frame = parsed.data;
    if (frame.type === 'welcome') {
      this.#backoff.reset();
      // Before the frame is handled: what its handler sends (resume, outbox) is paced already.
      const rate = frame.limits.frameRate;
      this.#pacer.start(rate ? clientPace(rate) : null);
      this.status = { kind: 'online' };
      this.disconnectedAt = null;
      this.#startHeartbeat();
    } else if (frame.type === 'error' && 'close' in ERRORS[frame.code]) {
      // Sent just before the close it explains.
      this.#announced = frame;
    } else if (frame.type === 'error' && frame.code === 'RATE_LIMITED') {
      // Paced, this should not happen (another server's limits, a clock that jumped): wait for a full refill.
      this.#pacer.exhausted();
    }
    this.#options.onFrame(frame);
  }

  #closed(code: number, reason: string): void {
    this.#socket = null;
    this.#stopHeartbeat();
    this.#unsent();
    const wasOnline = this.status.kind === 'online';
    if (wasOnline) this.disconnectedAt = Date.now();
    const explained = explainClose({
      code,
      reason,
      error: this.#announced,
      clientId: this.#options.clientId,
      opened: this.#opened,
    });
    if (wasOnline) this.#options.onLost(explained);
    if (shouldReconnect(code)) return this.#retryLater(explained);
    this.status = { kind: 'offline', reason: explained, code };
    this.#options.onEnded?.({ code, reason, error: this.#announced });
  }

  /** Gives up on the current socket without waiting for its close handshake. */
  #drop(reason: string, retry: boolean): void {
    const socket = this.#socket;
    this.#generation += 1;
    this.#socket = null;
    this.#stopHeartbeat();
    this.#unsent();
    socket?.close();
    if (this.status.kind === 'online') {
      this.disconnectedAt = Date.now();
      this.#options.onLost(reason);
    }
    if (retry) this.#retryLater(reason);
    else this.status = { kind: 'offline', reason, code: null };
  }

  /** Hands back what the pacer still held: the socket it was meant for is gone. */
  #unsent(): void {
    const frames = this.#pacer.stop();
    if (frames.length > 0) this.#options.onUnsent?.(frames);
  }

  #retryLater(reason: string): void {
    const delay = this.#backoff.next();
    this.now = Date.now();
    this.status = { kind: 'reconnecting', retryAt: this.now + delay, reason };
    this.#clearRetry();
    this.#retryTimer = setTimeout(() => {
      this.#clearRetry();
      void this.#attempt();
    }, delay);
    this.#ticker = setInterval(() => (this.now = Date.now()), 250);
  }

  #clearRetry(): void {
    clearTimeout(this.#retryTimer);
    clearInterval(this.#ticker);
    this.#retryTimer = undefined;
    this.#ticker = undefined;
  }

  #startHeartbeat(): void {
    const every = this.#options.heartbeatMs ?? 25_000;
    this.#stopHeartbeat();
    this.#lastPingAt = 0;
    this.#heartbeat = setInterval(() => {
      // Anything received since the last ping proves the socket alive.
      if (this.#lastPingAt !== 0 && this.#lastFrameAt < this.#lastPingAt) {
        this.#drop('The server stopped answering.', true);
        return;
      }
      this.#lastPingAt = Date.now();
      this.send({ type: 'ping', id: `hb-${++this.#pings}`, sentAt: this.#lastPingAt });
    }, every);
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }
}
