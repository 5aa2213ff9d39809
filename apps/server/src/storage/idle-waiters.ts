/**
 * The promises of `flush()` for a writer that works in the background (group
 * commit, the writer's client and service): each resolves the first time the
 * writer reports it has nothing queued or in flight.
 */
export class IdleWaiters {
  readonly #isIdle: () => boolean;
  #waiters: (() => void)[] = [];

  constructor(isIdle: () => boolean) {
    this.#isIdle = isIdle;
  }

  /** Resolves at once if the writer is idle, else at the next `settled()` that finds it idle. */
  wait(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Called by the writer whenever work finishes: resolves every waiter if nothing is left. */
  settled(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
