import { realTimers, type Timers } from './timers.js';

/** A problem worth telling the user that is not about the connection itself. */
export interface Notice {
  readonly id: number;
  /** What kind of problem: a second one of a kind replaces the first instead of stacking under it. */
  readonly kind: string;
  readonly text: string;
}

/** How a notice goes away by itself. */
export interface ClearOptions {
  /** Cleared this long after it was last shown (shown again: the wait starts over). */
  readonly clearAfterMs: number;
  /** Called when it clears by itself (not when dismissed). */
  readonly onClear?: () => void;
}

/**
 * The notices a tab shows: at most one per kind, so that a burst of the same
 * error is one line, not a stack of copies over the conversation. A notice
 * stays until dismissed, or, for a passing problem, until it has not come
 * back for a while.
 */
export class Notices {
  /** In the order their kinds first showed. */
  list = $state<Notice[]>([]);
  readonly #timers: Timers;
  readonly #clearing = new Map<string, unknown>();
  #next = 0;

  constructor(timers: Timers = realTimers) {
    this.#timers = timers;
  }

  /** Shows `text` as the notice of `kind` (in place of the one before, if any). */
  show(kind: string, text: string, clear?: ClearOptions): void {
    const existing = this.list.find((n) => n.kind === kind);
    // The same id: the same element on screen, with its new text.
    const notice: Notice = { id: existing?.id ?? ++this.#next, kind, text };
    this.list = existing ? this.list.map((n) => (n === existing ? notice : n)) : [...this.list, notice];
    this.#cancelClear(kind);
    if (!clear) return;
    this.#clearing.set(
      kind,
      this.#timers.setTimeout(() => {
        this.#clearing.delete(kind);
        this.list = this.list.filter((n) => n.kind !== kind);
        clear.onClear?.();
      }, clear.clearAfterMs),
    );
  }

  /** The person closed notice `id`. */
  dismiss(id: number): void {
    const notice = this.list.find((n) => n.id === id);
    if (!notice) return;
    this.#cancelClear(notice.kind);
    this.list = this.list.filter((n) => n !== notice);
  }

  #cancelClear(kind: string): void {
    const timer = this.#clearing.get(kind);
    if (timer === undefined) return;
    this.#timers.clearTimeout(timer);
    this.#clearing.delete(kind);
  }
}
