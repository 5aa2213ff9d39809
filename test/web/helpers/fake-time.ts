import type { Timers } from '../../../apps/web/src/lib/state/timers.js';

/** A clock and timers that move only when a test says so. */
export class FakeTime implements Timers {
  now = 0;
  #next = 0;
  readonly #timers = new Map<number, { at: number; run: () => void }>();

  /** The clock as a function, for constructors that take one. */
  readonly clock = (): number => this.now;

  setTimeout(run: () => void, ms: number): unknown {
    const id = ++this.#next;
    this.#timers.set(id, { at: this.now + Math.max(0, ms), run });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** How many timers are set. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the clock forward by `ms`, running every timer that falls due, in time order. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let due: [number, { at: number; run: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].run();
    }
    this.now = until;
  }
}
