/** Settings of an exponential backoff. */
export interface BackoffOptions {
  /** The delay ceiling of the first retry, in ms. */
  readonly baseMs: number;
  /** No delay is ever longer than this, in ms. */
  readonly capMs: number;
  /** Returns a number in [0, 1); injectable for tests. */
  readonly random?: () => number;
}

/**
 * Exponential backoff with full jitter: the n-th retry waits a uniformly random
 * time in [0, min(cap, base * 2^n)), so that many clients dropped at once do
 * not come back in lockstep.
 */
export class Backoff {
  #attempt = 0;
  readonly #options: BackoffOptions;

  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  /** How many delays were handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next retry, in ms; each call backs off further. */
  next(): number {
    const { baseMs, capMs, random = Math.random } = this.#options;
    const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return Math.floor(random() * ceiling);
  }

  /** Starts over (after a connection that the server welcomed). */
  reset(): void {
    this.#attempt = 0;
  }
}
