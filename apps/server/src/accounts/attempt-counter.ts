import { AttemptLimiter } from './attempt-limiter.js';

/**
 * Attempts per key (an account, an address) in fixed windows, shared by
 * whoever must count together: one process (memory), or every node and
 * worker of a service (Redis).
 *
 * Contract: `take` counts one attempt unless the key is blocked, atomically
 * (two callers racing for the last attempt cannot both get it), and resolves
 * 0 when it counted, or the milliseconds until the key may try again. `undo`
 * takes one counted attempt back; `reset` forgets the key. A window opens at
 * a key's first attempt and closes `windowMs` later.
 */
export interface AttemptCounter {
  take(key: string): Promise<number>;
  undo(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

/** In this process's memory: each cluster worker counts for itself. */
export class MemoryAttemptCounter implements AttemptCounter {
  readonly #limiter: AttemptLimiter;

  constructor(options: ConstructorParameters<typeof AttemptLimiter>[0]) {
    this.#limiter = new AttemptLimiter(options);
  }

  async take(key: string): Promise<number> {
    const wait = this.#limiter.blockedFor(key);
    if (wait > 0) return wait;
    this.#limiter.hit(key);
    return 0;
  }

  async undo(key: string): Promise<void> {
    this.#limiter.undo(key);
  }

  async reset(key: string): Promise<void> {
    this.#limiter.reset(key);
  }
}
