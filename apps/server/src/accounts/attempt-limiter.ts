/**
 * Counts attempts per key (an account, an address) in fixed windows: the
 * window opens at a key's first attempt and lasts `windowMs`; once `max`
 * attempts are counted in it, the key is blocked until it closes. Kept in
 * this process's memory (each cluster worker has its own), at most `maxKeys`
 * keys: when full, the expired windows and then the oldest ones are forgotten,
 * an eighth of `maxKeys` at a time.
 */
export class AttemptLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #clock: () => number;
  // Insertion order is the order windows opened (an expired key is deleted
  // before it is counted again), so the first entry is the oldest.
  readonly #windows = new Map<string, { count: number; closesAt: number }>();

  constructor(options: { max: number; windowMs: number; clock?: () => number; maxKeys?: number }) {
    this.#max = options.max;
    this.#windowMs = options.windowMs;
    this.#clock = options.clock ?? Date.now;
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  /** Milliseconds until `key` may try again: 0 when it may now. */
  blockedFor(key: string): number {
    const window = this.#current(key);
    if (!window || window.count < this.#max) return 0;
    return window.closesAt - this.#clock();
  }

  /** Counts one attempt of `key`. */
  hit(key: string): void {
    const window = this.#current(key);
    if (window) {
      window.count++;
      return;
    }
    if (this.#windows.size >= this.#maxKeys) this.#makeRoom();
    this.#windows.set(key, { count: 1, closesAt: this.#clock() + this.#windowMs });
  }

  /** Takes back one attempt of `key` (one that turned out not to count). */
  undo(key: string): void {
    const window = this.#current(key);
    if (window && window.count > 0) window.count--;
  }

  /** Forgets `key`'s attempts (e.g. after a successful sign-in). */
  reset(key: string): void {
    this.#windows.delete(key);
  }

  /** Keys currently remembered (for tests and metrics). */
  get size(): number {
    return this.#windows.size;
  }

  /**
   * Forgets every expired window and, if that is not enough, the oldest, down
   * to seven eighths of `maxKeys`: one walk from the front per eighth of
   * insertions. Deleting one key per insertion instead started a new
   * `keys()` iterator each time, and V8's iterator first steps over every hole
   * left by earlier deletions: tens of microseconds per attempt once full.
   */
  #makeRoom(): void {
    const keep = this.#maxKeys - Math.max(1, Math.floor(this.#maxKeys / 8));
    const now = this.#clock();
    // Every window lasts windowMs and the map is in opening order, so the expired ones come first.
    for (const [key, window] of this.#windows) {
      if (window.closesAt > now && this.#windows.size <= keep) break;
      this.#windows.delete(key);
    }
  }

  #current(key: string): { count: number; closesAt: number } | undefined {
    const window = this.#windows.get(key);
    if (window && window.closesAt <= this.#clock()) {
      this.#windows.delete(key);
      return undefined;
    }
    return window;
  }
}
