import { realTimers, type Timers } from './timers.js';

/** A frame rate: frames a second on average, and how many may go at once. */
export interface FrameRate {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * The pace a client keeps for a server that allows `allowed` (the welcome's
 * `limits.frameRate`): the same rate, but half the burst. The server counts
 * frames when they arrive; network jitter can bunch frames sent at an even
 * pace together on arrival, and the headroom absorbs that (with the default
 * 20 a second and 40 at once: a second of bunching).
 */
export function clientPace(allowed: FrameRate): FrameRate {
  return { perSecond: allowed.perSecond, burst: Math.max(1, Math.floor(allowed.burst / 2)) };
}

/**
 * Every frame a connection sends goes through here: a token bucket of the
 * server's rate, with a queue in front of it. A frame goes out at once while
 * the bucket has a token; otherwise it waits, in order, behind the others,
 * and goes when the bucket refills. So the server never has to refuse one
 * (RATE_LIMITED, which drops the frame), however much the client sends at
 * once: a long outbox after a reconnect, a page of receipts.
 */
export class FramePacer<F> {
  readonly #write: (frame: F) => void;
  readonly #timers: Timers;
  readonly #clock: () => number;
  readonly #queue: F[] = [];
  #rate: FrameRate | null = null;
  #tokens = 0;
  #at = 0;
  #timer: unknown = null;

  /** `write` puts one frame on the wire; `clock` is monotonic, in ms. */
  constructor(write: (frame: F) => void, options: { timers?: Timers; clock?: () => number } = {}) {
    this.#write = write;
    this.#timers = options.timers ?? realTimers;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** A new connection at `rate` (null: no limit): the bucket starts full, as the server's does. */
  start(rate: FrameRate | null): void {
    this.#rate = rate;
    this.#tokens = rate?.burst ?? 0;
    this.#at = this.#clock();
    this.#drain();
  }

  /** Sends `frame` now if the rate allows, else queues it behind the others. */
  push(frame: F): void {
    this.#queue.push(frame);
    if (this.#queue.length === 1) this.#drain();
  }

  /** The server said it is refusing frames: its bucket is empty, so this one is too. */
  exhausted(): void {
    this.#refill();
    this.#tokens = 0;
    this.#schedule();
  }

  /** The connection is gone: returns the frames that never went out, and forgets them. */
  stop(): F[] {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    return this.#queue.splice(0);
  }

  /** How many frames wait for the rate. */
  get waiting(): number {
    return this.#queue.length;
  }

  #drain(): void {
    if (this.#timer !== null) return;
    this.#refill();
    while (this.#queue.length > 0 && (this.#rate === null || this.#tokens >= 1)) {
      if (this.#rate !== null) this.#tokens -= 1;
      this.#write(this.#queue.shift()!);
    }
    this.#schedule();
  }

  #refill(): void {
    const now = this.#clock();
    if (this.#rate !== null) this.#tokens = Math.min(this.#rate.burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate.perSecond);
    this.#at = now;
  }

  /** Wakes up when the next token is due, if a frame waits for one. */
  #schedule(): void {
    const rate = this.#rate;
    if (rate === null || this.#queue.length === 0 || this.#timer !== null) return;
    const wait = Math.ceil(((1 - this.#tokens) / rate.perSecond) * 1000);
    this.#timer = this.#timers.setTimeout(
      () => {
        this.#timer = null;
        this.#drain();
      },
      Math.max(1, wait),
    );
  }
}
