import { ERRORS, type ErrorCode } from '@chorus/protocol';
import type { Codec } from './codec.js';
import type { OutEvent } from './events.js';
import type { FrameCache } from './frame-cache.js';
import type { Session } from './session.js';
import { TokenBucket } from './token-bucket.js';

/** How many frames a second a connection may send, and the burst above that. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
  readonly clock?: () => number;
  /** Called for every frame over the rate (for the metrics). */
  readonly onLimited?: () => void;
}

/** Which stored message a fanout frame carries. */
export interface MessageKey {
  readonly conversation: string;
  readonly seq: number;
}

/** Where a connection is in its life. */
export type ConnectionState = 'admitting' | 'open' | 'closed';

/** How a connection hands its inbound frames to the hub, one at a time. */
export interface FrameHandler {
  /** Handles one frame; a returned promise holds back the connection's next frame until it settles. */
  handleFrame(connection: Connection, frame: string): Promise<void> | void;
  handleClosed(connection: Connection): void;
}

/**
 * One client's connection inside the hub. The transport feeds it frames in
 * arrival order; it processes them strictly one after another (a frame whose
 * routing is asynchronous holds back the next), so replies and deliveries keep
 * the order of the frames that caused them.
 */
export class Connection {
  state: ConnectionState = 'admitting';
  /** Unique in the service while it lives: deliveries name it as their origin. */
  readonly id: string;
  readonly session: Session;
  readonly codec: Codec;
  /** When this client last said it is typing, per conversation (the hub throttles on it); made on first use. */
  #typingSentAt: Map<string, number> | null = null;
  readonly #handler: FrameHandler;
  /** Frames that arrived while admitting or while a frame is in flight (made on first use). */
  #queue: string[] | null = null;
  #busy = false;
  /** Fanout held back while a resume replays what the client missed (null: not holding). */
  #held: { readonly frames: FrameCache; readonly key: MessageKey | undefined }[] | null = null;
  #holdTimer: NodeJS.Timeout | null = null;
  /** The last seq a resume replayed per conversation: live copies at or below it are not sent again. */
  #replayed: ReadonlyMap<string, number> | null = null;

  /** Inbound rate: frames beyond it are answered RATE_LIMITED, and a client that keeps on is closed. */
  readonly #bucket: TokenBucket | null;
  readonly #clock: () => number;
  readonly #onLimited: (() => void) | undefined;
  /** Frames refused since the warning; past the burst again, the connection is closed. */
  #refused = 0;

  constructor(id: string, session: Session, codec: Codec, handler: FrameHandler, rate?: RateLimit) {
    this.id = id;
    this.session = session;
    this.codec = codec;
    this.#handler = handler;
    this.#clock = rate?.clock ?? Date.now;
    this.#bucket = rate ? new TokenBucket(rate.perSecond, rate.burst, this.#clock()) : null;
    this.#burst = rate?.burst ?? 0;
    this.#onLimited = rate?.onLimited;
  }

  readonly #burst: number;

  get typingSentAt(): Map<string, number> {
    return (this.#typingSentAt ??= new Map());
  }

  /** True once the connection has ended (read after an await, where the state may have moved on). */
  get isClosed(): boolean {
    return this.state === 'closed';
  }

  get clientId(): string {
    return this.session.clientId;
  }

  /** The transport received a text frame. */
  receive(frame: string): void {
    if (this.state === 'closed' || !this.#withinRate()) return;
    if (this.state === 'admitting' || this.#busy) (this.#queue ??= []).push(frame);
    else this.#process(frame);
  }

  /** The transport received a binary frame, which neither protocol uses. */
  receiveBinary(): void {
    if (this.state !== 'closed' && this.#withinRate()) this.emit({ kind: 'error', code: 'BINARY_UNSUPPORTED' });
  }

  /** Counts a frame against the rate; false (and a warning, then a close) when over it. */
  #withinRate(): boolean {
    if (!this.#bucket || this.#bucket.take(this.#clock())) {
      this.#refused = 0;
      return true;
    }
    this.#onLimited?.();
    if (this.#refused === 0) this.emit({ kind: 'error', code: 'RATE_LIMITED' });
    if (++this.#refused > this.#burst) {
      this.refuse('FLOODING');
      this.closed();
    }
    return false;
  }

  /** The transport's connection ended (either side closed it, or it broke). */
  closed(): void {
    if (this.state === 'closed') return;
    this.#queue = null;
    this.#held = null;
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.#handler.handleClosed(this);
    this.state = 'closed';
  }

  /** Admission succeeded: start processing the frames that arrived meanwhile. */
  opened(): void {
    this.state = 'open';
    this.#drain();
  }

  /** Sends one event rendered in this connection's protocol (if the protocol shows it). */
  emit(event: OutEvent): void {
    const frame = this.codec.encode(event);
    if (frame !== null) this.session.send(frame);
  }

  /** Sends a pre-rendered fanout frame (held back while a resume replays; `key` says which message it is). */
  emitCached(frames: FrameCache, key?: MessageKey): void {
    if (this.#held) {
      this.#held.push({ frames, key });
      return;
    }
    // A live copy that arrives after the release (a slower route: Redis) of a message the replay carried.
    if (key && this.#replayed && key.seq <= (this.#replayed.get(key.conversation) ?? 0)) return;
    const frame = frames.frameFor(this.codec);
    if (frame !== null) this.session.send(frame);
  }

  /** Holds fanout back until `release` (or `timeoutMs`, if the client never asks to resume). */
  hold(timeoutMs: number): void {
    this.#held ??= [];
    this.#holdTimer = setTimeout(() => this.release(new Map()), timeoutMs);
    this.#holdTimer.unref();
  }

  get holding(): boolean {
    return this.#held !== null;
  }

  /**
   * Sends what was held, in order, except messages the replay already carried
   * (seq at or below the replayed last seq of their conversation). Returns
   * which stored messages it sent.
   */
  release(replayed: ReadonlyMap<string, number>): MessageKey[] {
    const held = this.#held;
    const sent: MessageKey[] = [];
    if (!held) return sent;
    this.#held = null;
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.#holdTimer = null;
    if (replayed.size > 0) this.#replayed = replayed;
    if (this.state === 'closed') return sent;
    for (const { frames, key } of held) {
      if (key && key.seq <= (replayed.get(key.conversation) ?? 0)) continue;
      this.emitCached(frames);
      if (key) sent.push(key);
    }
    return sent;
  }

  /** Tells the client why and closes with the error's close code. */
  refuse(code: ErrorCode, detail?: string): void {
    this.emit({ kind: 'error', code, detail });
    const spec = ERRORS[code];
    this.session.close('close' in spec ? spec.close : 1011, spec.message);
  }

  #process(frame: string): void {
    const pending = this.#handler.handleFrame(this, frame);
    if (pending === undefined) return;
    this.#busy = true;
    pending.then(
      () => this.#resume(),
      () => this.#resume(),
    );
  }

  #resume(): void {
    this.#busy = false;
    this.#drain();
  }

  #drain(): void {
    while (this.#queue && this.#queue.length > 0 && !this.#busy && this.state === 'open') this.#process(this.#queue.shift()!);
  }
}
