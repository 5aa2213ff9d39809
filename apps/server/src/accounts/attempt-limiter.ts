/**
 * Counts attempts per key (an account, an address) in fixed windows: the
 * window opens at a key's first attempt and lasts `windowMs`; once `max`
 * attempts are counted in it, the key is blocked until it closes. Kept in
 * this process's memory (each cluster worker has its own), at most `maxKeys`
 * keys: when full, the key whose window opened first is forgotten.
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
    if (this.#windows.size >= this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
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

  #current(key: string): { count: number; closesAt: number } | undefined {
    const window = this.#windows.get(key);
    if (window && window.closesAt <= this.#clock()) {
      this.#windows.delete(key);
      return undefined;
    }
    return window;
  }
}
